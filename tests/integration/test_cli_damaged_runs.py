"""One run whose record in Redis is damaged: listings skip it and name it, the others are still
listed, and ``waybill show`` of it says so in one line."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import redis

from state.clock import utcnow
from state.control.models import NewRun
from state.control.plane import ControlPlane
from tests.integration.cli_here import waybill_here
from tests.integration.test_cli_errors import one_line
from tests.redis_servers import ServerUnderTest

pytestmark = pytest.mark.integration

VICTIM = "ab12cd"
GOOD = ("good-1", "good-2")
HASH = f"wb:{{{VICTIM}}}:run"

Damage = Callable[[redis.Redis], object]
DAMAGE: dict[str, tuple[Damage, str]] = {
    "invalid status": (lambda c: c.hset(HASH, "status", "bogus"), "status 'bogus' is invalid: "),
    "a field missing": (lambda c: c.hdel(HASH, "workflow"), "field workflow is missing"),
    "garbage time": (lambda c: c.hset(HASH, "created_at", '{"not": 1'), "created_at "),
    "key of the wrong type": (lambda c: (c.delete(HASH), c.set(HASH, "x")), f"{HASH} is not "),
}


@pytest.fixture
def damaged(server: ServerUnderTest, request: pytest.FixtureRequest) -> str:
    """Three runs, one of them (the middle one in time) damaged; the problem's expected start."""
    cp = ControlPlane.from_url(server.url)
    start = utcnow() - timedelta(minutes=5)
    ids = (GOOD[0], VICTIM, GOOD[1])
    cp.runs.create_many(
        NewRun(run_id=run_id, workflow="procurement", created_at=start + timedelta(seconds=n))
        for n, run_id in enumerate(ids)
    )
    cp.close()
    spoil, problem = DAMAGE[request.param]
    client = server.client()
    spoil(client)
    client.close()
    return problem


@pytest.mark.parametrize("damaged", DAMAGE, indirect=True)
@pytest.mark.parametrize(
    "args", [(), ("--status", "queued"), ("--since", "2000-01-01")], ids=["all", "status", "search"]
)
def test_runs_lists_the_others_and_names_the_damaged_one(
    server: ServerUnderTest,
    tmp_path: Path,
    damaged: str,
    args: tuple[str, ...],
    capsys: pytest.CaptureFixture[str],
) -> None:
    listed = waybill_here(capsys, server.url, tmp_path, "runs", *args)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    rows = [line.split()[0] for line in listed.stdout.splitlines()[1:-1]]
    assert rows == [GOOD[1], GOOD[0]], listed.stdout
    line = one_line(listed)
    assert line.startswith(f"waybill: run {VICTIM}: record is damaged ({damaged}"), line
    assert line.endswith("), skipped"), line


@pytest.mark.parametrize("damaged", DAMAGE, indirect=True)
def test_show_of_the_damaged_run_says_so_in_one_line(
    server: ServerUnderTest, tmp_path: Path, damaged: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = waybill_here(capsys, server.url, tmp_path, "show", VICTIM)
    assert shown.returncode == 1, shown.stdout + shown.stderr
    line = one_line(shown)
    assert line.startswith(f"waybill: run {VICTIM}: record is damaged ({damaged}"), line
    assert waybill_here(capsys, server.url, tmp_path, "show", GOOD[0]).returncode == 0


def test_a_damaged_event_is_one_line_of_its_run_and_hides_nothing_else(
    server: ServerUnderTest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An entry of a run's event stream that is not JSON broke `waybill runs` (its usage is read
    from the events) and `waybill show` with an error naming no run."""
    cp = ControlPlane.from_url(server.url)
    cp.runs.create(VICTIM, "procurement")
    cp.runs.update(VICTIM, status="running")
    entry = str(
        cp.client.xadd(f"wb:{{{VICTIM}}}:events", {"kind": "node", "data": "{x", "ts": "x"})
    )
    cp.runs.update(VICTIM, status="failed", reason="test")
    cp.close()
    listed = waybill_here(capsys, server.url, tmp_path, "runs")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()[1:-1]] == [VICTIM]
    shown = waybill_here(capsys, server.url, tmp_path, "show", VICTIM)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert shown.stdout.splitlines()[1:5] == [
        "  [queued]",
        "  [running]",
        f"  [damaged event {entry}: its node event cannot be read (JSONDecodeError)]",
        "  [failed]",
    ]
