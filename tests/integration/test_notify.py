"""Notifications on real workers and real HTTP receivers: signed, linked, retried, never in a
run's way."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

from graph.runtime.webhooks import SIGNATURE, TIMESTAMP, verify
from state.control.plane import ControlPlane
from state.notices import NoticeRecord
from tests.integration.humans import (
    CONSOLE_URL,
    SECRET,
    payment,
    service,
    webhooks,
    who,
    worker,
)
from tests.integration.runtime import wait_for, wait_status
from tests.receiver import Receiver
from tests.redis_servers import ServerUnderTest, free_port


def _notice(cp: ControlPlane, kind: str, run_id: str) -> NoticeRecord | None:
    for record in cp.notices.recent(200):
        if record.notice.kind == kind and record.notice.run_id == run_id:
            return record
    return None


def test_an_escalation_is_announced_signed_with_who_may_decide_and_its_link(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    with Receiver() as hook:
        hooks = webhooks(
            {"name": "ops", "url": hook.url, "secret": SECRET},
            {"name": "chat", "url": hook.url + "/slack", "format": "slack"},
        )
        svc, cp = service(server.url)
        w = worker(server.url, tmp_path, "w", hooks)
        try:
            run = svc.submit("approvals", payment(5_000), who=who("sam"))
            wait_status(cp, run.run_id, {"waiting"})
            wait_for(lambda: len(hook.events("escalation_created")) == 2, 15, "both webhooks")
        finally:
            w.stop()
    (esc,) = cp.escalations.for_run(run.run_id)
    [generic] = [r for r in hook.events("escalation_created") if r.path == "/hook"]
    [slack] = [r for r in hook.events("escalation_created") if r.path == "/hook/slack"]
    headers = {k.lower(): v for k, v in generic.headers.items()}
    assert verify(SECRET, headers[TIMESTAMP.lower()], generic.body, headers[SIGNATURE.lower()])
    assert not verify(
        "another key", headers[TIMESTAMP.lower()], generic.body, headers[SIGNATURE.lower()]
    )
    body = generic.json()
    assert body["link"] == f"{CONSOLE_URL}/inbox?esc={esc.escalation_id}"
    assert body["escalation_id"] == esc.escalation_id
    assert body["deciders"]["group"] == "payments"
    assert body["deciders"]["users"] == ["pia"]  # sam started the run: four eyes
    assert body["deciders"]["excluded"] == ["sam"]
    assert body["deciders"]["admins_fallback"] is True
    assert headers["x-waybill-delivery"] == f"esc:{esc.escalation_id}:created"
    text = slack.json()["text"]
    assert f"<{CONSOLE_URL}/inbox?esc={esc.escalation_id}|Open in Waybill>" in text
    assert SIGNATURE.lower() not in {k.lower() for k in slack.headers}  # no key, no signature
    record = cp.notices.get(f"esc:{esc.escalation_id}:created")
    assert record is not None
    assert record.status == {"ops": "delivered", "chat": "delivered"}


def test_a_receiver_that_is_down_gets_retries_and_never_stalls_the_run(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    down = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    with Receiver() as hook:
        hooks = webhooks({"name": "down", "url": down}, {"name": "up", "url": hook.url})
        svc, cp = service(server.url)
        w = worker(
            server.url,
            tmp_path,
            "w",
            hooks,
            WAYBILL_NOTIFY_ATTEMPTS="4",
            WAYBILL_NOTIFY_BACKOFF_S="0.5",
        )
        try:
            run = svc.submit("approvals", payment(5_000), who=who("sam"))
            wait_status(cp, run.run_id, {"waiting"})
            (esc,) = cp.escalations.for_run(run.run_id)
            decided_at = time.monotonic()
            svc.decide(esc.escalation_id, "approve", who=who("pia"))
            done = wait_status(cp, run.run_id, {"succeeded", "failed", "rejected"})
            assert done.status == "succeeded"
            assert time.monotonic() - decided_at < 10  # the delivery's retries are not its
            notice_id = f"esc:{esc.escalation_id}:created"

            def failed_for_good() -> NoticeRecord | None:
                found = cp.notices.get(notice_id)
                return found if found and found.status.get("down") == "failed" else None

            record = wait_for(failed_for_good, 30, "the down sink's last attempt")
            assert hook.events("escalation_created")  # the other sink got it
        finally:
            w.stop()
    attempts = [a for a in record.attempts if a.sink == "down"]
    assert [a.attempt for a in attempts] == [1, 2, 3, 4]
    assert all(not a.ok and "ConnectError" in a.error for a in attempts)
    assert down not in " ".join(a.error for a in attempts)  # the URL is not in the log
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(attempts)]
    assert gaps[0] >= 0.5
    assert gaps[2] > gaps[0]  # backing off
    assert attempts[-1].next_at is None
    assert record.status["up"] == "delivered"
    assert "lost its worker" not in w.output()


def test_kill_switches_and_a_killed_run_are_announced(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    with Receiver() as hook:
        svc, cp = service(server.url)
        w = worker(server.url, tmp_path, "w", webhooks({"name": "ops", "url": hook.url}))
        try:
            run = svc.submit("approvals", payment(5_000), who=who("sam"))
            wait_status(cp, run.run_id, {"waiting"})
            svc.kill("run", run.run_id, who=who("ada"), reason="wrong payee")
            svc.unkill("run", run.run_id, who=who("ada"))
            wait_for(lambda: hook.events("kill_cleared"), 15, "the cleared switch's webhook")
            wait_for(lambda: hook.events("run_killed"), 15, "the killed run's webhook")
        finally:
            w.stop()
    [tripped] = hook.events("kill_tripped")
    assert tripped.json()["title"] == f"Kill switch run:{run.run_id} tripped by ada"
    assert tripped.json()["lines"] == ["reason: wrong payee"]
    assert tripped.json()["link"] == f"{CONSOLE_URL}/run_detail?run={run.run_id}"
    [killed] = hook.events("run_killed")
    assert killed.json()["link"] == f"{CONSOLE_URL}/run_detail?run={run.run_id}"
    assert "wrong payee" in killed.json()["lines"][0]
    assert _notice(cp, "run_killed", run.run_id) is not None


def test_a_failed_run_is_announced_by_the_control_plane(server: ServerUnderTest) -> None:
    cp = ControlPlane.from_url(server.url)
    cp.runs.create("doomed-1", "approvals")
    cp.runs.update("doomed-1", status="running")
    cp.runs.update("doomed-1", status="failed", reason="budget:steps exhausted")
    record = cp.notices.get("run:doomed-1:failed")
    assert record is not None
    assert record.notice.kind == "run_failed"
    assert record.notice.link == "/run_detail?run=doomed-1"
    assert record.notice.lines == ["reason: budget:steps exhausted"]
    cp.close()


def test_a_hold_switch_is_announced_when_tripped_and_released(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    with Receiver() as hook:
        svc, _ = service(server.url)
        w = worker(server.url, tmp_path, "w", webhooks({"name": "ops", "url": hook.url}))
        try:
            svc.hold("workflow", "approvals", who=who("ada"), reason="ledger migration")
            svc.release("workflow", "approvals", who=who("ada"))
            wait_for(lambda: hook.events("hold_released"), 15, "the released hold's webhook")
        finally:
            w.stop()
    [tripped] = hook.events("hold_tripped")
    assert tripped.json()["title"] == "Hold switch workflow:approvals tripped by ada"
    assert tripped.json()["lines"] == ["reason: ledger migration"]
    assert tripped.json()["link"] == f"{CONSOLE_URL}/kills"
    [released] = hook.events("hold_released")
    assert released.json()["title"] == "Hold switch workflow:approvals released by ada"
