"""``waybill up``'s supervision of its children, on real (tiny) processes: a child killed by a
signal is started again, up to three times a minute; one that exits on its own stops the rest."""

from __future__ import annotations

import signal
import subprocess

import pytest

from console.cli.supervise import Child


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen(["sleep", "60"])


def test_a_killed_child_is_started_again_three_times_a_minute(
    capsys: pytest.CaptureFixture[str],
) -> None:
    child = Child("worker 1", _sleeper)
    seen = [child.proc.pid]
    try:
        assert child.check()  # alive: nothing to do
        for _ in range(3):
            child.proc.send_signal(signal.SIGKILL)
            child.proc.wait()
            assert child.check()
            assert child.proc.pid not in seen
            assert child.proc.poll() is None
            seen.append(child.proc.pid)
        child.proc.send_signal(signal.SIGKILL)
        child.proc.wait()
        assert not child.check()
    finally:
        if child.proc.poll() is None:
            child.proc.kill()
            child.proc.wait()
    err = capsys.readouterr().err.splitlines()
    assert err == [
        *["waybill: worker 1 was killed (SIGKILL): starting it again"] * 3,
        "waybill: worker 1 was killed (SIGKILL), 4 times in a minute: stopping the rest",
    ]


def test_a_child_that_exits_on_its_own_stops_the_rest(capsys: pytest.CaptureFixture[str]) -> None:
    child = Child("the console", lambda: subprocess.Popen(["sh", "-c", "exit 3"]))
    child.proc.wait()
    assert not child.check()
    assert capsys.readouterr().err == "waybill: the console exited (code 3): stopping the rest\n"


def test_a_child_asked_to_stop_by_a_signal_stops_the_rest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """SIGTERM (or SIGINT, SIGHUP, SIGPIPE) asks a process to stop: not a crash to undo."""
    child = Child("the console", _sleeper)
    child.proc.send_signal(signal.SIGTERM)
    child.proc.wait()
    assert not child.check()
    said = capsys.readouterr().err
    assert said == "waybill: the console was stopped (SIGTERM): stopping the rest\n"
