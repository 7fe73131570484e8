"""Webhook messages: signed generic JSON, Slack's format with nothing a workflow's text can turn
into a link, and secrets that stay secret."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from graph.runtime.webhooks import SIGNATURE, TIMESTAMP, request_for, shown, sign, verify
from state.notices import Deciders, Notice
from state.settings import Settings, WebhookSink

BASE = "https://waybill.example/console"
NOTICE = Notice(
    id="esc:r1.abc:created",
    kind="escalation_created",
    at=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
    title="Escalation on run r1 of procurement: group finance must decide",
    lines=["why: <!channel> see [this](http://evil.example) & more"],
    link="/inbox?esc=r1.abc",
    run_id="r1",
    escalation_id="r1.abc",
    deciders=Deciders(group="finance", users=["bob"], excluded=["ana"], admins_fallback=True),
)


def _sink(**fields: object) -> WebhookSink:
    return WebhookSink.model_validate(
        {"name": "ops", "url": "https://hooks.example/services/T0/B0/s3cr3tpath", **fields}
    )


def test_the_generic_body_is_signed_over_timestamp_and_body() -> None:
    body, headers = request_for(_sink(secret="k3y"), NOTICE, BASE)
    data = json.loads(body)
    assert data["link"] == "https://waybill.example/console/inbox?esc=r1.abc"
    assert data["deciders"]["users"] == ["bob"]
    assert headers["X-Waybill-Event"] == "escalation_created"
    assert headers["X-Waybill-Delivery"] == "esc:r1.abc:created"
    assert headers[SIGNATURE] == sign("k3y", headers[TIMESTAMP], body)
    assert verify("k3y", headers[TIMESTAMP], body, headers[SIGNATURE])
    assert not verify("k3y", headers[TIMESTAMP], body + b" ", headers[SIGNATURE])
    assert not verify("k3y", str(int(headers[TIMESTAMP]) + 1), body, headers[SIGNATURE])
    unsigned = request_for(_sink(), NOTICE, BASE)[1]
    assert SIGNATURE not in unsigned


def test_slack_gets_a_link_and_escaped_text() -> None:
    body, _ = request_for(_sink(format="slack"), NOTICE, BASE)
    data = json.loads(body)
    assert data["text"].endswith(
        "<https://waybill.example/console/inbox?esc=r1.abc|Open in Waybill>"
    )
    details = data["blocks"][1]["text"]
    assert details["type"] == "plain_text"
    assert "&lt;!channel&gt;" in details["text"]
    assert "<!channel>" not in details["text"]
    assert "&amp; more" in details["text"]
    assert "who may decide: bob (or an admin)" in details["text"]


def test_secrets_never_show() -> None:
    sink = _sink(secret="k3y")
    assert shown(sink) == "ops (generic, hooks.example)"
    settings = Settings.model_validate({"webhooks": [sink.model_dump()], "token": "wbt_abc"})
    text = repr(settings) + str(settings.model_dump())
    for secret in ("k3y", "s3cr3tpath", "wbt_abc"):
        assert secret not in text
