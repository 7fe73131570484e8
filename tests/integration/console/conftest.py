"""AppTest fixtures for the console: a real Valkey per test, users, runs executed inline.

Pages run in this process (``streamlit.testing.v1.AppTest``); they connect to the test's own
server through ``REDIS_URL``. Streamlit's caches outlive a test, so they are cleared around
each one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import streamlit as st
from streamlit.testing.v1 import AppTest

from console.ui.auth import SESSION_TOKEN
from graph.runtime.executor import ExecutorConfig, RunExecutor
from graph.runtime.principal import Principal
from graph.runtime.registry import default_registry
from graph.runtime.service import RunService
from state.control.plane import ControlPlane
from state.control.users import UserStore
from state.roles import Role
from tests.redis_servers import ServerUnderTest
from tests.staff import PROCUREMENT_GROUPS, add_staff

ROOT = Path(__file__).resolve().parents[3]
APP = str(ROOT / "console" / "app.py")
EXAMPLES = ROOT / "agents" / "procurement" / "examples"
PASSWORD = "correct-horse"
ROLES: dict[str, Role] = {"ana": "admin", "bob": "approver", "cleo": "approver", "vic": "viewer"}

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _fresh_streamlit_caches() -> Iterator[None]:
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return data


@dataclass
class Console:
    """The test's server, control plane and helpers to open pages and run runs."""

    server: ServerUnderTest
    cp: ControlPlane
    raw: redis.Redis
    users: UserStore

    def page(
        self, name: str | None, user: str | None = None, query: dict[str, str] | None = None
    ) -> AppTest:
        """Open the app (as ``user``, with a real session) on ``screens/<name>.py``."""
        at = AppTest.from_file(APP, default_timeout=20)
        if user:
            at.session_state[SESSION_TOKEN] = self.login(user)
        at.run()
        if name:
            at.query_params.update(query or {})
            at.switch_page(f"screens/{name}.py")
            at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    def login(self, user: str) -> str:
        """A session for ``user`` (what a login through ``POST /auth/session`` creates)."""
        token, _ = self.cp.sessions.create(user)
        return token

    def service(self) -> tuple[RunService, list[str]]:
        queued: list[str] = []
        return RunService(self.cp, default_registry(), queued.append, raw=self.raw), queued

    def execute(self, run_id: str) -> str:
        executor = RunExecutor(
            self.cp, self.raw, default_registry(), worker="test", config=ExecutorConfig()
        )
        try:
            return executor.execute(run_id)
        finally:
            executor.close()

    def run(self, request: dict[str, Any], inject: str | None = None) -> str:
        """Submit a procurement run and execute it inline to its first stop."""
        svc, _ = self.service()
        record = svc.submit("procurement", request, who=Principal("ana", "admin"), inject=inject)
        self.execute(record.run_id)
        return record.run_id

    def pending(self, run_id: str) -> str:
        (esc,) = [e for e in self.cp.escalations.for_run(run_id) if e.pending]
        return esc.escalation_id


@pytest.fixture
def console(server: ServerUnderTest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Console]:
    monkeypatch.setenv("REDIS_URL", server.url)
    cp = ControlPlane.from_url(server.url)
    raw = redis.Redis.from_url(server.url)
    users = add_staff(cp, ROLES, {"bob": PROCUREMENT_GROUPS, "cleo": PROCUREMENT_GROUPS})
    yield Console(server, cp, raw, users)
    cp.close()
    raw.close()


def texts(at: AppTest) -> str:
    """Every text-like element's value, one per line (to search the rendered page)."""
    parts: list[str] = []
    for root in (at.main, at.sidebar):
        for kind in (
            "text",
            "error",
            "success",
            "info",
            "warning",
            "caption",
            "header",
            "markdown",
        ):
            parts += [str(e.value) for e in getattr(root, kind)]
    # Messages holding names or ids are markdown-escaped by the console: read them unescaped.
    return re.sub(r"\\(.)", r"\1", "\n".join(parts))


def button(at: AppTest, label: str) -> Any:
    """The one button with this label."""
    (found,) = [b for b in [*at.main.button, *at.sidebar.button] if b.label == label]
    return found
