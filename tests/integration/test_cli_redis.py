"""The command line on Redis, each command in its own process (as an operator runs them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from state.control.plane import ControlPlane
from state.run_events import HandoffProposed, node_updates
from tests.integration.cli_here import waybill_here
from tests.integration.runtime import ROOT, worker_env
from tests.redis_servers import ServerUnderTest, free_port
from tests.staff import PROCUREMENT_GROUPS, token_for

SMALL = str(ROOT / "agents" / "procurement" / "examples" / "small_order.json")
LARGE = str(ROOT / "agents" / "procurement" / "examples" / "large_order.json")


def waybill(
    url: str, tmp: Path, *args: str, token: str | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``waybill ARGS`` in its own process, acting with ``token`` (``WAYBILL_TOKEN``)."""
    env = worker_env(url, tmp, **({"WAYBILL_TOKEN": token} if token else {}))
    return subprocess.run(
        [sys.executable, "-m", "console.cli", *args],
        env=env,
        input=stdin,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def ana(url: str) -> str:
    """The admin's token (she starts the runs here; she is in no group)."""
    return token_for(url, "ana", "admin")


def bob(url: str) -> str:
    """A buyer and finance approver's token (he decides ana's orders)."""
    return token_for(url, "bob", "approver", PROCUREMENT_GROUPS)


def _run_id(out: str) -> str:
    return out.split("waybill: run ", 1)[1].split()[0]


def test_run_list_show_from_other_processes(
    server: ServerUnderTest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    done = waybill(
        server.url, tmp_path, "run", "procurement", "--input", SMALL, token=ana(server.url)
    )
    assert done.returncode == 0, done.stderr
    assert "executing on this process (no worker is listening)" in done.stdout
    assert "gate po_draft->place_order: PASS" in done.stdout
    run_id = _run_id(done.stdout)
    listed = waybill_here(capsys, server.url, tmp_path, "runs")
    assert run_id in listed.stdout
    assert "succeeded" in listed.stdout
    shown = waybill_here(capsys, server.url, tmp_path, "show", run_id)
    assert shown.returncode == 0
    assert "#5   place_order -> END  OrderPlaced" in shown.stdout
    assert "status: succeeded" in shown.stdout


def test_escalation_decided_from_another_process(
    server: ServerUnderTest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("run", "procurement", "--input", LARGE)
    waiting = waybill(server.url, tmp_path, *args, token=ana(server.url))
    assert waiting.returncode == 6, waiting.stdout + waiting.stderr
    run_id = _run_id(waiting.stdout)
    assert f"waybill decide {run_id}" in waiting.stdout
    token = bob(server.url)
    decided = waybill_here(
        capsys, server.url, tmp_path, "decide", run_id, "--approve", "--comment", "ok", token=token
    )
    assert decided.returncode == 0, decided.stderr
    assert f"approve recorded for {run_id}." in decided.stdout
    shown = waybill_here(capsys, server.url, tmp_path, "show", run_id)
    assert "status: succeeded" in shown.stdout
    assert "approve by bob" in shown.stdout
    late = waybill_here(
        capsys, server.url, tmp_path, "decide", run_id, "--reject", token=ana(server.url)
    )
    assert late.returncode == 1
    [line] = late.stderr.strip().splitlines()
    assert line.startswith(f"waybill: run {run_id} has no pending escalation: {run_id}.")
    assert line.endswith("was already decided (approve) by 'bob' at " + line.split(" at ")[-1])
    assert "(status: succeeded)" in line


def test_unknown_run_and_redis_down_are_one_line(
    server: ServerUnderTest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = waybill_here(capsys, server.url, tmp_path, "show", "nope")
    assert unknown.returncode == 1
    assert len(unknown.stderr.strip().splitlines()) == 1
    assert "nope" in unknown.stderr
    down_url = f"redis://127.0.0.1:{free_port()}/0"
    down = waybill_here(capsys, down_url, tmp_path, "runs")
    assert down.returncode == 1
    [line] = down.stderr.strip().splitlines()
    assert line.startswith(f"waybill: cannot reach Redis at {down_url}")
    assert "Traceback" not in down.stderr


def test_history_and_fork(
    server: ServerUnderTest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = ana(server.url)
    done = waybill(server.url, tmp_path, "run", "procurement", "--input", SMALL, token=token)
    run_id = _run_id(done.stdout)
    history = waybill_here(capsys, server.url, tmp_path, "history", run_id).stdout.splitlines()
    at = next(line.split()[0] for line in history if "next: po_draft " in line + " ")
    forked = waybill_here(
        capsys, server.url, tmp_path, "fork", run_id, "--at", at, "--user", "ana", token=token
    )
    assert forked.returncode == 0, forked.stderr
    new_id = forked.stdout.split()[1].rstrip(":")
    shown = waybill_here(capsys, server.url, tmp_path, "show", new_id).stdout
    assert "status: succeeded" in shown
    assert "#4   po_draft -> place_order" in shown
    assert "#1   intake" not in shown  # the fork started after the sourcing handoff
    # A fork replays from where it was forked (it said "the tape has no entry 'agent|intake|..."):
    replayed = waybill_here(capsys, server.url, tmp_path, "replay", new_id, token=token)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert f"run {new_id}: recorded succeeded, replayed succeeded" in replayed.stdout
    assert "identical: the replay reproduced the run from its tape" in replayed.stdout


def test_a_fork_edit_goes_through_the_gate_of_its_edge(
    server: ServerUnderTest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An edited order (150 units for 4,990) never reaches the portal: its gate sees it first."""
    token = ana(server.url)
    done = waybill(server.url, tmp_path, "run", "procurement", "--input", SMALL, token=token)
    run_id = _run_id(done.stdout)
    history = waybill_here(capsys, server.url, tmp_path, "history", run_id).stdout.splitlines()
    at = next(line.split()[0] for line in history if "next: place_order " in line + " ")
    sets = ["inbox.place_order.payload.order_quantity=150", "inbox.place_order.payload.total=4990"]
    args = [a for s in sets for a in ("--set", s)]
    forked = waybill_here(
        capsys, server.url, tmp_path, "fork", run_id, "--at", at, *args, token=token
    )
    assert forked.returncode == 0, forked.stderr
    new_id = forked.stdout.split()[1].rstrip(":")
    shown = waybill_here(capsys, server.url, tmp_path, "show", new_id).stdout
    assert "status: waiting" in shown
    # The edited handoff is in the new run's timeline, by the human who forked, before its gate.
    edited = shown.index("#5   po_draft -> place_order")
    assert "by human:ana (fork)" in shown[edited:].splitlines()[0]
    assert edited < shown.index("gate po_draft->place_order: ESCALATE")
    cp = ControlPlane.from_url(server.url)
    [first, *_] = node_updates(cp.events.read(new_id, count=100))
    [handoff] = first.of_kind(HandoffProposed)
    assert (handoff.payload["order_quantity"], handoff.payload["total"]) == (150, 4990)
    cp.close()
    assert "x total_matches_lines: total 4990.0 is not 150 x 85.0" in shown
    assert "action place_order" not in shown  # nothing was placed on the edited order
    replayed = waybill_here(capsys, server.url, tmp_path, "replay", new_id, token=token)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert f"run {new_id}: recorded waiting, replayed waiting" in replayed.stdout
    refused = waybill_here(
        capsys, server.url, tmp_path, "fork", run_id, "--at", at, "--set", "steps=0", token=token
    )
    assert refused.returncode == 1
    assert "'steps' cannot be edited" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_fork_can_neither_forge_a_fact_nor_repeat_an_order(
    server: ServerUnderTest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Stock edited under its version is caught by the gate; a fork from between the gate and
    the order, which would place it again, is refused in one line."""
    token = ana(server.url)
    done = waybill(server.url, tmp_path, "run", "procurement", "--input", SMALL, token=token)
    run_id = _run_id(done.stdout)
    history = waybill_here(capsys, server.url, tmp_path, "history", run_id).stdout.splitlines()
    at = next(line.split()[0] for line in history if "next: sourcing " in line + " ")
    forged = ["inbox.sourcing.payload.stock.value=0", "inbox.sourcing.payload.order_quantity=20"]
    args = [a for s in forged for a in ("--set", s)]
    forked = waybill_here(
        capsys, server.url, tmp_path, "fork", run_id, "--at", at, *args, token=token
    )
    assert forked.returncode == 0, forked.stderr
    shown = waybill_here(
        capsys, server.url, tmp_path, "show", forked.stdout.split()[1].rstrip(":")
    ).stdout
    assert "status: waiting" in shown
    assert "inventory/SKU-CHAIR-01 is not what its source says" in shown
    assert "action place_order" not in shown
    at_act = next(line.split()[0] for line in history if "next: act place_order " in line + " ")
    again = waybill_here(capsys, server.url, tmp_path, "fork", run_id, "--at", at_act, token=token)
    assert again.returncode == 1
    assert f"run {run_id} already called action 'place_order'" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
