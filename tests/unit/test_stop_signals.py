"""Which signals stop ``waybill up`` and ``waybill worker``: a closed terminal's SIGHUP too,
unless they run under ``nohup`` (SIGHUP ignored), which must keep them running."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from state.signals import stop_signals


@pytest.fixture
def sighup() -> Iterator[None]:
    before = signal.getsignal(signal.SIGHUP)
    yield
    signal.signal(signal.SIGHUP, before)


@pytest.mark.usefixtures("sighup")
def test_a_closed_terminal_stops_a_command() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    assert stop_signals() == (signal.SIGTERM, signal.SIGHUP)


@pytest.mark.usefixtures("sighup")
def test_under_nohup_a_closed_terminal_does_not() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    assert stop_signals() == (signal.SIGTERM,)
