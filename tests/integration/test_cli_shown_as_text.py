"""Text from agents, inputs and people reaches the terminal as text, on Redis, each command in
its own process: a newline stored in a reason (tripped from the console or the API, which take
any text) cannot forge a switch line or a run row, and ESC in a run's input colours nothing."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.runtime import ADMIN, APPROVER, service
from tests.integration.test_cli_redis import SMALL, _run_id, ana, waybill
from tests.redis_servers import ServerUnderTest

RED = "\x1b[31mRED"
FORGED = "x\nglobal:*  by root at 2099-01-01 00:00: FAKE"
FORGED_SHOWN = "x\\nglobal:*  by root at 2099-01-01 00:00: FAKE"


def _plain(out: str) -> list[str]:
    """The lines of ``out``, which holds nothing but printable text and line ends."""
    assert [c for c in out if not c.isprintable() and c != "\n"] == [], out
    return out.splitlines()


def test_runs_switches_and_timelines_are_shown_as_text(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    request = json.loads(Path(SMALL).read_text())
    request["request_id"] = f"{RED}\nFORGED"
    path = tmp_path / "input.json"
    path.write_text(json.dumps(request))
    done = waybill(
        server.url, tmp_path, "run", "procurement", "--input", str(path), token=ana(server.url)
    )
    assert done.returncode == 0, done.stderr
    assert "request_id=\\x1b[31mRED\\nFORGED, " in done.stdout
    run_id = _run_id(done.stdout)
    shown = waybill(server.url, tmp_path, "show", run_id)
    assert shown.returncode == 0, shown.stderr
    lines = _plain(shown.stdout)
    assert not any(line.startswith("FORGED") for line in lines)
    assert any(line.startswith("       request_id=\\x1b[31mRED\\nFORGED, ") for line in lines)
    assert lines[-1].startswith("status: succeeded")

    svc, cp, _ = service(server.url)
    idle = svc.submit("steps", {"job_id": "t1"}, who=APPROVER).run_id  # no worker: stays queued
    svc.kill("run", idle, who=ADMIN, reason=FORGED)
    svc.kill("workflow", "research", who=ADMIN, reason=FORGED + RED)
    svc.hold("workflow", "refund", who=ADMIN, reason=FORGED)
    listed = _plain(waybill(server.url, tmp_path, "runs").stdout)
    assert len(listed) == 4  # the header, two runs, the count
    [killed] = [line for line in listed if line.startswith(idle)]
    assert "by ada: x\\nglobal:*" in killed
    kills = _plain(waybill(server.url, tmp_path, "kills").stdout)
    assert len(kills) == 2
    [research] = [line for line in kills if line.startswith("workflow:research  by ada at ")]
    assert research.endswith(f": {FORGED_SHOWN}\\x1b[31mRED")
    [held] = _plain(waybill(server.url, tmp_path, "holds").stdout)
    assert held.startswith("workflow:refund  by ada at ")
    assert held.endswith(f": {FORGED_SHOWN}")

    refused = waybill(
        server.url, tmp_path, "kill", "--workflow", "refund", "--reason", FORGED,
        token=ana(server.url),
    )  # fmt: skip
    assert refused.returncode == 2
    assert "argument --reason: 'x\\nglobal:*" in refused.stderr
    assert len(cp.kills.list()) == 2  # nothing tripped
    cp.close()
