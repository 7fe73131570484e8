"""One execution of a run: everything it reads and writes in Redis, on the checkpointer's wire.

An execution reads what it needs in two round trips (the run's record and outbox; then, in the
script that takes the lease, its input, tape, ledger and sources' state), then writes as it
goes without waiting: the stage it is at, each node's event, its tape and sources ride on the
next checkpoint's round trip (``state.control.run_wire``, ``state.stores.mirror``). So a
super-step costs one round trip, whatever bookkeeping it does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from graph.context import RunContext
from graph.tape import Tape
from state.checkpoint.calls import Call
from state.checkpoint.layout import ThreadKeys
from state.checkpoint.wire import Wire
from state.control import run_index
from state.control.errors import UnknownRun
from state.control.models import RunRecord
from state.control.run_updates import Updated, moved, update_of
from state.control.run_wire import (
    SCRIPTS,
    Begun,
    begin_call,
    event_call,
    release_call,
    stage_call,
    update_call,
)
from state.keys import run_key
from state.sources import Source
from state.status import RunStatus
from state.stores.mirror import MirroredHash, MirroredLedger
from state.stores.runstore import Bindable


class RunSession:
    """The Redis side of one execution of ``run_id`` on this process."""

    def __init__(self, wire: Wire, run_id: str, *, retention_s: float = 0.0) -> None:
        wire.add_scripts(SCRIPTS)
        self.wire = wire
        self.run_id = run_id
        self.retention_s = retention_s
        self.begun: Begun | None = None
        self._stage: str | None = None
        self.released = False

    def begin(self, holder: str, ttl_s: float) -> Begun:
        """Take the lease, mark the run running, count this start, and read the run's input,
        tape, ledger and sources' state: one round trip. A finished run, or one a hold parked
        (``held``: its release queues it again), comes back with token 0 and its status
        (nothing taken).

        Raises:
            LeaseHeld, UnknownRun, InvalidTransition: See ``run_wire.begin_call``.
        """
        now = time.time()
        index = ThreadKeys(self.run_id).index("")
        calls = [Call(run_index.watch(self.run_id, now + ttl_s))]
        calls.append(begin_call(self.run_id, holder, max(1, int(ttl_s * 1000)), now, index))
        begun = self.wire.send(calls)[1]
        assert isinstance(begun, Begun)
        if not begun.token:
            return begun
        self.begun = begun
        if begun.old != "running" and begun.record is not None:
            created = begun.record.created_at.timestamp()
            moves = run_index.moving(
                self.run_id, begun.record.workflow, begun.old, "running", created
            )
            self._later([*moves, run_index.watch(self.run_id, now + ttl_s)])
        return begun

    @property
    def token(self) -> int:
        """The execution's fencing token."""
        assert self.begun is not None, "begin() first"
        return self.begun.token

    def _hash(self, *parts: str) -> dict[str, str]:
        assert self.begun is not None, "begin() first"
        return self.begun.hashes.get(run_key(self.run_id, *parts), {})

    def inputs(self) -> tuple[dict[str, Any], str | None]:
        """The run's request and injected fault.

        Raises:
            UnknownRun: The run was registered without an input.
        """
        raw = self._hash("input")
        if not raw:
            raise UnknownRun(self.run_id)
        request: dict[str, Any] = json.loads(raw["request"])
        return request, raw.get("inject") or None

    def context(
        self,
        sources: Mapping[str, Source],
        inject: str | None,
        should_stop: Callable[[str], str | None],
    ) -> RunContext:
        """The run's context: its ``sources`` bound to their hashes, its ledger and its tape,
        all read at ``begin`` and written through the wire."""
        for name, source in sources.items():
            if isinstance(source, Bindable):
                source.bind(self._mirror("source", name))
        return RunContext(
            run_id=self.run_id,
            inject=inject,
            sources=sources,
            ledger=MirroredLedger(self.wire, self.run_id, self._hash("actions")),
            should_stop=should_stop,
            tape=Tape(self._mirror("tape")),
        )

    def _mirror(self, *parts: str) -> MirroredHash:
        key = run_key(self.run_id, *parts)
        if parts[0] == "source":  # listed: the next execution reads it, a purge deletes it
            self._later([("SADD", run_index.stores_key(self.run_id), key)])
        return MirroredHash(self.wire, key, self._hash(*parts))

    def at_stage(self, stage: str) -> None:
        """The run is at ``stage`` (recorded on the next round trip, when it changed)."""
        if stage != self._stage:
            self._stage = stage
            call = stage_call(self.run_id, stage, self.token, time.time())
            self.wire.send([call], wait=False, flush=True)  # shown now, not after the node

    def event(self, key: str, stage: str, data: dict[str, Any]) -> None:
        """Append a node's event once (on the next round trip, after its checkpoint)."""
        call = event_call(self.run_id, key, stage, data, self.token, time.time())
        self.wire.send([call], wait=False)

    def update(
        self,
        *,
        status: RunStatus,
        reason: str | None = None,
        stage: str | None = None,
        release: bool = False,
    ) -> RunRecord:
        """Change the run's status (fenced; one round trip); its indexes follow on the next
        trip, or in the same one with ``release`` (the lease is given up along: the end of an
        execution).

        Raises:
            LeaseLost, RunFinished, InvalidTransition, UnknownRun: The update's refusals.
        """
        change = update_of(self.run_id, status=status, reason=reason, stage=stage, fence=self.token)
        calls = [update_call(change)]
        if release:
            calls.append(self._release_call(clean=True))
            self.released = True
        updated = self.wire.send(calls)[0]
        assert isinstance(updated, Updated)
        if updated.record.status != updated.old:  # sent now: no round trip may follow
            self._later(moved(updated, self.retention_s), flush=True)
        return updated.record

    def release(self, *, clean: bool) -> None:
        """Give the lease up (one round trip, unless ``update`` did); a ``clean`` end forgets
        this start's count (a start that ended on its own is no step towards a poison run).

        Every reply still unread is read here: an execution leaves nothing unacknowledged on
        the wire, which a reconnect in a later execution would send again, after what other
        processes wrote since (its index moves, its events).
        """
        calls = []
        if self.begun is not None and not self.released:
            self.released = True
            calls.append(self._release_call(clean=clean))
        self.wire.send(calls)

    def _release_call(self, *, clean: bool) -> Call:
        at = self.begun.at if clean and self.begun is not None else ""
        return release_call(self.run_id, self.token, at)

    def _later(self, commands: list[tuple[Any, ...]], *, flush: bool = False) -> None:
        self.wire.send([Call(c) for c in commands], wait=False, flush=flush)
