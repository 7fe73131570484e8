"""Searching runs for text as a person typed it: accented, Hebrew and emoji text in inputs and in
handoff payloads is found, case-insensitively, and a backslash, a quote or ``u00fc`` finds only
runs whose text holds one (never the escapes of the stored JSON)."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph import END, AgentContext, AgentResult, Chain, Contract, Edge, Stage, decided
from graph.runtime.executor import ExecutorConfig
from graph.runtime.registry import Registry
from graph.runtime.service import RunService
from state.checkpoint.client import sync_client
from state.control.plane import ControlPlane
from state.control.search import RunQuery, RunSearch
from tests.integration.cli_here import waybill_here
from tests.integration.runtime import ADMIN, Executors
from tests.redis_servers import ServerUnderTest

LABELS = {"order": "Lieferung an Straße 5 🚚", "hebrew": "אושר", "plain": "none"}
"""What the second stage adds to each payload (so this text is only in a handoff)."""


class Memo(Contract):
    """A memo to label (its body past the three fields a run's input summary shows)."""

    topic: str
    ref: str
    desk: str
    body: str


class Labelled(Contract):
    """The memo and its label."""

    topic: str
    ref: str
    desk: str
    body: str
    label: str


def _read(inp: Memo, ctx: AgentContext) -> AgentResult[Memo]:
    return decided(inp, inp.topic, "kept as written")


def _label(inp: Memo, ctx: AgentContext) -> AgentResult[Labelled]:
    label = LABELS.get(inp.topic, "none")
    return decided(Labelled.carry(inp, label=label), label, "by topic")


def build_memos() -> Chain:
    """Read a memo, then label it."""
    return Chain(
        name="memos",
        description="Read and label a memo.",
        entry="read",
        stages=(
            Stage("read", _read, Memo, Memo, owner="desk"),
            Stage("label", _label, Memo, Labelled, owner="desk"),
        ),
        edges=(Edge("read", "label"), Edge("label", END)),
    )


@pytest.fixture
def memos(server: ServerUnderTest, executors: Executors) -> tuple[ControlPlane, dict[str, str]]:
    """Four finished runs: ``topic -> run id``."""
    cp = ControlPlane.from_url(server.url)
    raw = sync_client(server.url)
    registry = Registry()
    registry.register(build_memos)
    svc = RunService(cp, registry, lambda run_id: None, raw=raw)
    executor = executors(cp, raw, registry, worker="t", config=ExecutorConfig())
    made = {}
    for topic, body in (
        ("order", "Please order 20 units for Frau Müller"),
        ("hebrew", "שלום עולם, party 🎉"),
        ("plain", 'a "quoted" word'),
        ("path", "saved under C:\\temp"),
    ):
        run_id = svc.submit(
            "memos", {"topic": topic, "ref": "M-1", "desk": "d", "body": body}, who=ADMIN
        ).run_id
        assert executor.execute(run_id) == "succeeded"
        made[topic] = run_id
    return cp, made


def _cli(
    capsys: pytest.CaptureFixture[str], server: ServerUnderTest, tmp_path: Path, text: str
) -> list[str]:
    """The run ids ``waybill runs --search TEXT`` prints."""
    found = waybill_here(capsys, server.url, tmp_path, "runs", "--search", text)
    assert found.returncode == 0, found.stderr
    return [line.split()[0] for line in found.stdout.splitlines()[1:-1]]


def test_the_cli_finds_text_as_typed(
    memos: tuple[ControlPlane, dict[str, str]],
    server: ServerUnderTest,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, made = memos
    for typed, topic in (
        ("Müller", "order"),
        ("frau MÜLLER", "order"),  # case-insensitive beyond ASCII
        ("Mu\u0308ller", "order"),  # the same letter, typed as u + a combining diaeresis
        ("שלום", "hebrew"),
        ("🎉", "hebrew"),
        ("straße 5 🚚", "order"),  # only in the label stage's payload
        ("אושר", "hebrew"),  # only in the label stage's payload
        ("\\", "path"),
        ('"quoted"', "plain"),
    ):
        assert _cli(capsys, server, tmp_path, typed) == [made[topic]], typed


def test_escapes_of_the_stored_json_match_nothing(
    memos: tuple[ControlPlane, dict[str, str]],
    server: ServerUnderTest,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cp, _ = memos
    for typed in ("u00fc", "u05e9", "\\u", "ud83c", '":', '{"topic'):
        assert _cli(capsys, server, tmp_path, typed) == [], typed
        assert RunSearch(cp.client).find(RunQuery(text=typed)).hits == [], typed


def test_where_non_ascii_text_was_found(memos: tuple[ControlPlane, dict[str, str]]) -> None:
    cp, made = memos
    for typed, topic, where in (
        ("müller", "order", "input"),
        ("🚚", "order", "handoff #2 (label)"),
        ("אושר", "hebrew", "handoff #2 (label)"),
    ):
        [hit] = RunSearch(cp.client).find(RunQuery(text=typed)).hits
        assert (hit.record.run_id, hit.matched) == (made[topic], where), typed
