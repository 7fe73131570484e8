"""The tripped kill and hold switches, kept in memory by a process that executes runs.

Every node of a run checks the kill switches as it starts; asking Redis each time would cost a
round trip per node. A :class:`KillCache` reads the switches once, then again on every nudge
(tripping or clearing a switch publishes one) and every ``poll_s`` seconds whatever happens (a
nudge may be lost with a connection), so a check is a lookup in memory and a switch is seen
within milliseconds of its nudge. Watchers (``wait``) wake up when the switches change.

A background thread does the reading; ``start`` returns once the first read is done and the
subscription is live, so a switch tripped before ``start`` returned is always seen.
"""

from __future__ import annotations

import logging
import threading
import time

import redis

from state.control.kills import KillSwitches, KillWatcher
from state.control.models import KillSwitch, SwitchKind
from state.control.outage import LoopLog

log = logging.getLogger(__name__)


class KillCache:
    """The switches of ``KillSwitches(client)``, in memory; ``check`` as ``KillSwitches.check``.

    Args:
        client: A control-plane client (``decode_responses=True``).
        poll_s: Longest time between two reads, nudged or not.
    """

    def __init__(self, client: redis.Redis, *, poll_s: float = 1.0) -> None:
        self._switches = KillSwitches(client)
        self._poll_s = poll_s
        self._tripped: dict[tuple[str, str, str], KillSwitch] = {}
        self._version = 0
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._said = LoopLog(log, "kill switches")

    def start(self, timeout: float = 10.0) -> None:
        """Read the switches and subscribe to nudges (once); wait until both are done.

        Raises:
            TimeoutError: Redis did not answer within ``timeout`` seconds.
        """
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="kill-cache", daemon=True)
            self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("could not read the kill switches")

    def close(self, timeout: float = 1.0) -> None:
        """Stop the background reads and wait (up to ``timeout`` seconds) for the thread to end,
        so the client can be closed after this returns without the thread reading from it."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def version(self) -> int:
        """Grows each time the tripped switches change."""
        return self._version

    def check(
        self,
        *,
        run_id: str | None = None,
        workflow: str | None = None,
        agent: str | None = None,
        kind: SwitchKind = "kill",
    ) -> KillSwitch | None:
        """The switch of ``kind`` that stops this run/workflow/agent, or ``None`` (no round
        trip).

        Precedence when several are tripped: global, workflow, agent, run.
        """
        tripped = self._tripped
        for scope, target in (
            ("global", "*"),
            ("workflow", workflow),
            ("agent", agent),
            ("run", run_id),
        ):
            if target and (found := tripped.get((kind, scope, target))) is not None:
                return found
        return None

    def confirmed(
        self,
        *,
        run_id: str | None = None,
        workflow: str | None = None,
        agent: str | None = None,
        kind: SwitchKind = "kill",
    ) -> KillSwitch | None:
        """``check``, and a switch it finds confirmed in Redis (one round trip, only then).

        The cache follows a clear by its nudge, a moment later: a run queued at once by the
        clear (a released hold, a run started right after an unkill) must not be stopped by
        the switch that was just cleared.
        """
        if self.check(run_id=run_id, workflow=workflow, agent=agent, kind=kind) is None:
            return None
        return self._switches.check(run_id=run_id, workflow=workflow, agent=agent, kind=kind)

    def wait(self, version: int, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for the switches to change from ``version``."""
        with self._changed:
            self._changed.wait_for(lambda: self._version != version, timeout)
            return self._version

    def _refresh(self) -> None:
        tripped: dict[tuple[str, str, str], KillSwitch] = {
            (s.kind, s.scope, s.target): s for s in self._switches.list(kind=None)
        }
        if tripped != self._tripped:
            with self._changed:
                self._tripped = tripped
                self._version += 1
                self._changed.notify_all()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with self._switches.subscribe() as nudges:
                    self._refresh()
                    self._ready.set()
                    self._said.ok()
                    self._follow(nudges)
            except Exception as exc:
                if self._stop.is_set():
                    return  # closing: the client may be closed under the read
                self._said.failed(exc)
                self._stop.wait(0.5)

    def _follow(self, nudges: KillWatcher) -> None:
        last = time.monotonic()
        while not self._stop.is_set():
            nudge = nudges.get(timeout=min(self._poll_s, 0.25))
            if nudge is not None or time.monotonic() - last >= self._poll_s:
                self._refresh()
                last = time.monotonic()
