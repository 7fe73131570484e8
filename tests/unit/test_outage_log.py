"""Background loops' logs during a Redis outage: one line when it starts, one when it ends, a
traceback for anything else (no Redis needed: the errors are made here)."""

from __future__ import annotations

import logging

import pytest
import redis

from state.control.errors import RedisUnavailable
from state.control.outage import LoopLog, log_failure

LOG = logging.getLogger("tests.outage")


def test_an_outage_is_one_line_when_it_starts_and_one_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    said = LoopLog(LOG, "scheduler")
    with caplog.at_level(logging.INFO, logger="tests.outage"):
        said.ok()  # nothing to say before any failure
        for _tick in range(20):
            said.failed(redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379."))
        said.failed(redis.TimeoutError("Timeout reading from socket"))
        said.failed(RedisUnavailable("Redis at redis://127.0.0.1:6379/0 is unavailable"))
        assert said.down
        said.ok()
        said.ok()
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "scheduler: Redis is unavailable (Error 111 connecting to 127.0.0.1:6379.); retrying",
        "scheduler: Redis is reachable again",
    ]
    assert all(r.exc_info is None for r in caplog.records)
    assert not said.down


def test_any_other_error_keeps_its_traceback_every_time(caplog: pytest.LogCaptureFixture) -> None:
    said = LoopLog(LOG, "sweep")
    with caplog.at_level(logging.INFO, logger="tests.outage"):
        for _tick in range(2):
            try:
                raise KeyError("a bug")
            except KeyError as exc:
                said.failed(exc)
    assert [r.getMessage() for r in caplog.records] == ["sweep failed", "sweep failed"]
    assert all(r.exc_info is not None and r.exc_info[0] is KeyError for r in caplog.records)
    assert not said.down


def test_a_one_off_step_names_itself_and_the_outage_in_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="tests.outage"):
        log_failure(LOG, redis.ConnectionError("refused"), "could not record notice %s", "n-1")
        log_failure(LOG, ValueError("bad"), "could not record notice %s", "n-2")
    first, second = caplog.records
    assert first.getMessage() == "could not record notice n-1: Redis is unavailable (refused)"
    assert first.levelno == logging.WARNING
    assert first.exc_info is None
    assert second.getMessage() == "could not record notice n-2"
    assert second.levelno == logging.ERROR
    assert second.exc_info is not None
