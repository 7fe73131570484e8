"""Unit-test helpers: no network, no Redis."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agents.procurement.chain import build_chain
from graph.chain import Chain
from state.decisions import Decision, EscalationRequest

EXAMPLES = Path(__file__).resolve().parents[2] / "agents" / "procurement" / "examples"


@pytest.fixture
def procurement() -> Chain:
    return build_chain()


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return data


def example_of(chain: Chain, name: str) -> dict[str, Any]:
    """The example input ``name`` that ``chain`` ships with."""
    data: dict[str, Any] = json.loads(chain.examples[name].read_text())
    return data


class Recorder:
    """A decider that answers every escalation the same way and remembers what it was asked."""

    def __init__(self, action: str, user: str = "tess", edited: dict[str, Any] | None = None):
        self.action = action
        self.user = user
        self.edited = edited
        self.asked: list[EscalationRequest] = []

    def __call__(self, req: EscalationRequest) -> Decision:
        self.asked.append(req)
        return Decision.model_validate(
            {"action": self.action, "user": self.user, "edited": self.edited}
        )


@pytest.fixture(autouse=True)
def _no_redis(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Unit tests never touch Redis: point any accidental use at a closed port."""
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("WAYBILL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("WAYBILL_MODEL", raising=False)  # rules brains: never a real model
