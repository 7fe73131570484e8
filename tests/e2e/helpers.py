"""Test-process access to the stack's Redis: start runs and wait for statuses directly."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import redis
from rq import Queue

from graph.runtime.jobs import make_service
from graph.runtime.principal import Principal
from graph.runtime.service import RunService
from state.control.plane import ControlPlane

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "agents" / "procurement" / "examples"
LARGE_ORDER = json.loads((EXAMPLES / "large_order.json").read_text())
SMALL_ORDER = json.loads((EXAMPLES / "small_order.json").read_text())


def service(cp: ControlPlane, redis_url: str) -> RunService:
    return make_service(cp, Queue("waybill", connection=redis.Redis.from_url(redis_url)))


def wait_status(cp: ControlPlane, run_id: str, status: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = cp.runs.get(run_id).status
        if current == status:
            return
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} is {cp.runs.get(run_id).status}, not {status}")


def escalated_order(cp: ControlPlane, redis_url: str) -> tuple[str, str]:
    """A procurement run waiting for approval of its order: ``(run_id, escalation_id)``."""
    run = service(cp, redis_url).submit("procurement", LARGE_ORDER, who=Principal("ana", "admin"))
    wait_status(cp, run.run_id, "waiting")
    (esc,) = [e for e in cp.escalations.for_run(run.run_id) if e.pending]
    return run.run_id, esc.escalation_id


def esc_css(escalation_id: str) -> str:
    """The CSS class Streamlit gives the escalation's keyed container."""
    return ".st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", f"esc.{escalation_id}")


def focus_css(escalation_id: str) -> str:
    """The CSS class of an escalation opened on its own (``/inbox?esc=ID``)."""
    return ".st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", f"focus.{escalation_id}")


def loop_escalation(cp: ControlPlane, redis_url: str) -> tuple[str, str]:
    """A run stopped by a revise loop, whose proposal a human may edit: ``(run, escalation)``."""
    run = service(cp, redis_url).submit(
        "procurement", SMALL_ORDER, who=Principal("ana", "admin"), inject="ping_pong"
    )
    wait_status(cp, run.run_id, "waiting")
    (esc,) = [e for e in cp.escalations.for_run(run.run_id) if e.pending]
    return run.run_id, esc.escalation_id
