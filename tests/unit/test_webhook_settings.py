"""WAYBILL_WEBHOOKS is checked at startup: unique sink names, http(s) URLs only, and a bad
value is one line naming the variable, without the URL (it may be a credential)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from console.cli.main import settings_problem
from state.settings import Settings


def _problem(sinks: list[dict[str, str]]) -> str:
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate({"webhooks": sinks})
    return settings_problem(caught.value)


def test_two_sinks_of_one_name_are_refused() -> None:
    problem = _problem(
        [
            {"name": "ops", "url": "https://a.example/s3cr3t"},
            {"name": "ops", "url": "https://b.example/hook"},
        ]
    )
    assert problem.startswith("invalid setting WAYBILL_WEBHOOKS")
    assert "sink names must be unique (ops more than once)" in problem
    assert "s3cr3t" not in problem


@pytest.mark.parametrize("url", ["ftp://x", "file:///etc/passwd", "hooks.example/x", "http://"])
def test_a_sink_url_must_be_http_or_https(url: str) -> None:
    problem = _problem([{"name": "ops", "url": url}])
    assert problem.startswith("invalid setting WAYBILL_WEBHOOKS at 0.url")
    assert "http(s)://host/" in problem
    assert "\n" not in problem
    assert url not in problem


def test_good_sinks_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    sinks = [
        {"name": "ops", "url": "https://ops.example/hook"},
        {"name": "dev", "url": "http://127.0.0.1:9/hook", "format": "slack"},
    ]
    monkeypatch.setenv("WAYBILL_WEBHOOKS", json.dumps(sinks))
    assert [s.name for s in Settings().webhooks] == ["ops", "dev"]
