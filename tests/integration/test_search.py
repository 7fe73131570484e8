"""Searching runs on a real Redis: every filter, the text of inputs and payloads, and what each
run and stage spent on models, over runs executed the way a worker executes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from graph import END, AgentContext, AgentResult, Chain, Contract, Edge, Stage, decided
from graph.runtime.executor import ExecutorConfig
from graph.runtime.registry import Registry
from graph.runtime.service import RunService
from state.checkpoint.client import sync_client
from state.control.plane import ControlPlane
from state.control.search import RunQuery, RunSearch
from tests.integration.runtime import ADMIN, APPROVER, Executors
from tests.integration.test_cli_redis import waybill
from tests.redis_servers import ServerUnderTest


class Note(Contract):
    """A note to file."""

    topic: str
    body: str


class Filed(Contract):
    """Where it was filed."""

    topic: str
    body: str
    shelf: str


def _sort(inp: Note, ctx: AgentContext) -> AgentResult[Note]:
    return decided(inp, inp.topic, "kept as written", tokens=100, cost=0.002)


def _file(inp: Note, ctx: AgentContext) -> AgentResult[Filed]:
    shelf = "crimson" if "urgent" in inp.body else "grey"
    return decided(Filed.carry(inp, shelf=shelf), shelf, "by urgency", tokens=40, cost=0.001)


def build_notes() -> Chain:
    """Two stages that report model usage."""
    return Chain(
        name="notes",
        description="Sort and file a note.",
        entry="sort",
        stages=(
            Stage("sort", _sort, Note, Note, owner="desk"),
            Stage("file", _file, Note, Filed, owner="desk"),
        ),
        edges=(Edge("sort", "file"), Edge("file", END)),
    )


@pytest.fixture
def runs(server: ServerUnderTest, executors: Executors) -> tuple[ControlPlane, dict[str, str]]:
    """Four finished runs: ``topic -> run id``."""
    cp = ControlPlane.from_url(server.url)
    raw = sync_client(server.url)
    registry = Registry()
    registry.register(build_notes)
    svc = RunService(cp, registry, lambda run_id: None, raw=raw)
    executor = executors(cp, raw, registry, worker="t", config=ExecutorConfig())
    made = {}
    for topic, body, who in (
        ("boiler", "the boiler is urgent", APPROVER),
        ("roof", "a tile is loose", ADMIN),
        ("garden", "mow the lawn", APPROVER),
        ("kitchen", "urgent: the tap drips", ADMIN),
    ):
        run_id = svc.submit("notes", {"topic": topic, "body": body}, who=who).run_id
        assert executor.execute(run_id) == "succeeded"
        made[topic] = run_id
    return cp, made


def _found(cp: ControlPlane, **query: object) -> list[str]:
    result = RunSearch(cp.client).find(RunQuery.model_validate(query))
    assert result.complete
    return [hit.record.run_id for hit in result.hits]


def test_text_is_found_in_inputs_and_in_payloads(runs: tuple[ControlPlane, dict[str, str]]) -> None:
    cp, made = runs
    assert _found(cp, text="URGENT") == [made["kitchen"], made["boiler"]]  # newest first
    crimson = RunSearch(cp.client).find(RunQuery(text="crimson"))
    assert [h.record.run_id for h in crimson.hits] == [made["kitchen"], made["boiler"]]
    assert {h.matched for h in crimson.hits} == {"handoff #2 (file)"}  # only a payload says it
    assert _found(cp, text="no such words") == []


def test_filters_combine(runs: tuple[ControlPlane, dict[str, str]]) -> None:
    cp, made = runs
    assert _found(cp, user="april") == [made["garden"], made["boiler"]]
    assert _found(cp, user="ada", text="urgent") == [made["kitchen"]]
    assert _found(cp, workflow="notes", status="succeeded", stage="file", limit=2) == [
        made["kitchen"],
        made["garden"],
    ]
    assert _found(cp, stage="nowhere") == []
    assert _found(cp, workflow="procurement") == []
    future = datetime.now(UTC) + timedelta(hours=1)
    assert _found(cp, since=future) == []
    assert len(_found(cp, until=future)) == 4


def test_a_bounded_scan_says_it_was_not_complete(
    runs: tuple[ControlPlane, dict[str, str]],
) -> None:
    cp, made = runs
    result = RunSearch(cp.client, batch=1).find(RunQuery(text="urgent", scan=2))
    assert (result.examined, result.candidates, result.complete) == (2, 4, False)
    assert [h.record.run_id for h in result.hits] == [made["kitchen"]]


def test_tokens_and_cost_per_run_and_stage(runs: tuple[ControlPlane, dict[str, str]]) -> None:
    cp, made = runs
    usage = RunSearch(cp.client).usage([made["roof"]])[made["roof"]]
    assert usage.tokens == 140
    assert usage.cost == pytest.approx(0.003)
    assert {k: v.tokens for k, v in usage.by_stage.items()} == {"sort": 100, "file": 40}
    [hit] = RunSearch(cp.client).find(RunQuery(text="tile")).hits
    assert hit.usage == usage


def test_the_cli_searches_and_refuses_a_bad_date(
    runs: tuple[ControlPlane, dict[str, str]], server: ServerUnderTest, tmp_path: Path
) -> None:
    _, made = runs
    found = waybill(server.url, tmp_path, "runs", "--search", "urgent", "--user", "ada")
    assert found.returncode == 0, found.stderr
    lines = found.stdout.splitlines()
    assert lines[0].split() == [
        "RUN",
        "WORKFLOW",
        "STATUS",
        "STAGE",
        "AGE",
        "TOKENS",
        "COST",
        "$",
        "REASON",
    ]
    assert lines[1].split()[:3] == [made["kitchen"], "notes", "succeeded"]
    assert lines[1].split()[5:7] == ["140", "0.0030"]
    assert lines[-1] == "(1 found among 4)"
    bad = waybill(server.url, tmp_path, "runs", "--since", "yesterday")
    assert bad.returncode == 2
    [line] = bad.stderr.strip().splitlines()
    assert line.startswith("waybill: argument --since: not a date (YYYY-MM-DD): 'yesterday'")
