"""The signals that stop a long-running command (``waybill up``, ``waybill worker``) cleanly."""

from __future__ import annotations

import signal


def stop_signals() -> tuple[signal.Signals, ...]:
    """SIGTERM, and SIGHUP (its terminal closed) unless this process was started to outlive
    its terminal (``nohup``, which leaves SIGHUP ignored). Ctrl+C's SIGINT is the caller's.
    Call before installing handlers of one's own."""
    if signal.getsignal(signal.SIGHUP) == signal.SIG_IGN:
        return (signal.SIGTERM,)
    return (signal.SIGTERM, signal.SIGHUP)
