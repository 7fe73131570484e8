"""How ``waybill up`` stops besides a single Ctrl+C or SIGTERM (``test_up.py``): when its
terminal closes, and when a second signal comes while it stops."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from state.embedded import start_embedded
from tests.integration.runtime import APPROVER, as_a_terminal_starts_it, service, wait_for
from tests.integration.test_up import _health, start_up, stopping

pytestmark = pytest.mark.integration


def test_a_closed_terminal_stops_up_and_everything_it_started(tmp_path: Path) -> None:
    """Closing the terminal hangs up on ``up`` alone (its children run in sessions of their
    own): it stops them all as on Ctrl+C, instead of dying and leaving a worker, the console
    (on its port) and the Valkey running."""
    data_dir = tmp_path / "waybill-hangup"
    up, _env, log, port = start_up(tmp_path, data_dir.name, start_new_session=True)
    with stopping(up, log, data_dir):
        wait_for(lambda: "waybill worker on queue" in log.read_text(), 60, "the worker")
        os.killpg(up.pid, signal.SIGHUP)
    assert not _health(f"http://127.0.0.1:{port}")


def test_a_second_ctrl_c_while_up_stops_ends_everything_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker drains a long node when ``up`` stops; an impatient second Ctrl+C ends it and
    the rest at once (the run resumes from its checkpoint later), not the stopping half-way
    with the worker left running."""
    monkeypatch.setenv("WAYBILL_WORKFLOW_MODULES", '["tests.workflows.steps"]')
    data_dir = tmp_path / "waybill-twice"
    up, _env, log, _ = start_up(
        tmp_path, data_dir.name, start_new_session=True, preexec_fn=as_a_terminal_starts_it
    )
    with stopping(up, log, data_dir):
        with start_embedded(data_dir, handle_signals=False) as found:
            svc, cp, _raw = service(found.url)
            run_id = svc.submit("steps", {"job_id": "twice", "sleep_s": 30}, who=APPROVER).run_id
            wait_for(lambda: cp.runs.get(run_id).stage == "slow", 60, "the slow node")
            cp.close()
        os.killpg(up.pid, signal.SIGINT)
        wait_for(lambda: "waybill: stopping" in log.read_text(), 10, "the stopping", tick=0.01)
        os.killpg(up.pid, signal.SIGINT)
    assert "waybill: stopping now" in log.read_text()
