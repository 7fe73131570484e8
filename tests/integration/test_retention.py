"""Retention: a finished run's keys are deleted once its retention ends (by the workers, or
``waybill prune``); live runs stay; the audit log keeps its entries and still verifies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis

from state.checkpoint.layout import run_index_key
from state.control.errors import UnknownRun
from state.control.plane import ControlPlane
from state.control.run_index import EXPIRY_KEY, PENDING_ESCALATIONS, RUN_OF_ESCALATION
from state.keys import run_tag
from tests.integration.cli_here import waybill_here
from tests.integration.runtime import (
    ADMIN,
    APPROVER,
    FINANCE,
    ROOT,
    WorkerProcess,
    service,
    wait_for,
    wait_status,
)
from tests.redis_servers import ServerUnderTest, decoded
from tests.staff import token_for

EXAMPLES = ROOT / "agents" / "procurement" / "examples"


def _order(name: str) -> dict[str, object]:
    order: dict[str, object] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return order


def keys_of(raw: redis.Redis, run_id: str) -> set[str]:
    """Every key of the run (its hash tag), read with SCAN (a test may scan; the code never)."""
    pattern = run_tag(run_id).replace("{", "\\{").replace("}", "\\}") + ":*"
    return {k.decode() for k in raw.scan_iter(match=pattern, count=1000)}


def _indexed(raw: redis.Redis, run_id: str, lg_runs: set[str]) -> list[str]:
    """The global indexes that still name the run."""
    found = [
        k.decode()
        for k in raw.scan_iter(match="wb:idx:*", count=1000)
        if raw.type(k) == b"zset" and raw.zscore(k, run_id) is not None
    ]
    found += [f"ckrun {r}" for r in lg_runs if raw.sismember(run_index_key(r), run_id)]
    if any(json.loads(decoded(m))[0] == run_id for m in raw.zrange(EXPIRY_KEY, 0, -1)):
        found.append("expiry")
    return found


def test_a_finished_run_is_deleted_after_its_retention_and_the_audit_verifies(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    svc, cp, raw = service(server.url)
    worker = WorkerProcess(server.url, tmp_path, "w1", env={"WAYBILL_RUN_RETENTION_S": "2"})
    try:
        done = svc.submit("procurement", _order("large_order"), who=APPROVER).run_id
        kept = svc.submit("procurement", _order("large_order"), who=APPROVER).run_id
        for run_id in (done, kept):
            wait_status(cp, run_id, {"waiting"})
        [esc] = cp.escalations.for_run(done)
        svc.decide(esc.escalation_id, "approve", who=FINANCE, run_id=done)
        assert wait_status(cp, done, {"succeeded", "failed"}).status == "succeeded"
        kinds = {k.split(":", 2)[2].split(":")[0] for k in keys_of(raw, done)}
        # checkpoints, events, tape, ledger, input, sources' state, escalations, the record
        assert {"ck", "events", "tape", "actions", "input", "source", "esc", "run"} <= kinds
        # LangGraph runs that named themselves (a config's run_id) are indexed globally too
        lg_runs = {decoded(m) for m in raw.smembers(run_tag(done) + ":ck:runs")}
        assert _indexed(raw, done, lg_runs)
        wait_for(lambda: not keys_of(raw, done), 20, "the finished run's keys to go")
        assert _indexed(raw, done, lg_runs) == []
        assert raw.hget(RUN_OF_ESCALATION, esc.escalation_id) is None
        with pytest.raises(UnknownRun):
            cp.runs.get(done)
        # the waiting run is live: nothing of it goes
        assert cp.runs.get(kept).status == "waiting"
        assert cp.escalations.for_run(kept)
        assert raw.zscore(PENDING_ESCALATIONS, cp.escalations.for_run(kept)[0].escalation_id)
        # the audit log still names what was done to the deleted run, and verifies
        assert cp.audit.list(target=done, limit=10)
        assert cp.audit.verify().ok
    finally:
        worker.stop()


def test_waybill_prune_deletes_finished_runs_now(
    server: ServerUnderTest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    svc, cp, raw = service(server.url)  # runs are kept 30 days (the default)
    done = svc.submit("procurement", _order("large_order"), who=APPROVER).run_id
    alive = svc.submit("procurement", _order("large_order"), who=APPROVER).run_id
    worker = WorkerProcess(server.url, tmp_path, "w1")
    try:
        for run_id in (done, alive):
            wait_status(cp, run_id, {"waiting"})
        svc.kill("run", done, who=ADMIN, reason="not needed")  # a waiting run ends killed
        assert cp.runs.get(done).status == "killed"
        assert cp.escalations.count_pending() == 1  # the killed run's escalation left at once
    finally:
        worker.stop()
    ops, vic = token_for(server.url, "ops", "admin"), token_for(server.url, "vic", "viewer")
    assert waybill_here(capsys, server.url, tmp_path, "prune", token=ops).stdout.startswith(
        "0 finished run(s) deleted"
    )
    dry = waybill_here(capsys, server.url, tmp_path, "prune", "--older-than", "0", "--dry-run")
    assert dry.stdout.strip() == "1 finished run(s) would be deleted"
    refused = waybill_here(capsys, server.url, tmp_path, "prune", "--older-than", "0s", token=vic)
    assert refused.returncode == 1
    assert refused.stderr.strip() == "waybill: pruning runs needs the admin role; vic is viewer"
    nobody = waybill_here(capsys, server.url, tmp_path, "prune", "--older-than", "0s")
    assert nobody.returncode == 1
    assert "no credentials: set WAYBILL_TOKEN" in nobody.stderr
    assert keys_of(raw, done)
    pruned = waybill_here(capsys, server.url, tmp_path, "prune", "--older-than", "0s", token=ops)
    assert pruned.returncode == 0, pruned.stderr
    assert pruned.stdout.startswith("1 finished run(s) deleted")
    assert not keys_of(raw, done)
    assert keys_of(raw, alive)
    assert cp.runs.list().total == 1
    fresh = ControlPlane.from_url(server.url)
    audited = fresh.audit.list(action="runs.prune", limit=5)  # newest first
    assert [(e.actor, e.details["runs"]) for e in audited] == [("ops", 1), ("ops", 0)]
    assert fresh.audit.verify().ok
    fresh.close()


def test_prune_refuses_a_bad_age_in_one_line(
    server: ServerUnderTest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = waybill_here(capsys, server.url, tmp_path, "prune", "--older-than", "3 weeks")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "waybill: argument --older-than: not a duration: '3 weeks' (e.g. 90, 30m, 12h, 7d) "
        "(see `waybill prune --help`)"
    ]
