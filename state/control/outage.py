"""What a background loop says when a round fails: a Redis outage in one line, not a traceback
every tick.

Workers and the console run loops (the scheduler, the sweeper, notification delivery, the kill
switches' reader, the hard stop's watch) that retry on their next tick. While Redis is down every
tick fails the same way; a traceback each time buries the one line an operator needs. So the
first failure of an outage is one warning, its end one more, and any other error (a bug) keeps
its traceback every time.
"""

from __future__ import annotations

import logging
import threading

from state.control.errors import RedisUnavailable
from state.redis_errors import REDIS_OUTAGE_ERRORS

OUTAGE_ERRORS = (*REDIS_OUTAGE_ERRORS, RedisUnavailable)
"""Errors that mean Redis cannot serve us now, and a retry later may succeed (see
``state.redis_errors``), and the control plane's own word for it."""


class LoopLog:
    """The log of one retrying loop: ``failed(exc)`` after a failed round, ``ok()`` after a
    round that went through.

    Args:
        log: The logger of the loop's module.
        what: What the loop does, first in each line (``"scheduler"``).
    """

    def __init__(self, log: logging.Logger, what: str) -> None:
        self._log = log
        self._what = what
        self._down = False
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        """True between the first failure of an outage and the next round that went through."""
        return self._down

    def failed(self, exc: BaseException) -> None:
        """Log ``exc``: an outage once until it ends, anything else with its traceback."""
        if isinstance(exc, OUTAGE_ERRORS):
            with self._lock:
                first, self._down = not self._down, True
            if first:
                self._log.warning("%s: Redis is unavailable (%s); retrying", self._what, exc)
            return
        self._log.error("%s failed", self._what, exc_info=exc)

    def ok(self) -> None:
        """A round went through: say so once if it ends an outage."""
        with self._lock:
            ended, self._down = self._down, False
        if ended:
            self._log.warning("%s: Redis is reachable again", self._what)


def log_failure(log: logging.Logger, exc: BaseException, message: str, *args: object) -> None:
    """Log a failed one-off step (announcing, counting, recording): for an outage one warning
    line naming it, for anything else ``message`` with the traceback."""
    if isinstance(exc, OUTAGE_ERRORS):
        log.warning(message + ": Redis is unavailable (%s)", *args, exc)
    else:
        log.error(message, *args, exc_info=exc)
