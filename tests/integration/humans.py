"""Helpers for the tests of deadlines and notifications: the approvals workflow on real
workers, with webhooks pointing at a receiver the test started."""

from __future__ import annotations

import json
from pathlib import Path

import redis
from rq import Queue

from graph.runtime.principal import Principal
from graph.runtime.queueing import enqueue_run
from graph.runtime.registry import Registry
from graph.runtime.service import RunService
from state.control.plane import ControlPlane
from state.roles import Role
from tests.integration.runtime import WorkerProcess
from tests.staff import add_staff
from tests.workflows import approvals

SECRET = "webhook-signing-key"
CONSOLE_URL = "http://console.example:8501"
ROLES: dict[str, Role] = {"ada": "admin", "sam": "approver", "pia": "approver", "lea": "approver"}
GROUPS = {"sam": ["payments"], "pia": ["payments"], "lea": ["finance-leads"]}


def who(name: str) -> Principal:
    return Principal(name, ROLES[name], via="tests")


def webhooks(*sinks: dict[str, object]) -> str:
    """``WAYBILL_WEBHOOKS`` for the given sinks."""
    return json.dumps(list(sinks))


def worker(url: str, tmp: Path, name: str, hooks: str, **env: str) -> WorkerProcess:
    """A worker that runs the approvals workflow and delivers to ``hooks``."""
    extra = {
        "WAYBILL_WORKFLOW_MODULES": '["tests.workflows.approvals"]',
        "WAYBILL_WEBHOOKS": hooks,
        "WAYBILL_CONSOLE_URL": CONSOLE_URL,
        **env,
    }
    return WorkerProcess(url, tmp, name, env=extra)


def service(url: str) -> tuple[RunService, ControlPlane]:
    """A run service in the test process, queueing approvals runs to the workers."""
    cp = ControlPlane.from_url(url)
    queue = Queue("waybill", connection=redis.Redis.from_url(url))
    registry = Registry()
    registry.register(approvals.build_chain)
    add_staff(cp, ROLES, GROUPS)

    def enqueue(run_id: str) -> None:
        enqueue_run(queue, run_id)

    return RunService(cp, registry, enqueue, raw=queue.connection), cp


def payment(amount: float, note: str = "") -> dict[str, object]:
    return {"payee": f"p-{note or 'none'}-{amount}", "amount": amount, "note": note}
