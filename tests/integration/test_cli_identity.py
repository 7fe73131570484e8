"""The command line acts as a console user: an API token, checked like the console, audited
under the user's real name; every refusal one line, nothing done."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.runtime.executor import ExecutorConfig
from state.control.plane import ControlPlane
from tests.integration.cli_here import waybill_here
from tests.integration.runtime import ADMIN, Executors, service
from tests.integration.test_cli_redis import LARGE, SMALL, _run_id, ana, bob, waybill
from tests.redis_servers import ServerUnderTest
from tests.staff import PROCUREMENT_GROUPS, add_staff, token_for


def _one_line(err: str) -> str:
    assert "Traceback" not in err
    [line] = err.strip().splitlines()
    return line


@pytest.fixture
def waiting_run(server: ServerUnderTest, tmp_path: Path) -> str:
    """A large order started by ana, waiting for finance to approve it."""
    done = waybill(
        server.url, tmp_path, "run", "procurement", "--input", LARGE, token=ana(server.url)
    )
    assert done.returncode == 6, done.stdout + done.stderr
    return _run_id(done.stdout)


def test_a_decision_without_valid_credentials_is_refused(
    server: ServerUnderTest, tmp_path: Path, capsys: pytest.CaptureFixture[str], waiting_run: str
) -> None:
    cp = ControlPlane.from_url(server.url)
    nothing = waybill_here(
        capsys, server.url, tmp_path, "decide", waiting_run, "--approve", "--user", "bob"
    )
    assert nothing.returncode == 1
    assert _one_line(nothing.stderr) == (
        "waybill: no credentials: set WAYBILL_TOKEN to your API token (an admin issues one "
        "with `waybill user token NAME`); nothing was done"
    )
    for bad in ("wbt_not-a-real-token", "plain-guess"):
        refused = waybill_here(
            capsys, server.url, tmp_path, "decide", waiting_run, "--approve", token=bad
        )
        assert refused.returncode == 1
        assert _one_line(refused.stderr) == (
            "waybill: invalid or revoked API token (WAYBILL_TOKEN): nothing was done"
        )
    token = bob(server.url)
    other = waybill_here(
        capsys,
        server.url,
        tmp_path,
        "decide",
        waiting_run,
        "--approve",
        "--user",
        "ana",
        token=token,
    )
    assert other.returncode == 1
    assert "--user ana does not match the API token's user bob" in _one_line(other.stderr)
    assert [e for e in cp.escalations.for_run(waiting_run) if e.pending]  # nothing decided
    denied = cp.audit.list(action="denied", target="cli")
    assert len(denied) == 2  # the two wrong tokens
    cp.close()


def test_a_viewers_token_is_refused_and_audited(
    server: ServerUnderTest, tmp_path: Path, capsys: pytest.CaptureFixture[str], waiting_run: str
) -> None:
    token = token_for(server.url, "vic", "viewer", ["finance"])
    refused = waybill_here(
        capsys, server.url, tmp_path, "decide", waiting_run, "--approve", token=token
    )
    assert refused.returncode == 1
    assert _one_line(refused.stderr) == (
        "waybill: vic (viewer) may not approve an escalation: it needs the approver role"
    )
    killed = waybill_here(
        capsys, server.url, tmp_path, "kill", "--run", waiting_run, "--reason", "x", token=token
    )
    assert killed.returncode == 1
    assert "vic (viewer) may not trip a kill switch" in _one_line(killed.stderr)
    cp = ControlPlane.from_url(server.url)
    assert [e.actor for e in cp.audit.list(action="denied")] == ["vic", "vic"]
    assert cp.runs.get(waiting_run).status == "waiting"
    cp.close()


def test_group_and_four_eyes_apply_to_the_cli_as_to_the_console(
    server: ServerUnderTest, tmp_path: Path, capsys: pytest.CaptureFixture[str], waiting_run: str
) -> None:
    token = token_for(server.url, "olga", "approver", ["warehouse"])
    other = waybill_here(
        capsys, server.url, tmp_path, "decide", waiting_run, "--approve", token=token
    )
    assert other.returncode == 1
    assert _one_line(other.stderr).startswith("waybill: olga is not in group 'finance', which ")
    starter = token_for(server.url, "fred", "approver", ["finance"])
    mine = waybill(
        server.url,
        tmp_path,
        "run",
        "procurement",
        "--input",
        LARGE,
        "--decision",
        "approve",
        token=starter,
    )
    assert mine.returncode == 6, mine.stdout + mine.stderr  # waits for someone else
    assert "four eyes: fred started run" in mine.stdout
    assert "another member of finance must" in mine.stdout


def test_the_audit_log_names_the_real_user_and_a_revoked_token_stops_working(
    server: ServerUnderTest, tmp_path: Path, capsys: pytest.CaptureFixture[str], waiting_run: str
) -> None:
    cp = ControlPlane.from_url(server.url)
    add_staff(cp, {"bea": "approver"}, {"bea": PROCUREMENT_GROUPS})
    issued = waybill_here(capsys, server.url, tmp_path, "user", "token", "bea", "--label", "laptop")
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    assert token.startswith("wbt_")
    decided = waybill_here(
        capsys, server.url, tmp_path, "decide", waiting_run, "--approve", token=token
    )
    assert decided.returncode == 0, decided.stderr
    [entry] = cp.audit.list(action="escalation.approve", target=waiting_run)
    assert entry.actor == "bea"
    assert entry.details["as"] == "member of finance"
    [info] = cp.tokens.list("bea")
    assert info.label == "laptop"
    assert entry.details["via"] == f"cli token {info.id}"
    [started] = cp.audit.list(action="run.start", target=waiting_run)
    assert started.actor == "ana"
    listed = waybill_here(capsys, server.url, tmp_path, "user", "tokens", "bea")
    assert info.id in listed.stdout
    revoked = waybill_here(capsys, server.url, tmp_path, "user", "revoke", "bea", info.id)
    assert revoked.returncode == 0, revoked.stderr
    again = waybill_here(
        capsys, server.url, tmp_path, "run", "procurement", "--input", SMALL, token=token
    )
    assert again.returncode == 1
    assert "invalid or revoked API token" in _one_line(again.stderr)
    [audited] = cp.audit.list(action="token.issue", target="bea")
    assert audited.details["token_id"] == info.id
    assert cp.audit.list(action="token.revoke", target="bea")
    assert token not in str([e.details for e in cp.audit.list(limit=500)])  # never logged
    cp.close()


def test_user_and_group_commands_without_a_terminal(
    server: ServerUnderTest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    added = waybill_here(
        capsys,
        server.url,
        tmp_path,
        "user",
        "add",
        "nina",
        "--role",
        "approver",
        stdin="long-enough-pw\n",
    )
    assert added.returncode == 0, added.stderr
    assert "user nina added (approver)" in added.stdout
    empty = waybill_here(
        capsys, server.url, tmp_path, "user", "add", "nora", "--role", "approver", stdin=""
    )
    assert empty.returncode == 1
    assert _one_line(empty.stderr) == "waybill: empty password"
    # A bad or taken name is refused before the password is read (it said "empty password").
    for name, said in (
        ("bad name!", "invalid user name 'bad name!'"),
        ("nina", "user 'nina' already exists"),
    ):
        refused = waybill_here(
            capsys, server.url, tmp_path, "user", "add", name, "--role", "viewer", stdin=""
        )
        assert refused.returncode == 1
        assert said in _one_line(refused.stderr)
    joined = waybill_here(capsys, server.url, tmp_path, "user", "join", "nina", "finance", "buyers")
    assert joined.returncode == 0, joined.stderr
    groups = waybill_here(capsys, server.url, tmp_path, "user", "groups")
    assert "finance" in groups.stdout
    assert "nina" in groups.stdout
    ghost = waybill_here(capsys, server.url, tmp_path, "user", "join", "ghost", "finance")
    assert ghost.returncode == 1
    assert _one_line(ghost.stderr) == "waybill: no user 'ghost'"
    nowhere = waybill_here(capsys, server.url, tmp_path, "user", "leave", "nina", "no-such-group")
    assert _one_line(nowhere.stderr) == "waybill: no group 'no-such-group'"
    bad = waybill_here(capsys, server.url, tmp_path, "user", "join", "nina", "bad group!")
    assert "invalid group name 'bad group!'" in _one_line(bad.stderr)
    token = waybill_here(capsys, server.url, tmp_path, "user", "token", "ghost")
    assert _one_line(token.stderr) == "waybill: no user 'ghost'"
    cp = ControlPlane.from_url(server.url)
    assert cp.groups.groups_of("nina") == ["buyers", "finance"]
    cp.close()


def test_a_veto_is_called_a_veto(
    server: ServerUnderTest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    executors: Executors,
) -> None:
    monkeypatch.setenv("REDIS_URL", server.url)  # the steps workflow's effects live there
    svc, cp, raw = service(server.url)
    record = svc.submit("steps", {"job_id": "v1", "notify": True}, who=ADMIN)
    executor = executors(cp, raw, svc.registry, worker="t", config=ExecutorConfig(veto_window_s=60))
    assert executor.execute(record.run_id) == "waiting"
    token = token_for(server.url, "april", "approver", ["tests"])
    wrong = waybill(
        server.url, tmp_path, "decide", record.run_id, "--approve", "--veto", token=token
    )
    assert wrong.returncode == 2  # one decision at a time
    vetoed = waybill(server.url, tmp_path, "decide", record.run_id, "--veto", token=token)
    assert vetoed.returncode == 0, vetoed.stderr
    assert f"run {record.run_id}: veto recorded for " in vetoed.stdout
    [entry] = cp.audit.list(action="escalation.veto", target=record.run_id)
    assert entry.actor == "april"
    assert executor.execute(record.run_id) == "rejected"
    assert "vetoed by april" in (cp.runs.get(record.run_id).reason or "")
