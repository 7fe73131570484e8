"""Kill and hold switches: global, per workflow, per agent, per run; durable keys plus a nudge.

A tripped switch is the hash ``wb:<kind>:<scope>:<target>`` (``kind`` is ``kill`` or ``hold``,
``target`` is ``*`` for the global switch), listed in the sorted set ``wb:kill:index`` (both
kinds). The key is the truth and survives a Redis restart (AOF); the message on channel
``wb:kill:nudges`` only wakes watchers early, so a watcher that missed it still sees the switch
at its next ``check``. Tripping a switch does not change any run's status: the runtime stops
affected runs at the next boundary and marks them ``killed`` (a kill: clearing it revives
nothing) or ``held`` (a hold: releasing it queues them again, see ``graph.runtime.holds``).
"""

from __future__ import annotations

import json
import time
from types import TracebackType

import redis

from state.clock import utcnow
from state.control.connection import text, texts
from state.control.errors import InvalidArgument
from state.control.models import (
    KillNudge,
    KillScope,
    KillSwitch,
    SwitchKind,
    from_epoch,
    to_epoch,
)
from state.keys import global_key

CHANNEL = global_key("kill", "nudges")
_INDEX = global_key("kill", "index")
_PRECEDENCE: tuple[KillScope, ...] = ("global", "workflow", "agent", "run")


def switch_key(scope: KillScope, target: str | None = None, kind: SwitchKind = "kill") -> str:
    """The key of one switch; the global switch has target ``*``."""
    if kind not in ("kill", "hold"):
        raise InvalidArgument(f"unknown switch kind {kind!r}: use kill or hold")
    if scope == "global":
        return global_key(kind, "global", "*")
    if scope not in _PRECEDENCE:
        raise InvalidArgument(
            f"unknown {kind}-switch scope {scope!r}: use {', '.join(_PRECEDENCE)}"
        )
    if not target or not target.strip():
        raise InvalidArgument(f"a {scope} {kind} switch needs a target")
    return global_key(kind, scope, target)


def _parse(fields: dict[str, str]) -> KillSwitch:
    return KillSwitch(
        kind=fields.get("kind", "kill"),
        scope=fields["scope"],
        target=fields["target"],
        reason=fields.get("reason", ""),
        user=fields.get("user", ""),
        tripped_at=from_epoch(fields["tripped_at"]),
    )


class KillSwitches:
    """Trip, clear, list and check kill (and hold) switches."""

    def __init__(self, client: redis.Redis) -> None:
        self._r = client

    def trip(
        self,
        scope: KillScope,
        target: str | None = None,
        *,
        reason: str,
        user: str,
        kind: SwitchKind = "kill",
    ) -> KillSwitch:
        """Trip a switch (again, if tripped: reason and user are replaced) and nudge watchers."""
        key = switch_key(scope, target, kind)
        switch = KillSwitch(
            kind=kind,
            scope=scope,
            target="*" if scope == "global" else str(target),
            reason=reason,
            user=user,
            tripped_at=utcnow(),
        )
        fields = {
            "kind": kind,
            "scope": switch.scope,
            "target": switch.target,
            "reason": reason,
            "user": user,
            "tripped_at": repr(to_epoch(switch.tripped_at)),
        }
        pipe = self._r.pipeline(transaction=False)
        pipe.hset(key, mapping=fields)  # type: ignore[arg-type]  # dict[str, str] is fine
        pipe.zadd(_INDEX, {key: to_epoch(switch.tripped_at)})
        pipe.execute()
        # After the durable write, and on its own (a cluster pipeline cannot publish).
        self._r.publish(CHANNEL, _nudge("tripped", kind, switch.scope, switch.target))
        return switch

    def clear(self, scope: KillScope, target: str | None = None, kind: SwitchKind = "kill") -> bool:
        """Clear a switch; ``False`` if it was not tripped. Killed runs stay killed."""
        key = switch_key(scope, target, kind)
        pipe = self._r.pipeline(transaction=False)
        pipe.delete(key)
        pipe.zrem(_INDEX, key)
        deleted, _ = pipe.execute()
        self._r.publish(
            CHANNEL, _nudge("cleared", kind, scope, "*" if scope == "global" else str(target))
        )
        return bool(deleted)

    def list(self, kind: SwitchKind | None = "kill") -> list[KillSwitch]:
        """Every tripped switch of ``kind`` (``None``: both kinds), oldest first."""
        keys = texts(self._r.zrange(_INDEX, 0, -1))
        if kind is not None:
            keys = [k for k in keys if k.startswith(global_key(kind) + ":")]
        pipe = self._r.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(key)
        return [
            _parse({text(k): text(v) for k, v in f.items()})
            for f in (pipe.execute() if keys else [])
            if f
        ]

    def check(
        self,
        *,
        run_id: str | None = None,
        workflow: str | None = None,
        agent: str | None = None,
        kind: SwitchKind = "kill",
    ) -> KillSwitch | None:
        """The switch of ``kind`` that stops this run/workflow/agent, or ``None``; one round
        trip.

        Precedence when several are tripped: global, workflow, agent, run.
        """
        targets: list[tuple[KillScope, str | None]] = [
            ("global", None),
            ("workflow", workflow),
            ("agent", agent),
            ("run", run_id),
        ]
        wanted = [(s, t) for s, t in targets if s == "global" or t]
        pipe = self._r.pipeline(transaction=False)
        for scope, target in wanted:
            pipe.hgetall(switch_key(scope, target, kind))
        for fields in pipe.execute():
            if fields:
                return _parse({text(k): text(v) for k, v in fields.items()})
        return None

    def subscribe(self) -> KillWatcher:
        """A watcher of trip/clear nudges (subscribed when this returns). Close it after use."""
        return KillWatcher(self._r)


def _nudge(event: str, kind: SwitchKind, scope: str, target: str) -> str:
    return json.dumps({"event": event, "kind": kind, "scope": scope, "target": target})


class KillWatcher:
    """Receives kill-switch nudges; a context manager. Nudges are hints: re-``check`` on one."""

    def __init__(self, client: redis.Redis, *, timeout: float = 5.0) -> None:
        self._pubsub = client.pubsub()  # type: ignore[no-untyped-call]
        self._pubsub.subscribe(CHANNEL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self._pubsub.get_message(timeout=0.1)
            if msg is not None and msg.get("type") == "subscribe":
                return
        self.close()
        raise TimeoutError("could not subscribe to kill-switch nudges")

    def get(self, timeout: float = 1.0) -> KillNudge | None:
        """The next nudge, waiting up to ``timeout`` seconds; ``None`` if none arrived."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            msg = self._pubsub.get_message(timeout=remaining)
            if msg is not None and msg.get("type") == "message":
                return KillNudge.model_validate_json(text(msg["data"]))

    def close(self) -> None:
        """Unsubscribe and release the connection."""
        self._pubsub.close()

    def __enter__(self) -> KillWatcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
