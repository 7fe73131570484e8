"""Escalations: requests for a human decision, decided once, atomically.

Each escalation is a hash ``wb:{<run>}:esc:<id>`` under its run's hash tag, with a ``version``
that counts its writes; ``wb:{<run>}:escs`` lists a run's escalations. ``decide`` is one Lua
script over the run's own keys (escalation, run record, event stream): the first decision wins,
a later one gets ``EscalationConflict`` naming who decided, what and when, and a decision on a
run whose status is terminal (finished or killed) is refused with ``RunFinished``.

Global indexes, updated outside the scripts: ``wb:idx:escalations:pending`` (by creation time)
and ``wb:idx:escalations:run`` (escalation id -> run id). Escalation ids are global (unique).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import redis

from state.clock import utcnow
from state.control.connection import text, texts
from state.control.errors import (
    EscalationConflict,
    InvalidArgument,
    RunFinished,
    UnknownEscalation,
    UnknownRun,
)
from state.control.escalation_scripts import CREATE_ESCALATION, DECIDE_ESCALATION
from state.control.events import events_key
from state.control.models import Decision, Escalation, EscalationAction, from_epoch, to_epoch
from state.control.outbox import Intent, outbox_key
from state.control.run_index import PENDING_ESCALATIONS, RUN_OF_ESCALATION
from state.control.runs import run_hash_key
from state.keys import run_key
from state.status import TERMINAL_STATUSES

_TERMINAL = " ".join(sorted(TERMINAL_STATUSES))

_PENDING = PENDING_ESCALATIONS
_RUN_OF = RUN_OF_ESCALATION


def escalation_key(run_id: str, escalation_id: str) -> str:
    """The hash of one escalation."""
    return run_key(run_id, "esc", escalation_id)


def _parse(fields: dict[str, str]) -> Escalation:
    decision = None
    if fields.get("decided_by"):
        edited = fields.get("edited") or ""
        decision = Decision(
            action=fields["action"],
            user=fields["decided_by"],
            comment=fields.get("comment", ""),
            edited=json.loads(edited) if edited else None,
            decided_at=from_epoch(fields["decided_at"]),
        )
    return Escalation(
        escalation_id=fields["escalation_id"],
        run_id=fields["run_id"],
        kind=fields["kind"],
        stage=fields.get("stage") or None,
        request=json.loads(fields.get("request") or "{}"),
        created_at=from_epoch(fields["created_at"]),
        version=int(fields.get("version", "1")),
        decision=decision,
    )


def _text_map(fields: dict[Any, Any]) -> dict[str, str]:
    return {text(k): text(v) for k, v in fields.items()}


def _create_keys(run_id: str, escalation_id: str) -> list[str]:
    """The keys ``CREATE_ESCALATION`` reads, in its ``KEYS`` order."""
    return [
        escalation_key(run_id, escalation_id),
        run_key(run_id, "escs"),
        run_hash_key(run_id),
        events_key(run_id),
    ]


def _decide_keys(run_id: str, escalation_id: str) -> list[str]:
    """The keys ``DECIDE_ESCALATION`` reads, in its ``KEYS`` order."""
    return [
        escalation_key(run_id, escalation_id),
        run_hash_key(run_id),
        events_key(run_id),
        outbox_key(run_id),
    ]


def _check_decision(action: str, user: str, edited: dict[str, Any] | None) -> None:
    if action not in ("approve", "edit", "reject", "retry"):
        raise InvalidArgument(f"unknown action {action!r}: use approve, edit, reject or retry")
    if not user.strip():
        raise InvalidArgument("a decision needs the deciding user")
    if action == "edit" and edited is None:
        raise InvalidArgument("an edit decision needs the edited payload")


def _raise_refusal(outcome: str, rest: list[str], *, run_id: str, escalation_id: str) -> None:
    """Raise the error a script's refusal names; return for any other outcome."""
    if outcome == "unknown":
        raise UnknownEscalation(escalation_id)
    if outcome == "norun":
        raise UnknownRun(run_id)
    if outcome == "conflict":
        decided_by, prior, decided_at = rest
        raise EscalationConflict(
            escalation_id, decided_by, prior, from_epoch(decided_at).isoformat()
        )
    if outcome == "finished":
        raise RunFinished(run_id, rest[0])


class Escalations:
    """Create, read, list and decide escalations."""

    def __init__(self, client: redis.Redis, *, events_maxlen: int = 0) -> None:
        self._r = client
        self._maxlen = str(events_maxlen)
        self._create = client.register_script(CREATE_ESCALATION)
        self._decide = client.register_script(DECIDE_ESCALATION)

    def create(
        self,
        run_id: str,
        kind: str,
        request: dict[str, Any],
        *,
        stage: str | None = None,
        escalation_id: str | None = None,
    ) -> Escalation:
        """Open an escalation on a run (and append ``escalation_created`` to its events).

        Idempotent per id: if ``escalation_id`` exists, the stored record is returned
        unchanged, so a node that re-runs on resume never resets a decision.

        Raises:
            UnknownRun: The run is not registered.
            RunFinished: The run's status is terminal.
        """
        esc_id = escalation_id or uuid.uuid4().hex
        now = repr(to_epoch(utcnow()))
        fields = {
            "escalation_id": esc_id,
            "run_id": run_id,
            "kind": kind,
            "stage": stage or "",
            "request": json.dumps(request, allow_nan=False),
            "created_at": now,
            "version": "1",
        }
        data = json.dumps({"escalation_id": esc_id, "kind": kind})
        args = [_TERMINAL, self._maxlen, esc_id, now, data]
        for key, value in fields.items():
            args += [key, value]
        keys = _create_keys(run_id, esc_id)
        outcome, *rest = (text(x) for x in self._create(keys=keys, args=args))
        _raise_refusal(outcome, rest, run_id=run_id, escalation_id=esc_id)
        if outcome == "exists":
            existing = self.get(esc_id, run_id=run_id)
            if existing.decision is None:  # listed again, if a crash lost the first listing
                self._r.zadd(_PENDING, {esc_id: to_epoch(existing.created_at)})
            return existing
        pipe = self._r.pipeline(transaction=False)
        pipe.hset(_RUN_OF, esc_id, run_id)
        pipe.zadd(_PENDING, {esc_id: float(now)})
        pipe.execute()
        return _parse(fields)

    def _run_of(self, escalation_id: str) -> str:
        run_id = self._r.hget(_RUN_OF, escalation_id)
        if run_id is None:
            raise UnknownEscalation(escalation_id)
        return text(run_id)

    def get(self, escalation_id: str, *, run_id: str | None = None) -> Escalation:
        """One escalation (``run_id`` saves a lookup when known).

        Raises:
            UnknownEscalation: No such escalation.
        """
        run_id = run_id or self._run_of(escalation_id)
        fields = self._r.hgetall(escalation_key(run_id, escalation_id))
        if not fields:
            raise UnknownEscalation(escalation_id)
        return _parse(_text_map(fields))

    def for_run(self, run_id: str) -> list[Escalation]:
        """Every escalation of a run, oldest first."""
        ids = texts(self._r.zrange(run_key(run_id, "escs"), 0, -1))
        pipe = self._r.pipeline(transaction=False)
        for esc_id in ids:
            pipe.hgetall(escalation_key(run_id, esc_id))
        return [_parse(_text_map(f)) for f in (pipe.execute() if ids else []) if f]

    def list_pending(self, *, limit: int = 100, newest: bool = False) -> list[Escalation]:
        """Undecided escalations of runs that can still resume, oldest first (``newest``:
        newest first), at most ``limit``.

        Entries whose escalation was decided or whose run became terminal are dropped from the
        pending index as they are met. Three round trips whatever the inbox size.
        """
        read = self._r.zrevrange if newest else self._r.zrange
        ids = texts(read(_PENDING, 0, max(limit, 1) - 1))
        if not ids:
            return []
        runs = [text(r) if r is not None else "" for r in self._r.hmget(_RUN_OF, ids)]
        pipe = self._r.pipeline(transaction=False)
        for esc_id, run_id in zip(ids, runs, strict=True):
            pipe.hgetall(escalation_key(run_id, esc_id))
            pipe.hget(run_hash_key(run_id), "status")
        replies = pipe.execute()
        pending: list[Escalation] = []
        stale: list[str] = []
        for i, esc_id in enumerate(ids):
            fields, status = replies[2 * i], replies[2 * i + 1]
            if not fields or fields.get("decided_by") or status in TERMINAL_STATUSES:
                stale.append(esc_id)
            else:
                pending.append(_parse(_text_map(fields)))
        if stale:
            self._r.zrem(_PENDING, *stale)
        return pending

    def count_pending(self) -> int:
        """How many escalations are pending in all (one round trip; an escalation leaves the
        count when it is decided or its run ends)."""
        return int(self._r.zcard(_PENDING))

    def decide(
        self,
        escalation_id: str,
        action: EscalationAction,
        *,
        user: str,
        comment: str = "",
        edited: dict[str, Any] | None = None,
        run_id: str | None = None,
        intent: Intent | None = None,
    ) -> Escalation:
        """Record a decision; the first one wins.

        With ``intent`` (what must follow: the audit entry, the resume job), the intent is kept
        in the run's outbox and a ``waiting`` run is queued, in the same script: complete the
        intent with ``ControlPlane.complete``.

        Args:
            escalation_id: The escalation.
            action: ``approve``, ``edit`` (requires ``edited``), ``reject``, or ``retry`` (an
                action whose outcome is unknown, when the escalation allows it).
            user: The authenticated human deciding (never an agent).
            comment: Free text kept with the decision.
            edited: The edited payload for ``edit``.
            run_id: The run, when known (saves a lookup).
            intent: What follows the decision (see above).

        Returns:
            The escalation with its decision and new version.

        Raises:
            UnknownEscalation: No such escalation.
            EscalationConflict: Someone decided first (named in the error).
            RunFinished: The run is finished or killed.
            InvalidArgument: Bad action, missing user, or ``edit`` without ``edited``.
        """
        _check_decision(action, user, edited)
        run_id = run_id or self._run_of(escalation_id)
        now = repr(to_epoch(utcnow()))
        data = json.dumps({"escalation_id": escalation_id, "action": action, "user": user})
        edited_json = json.dumps(edited, allow_nan=False) if edited is not None else ""
        args = [_TERMINAL, self._maxlen, action, user, comment, edited_json, now, data]
        args += intent.args() if intent is not None else ["", ""]
        keys = _decide_keys(run_id, escalation_id)
        outcome, *rest = (text(x) for x in self._decide(keys=keys, args=args))
        _raise_refusal(outcome, rest, run_id=run_id, escalation_id=escalation_id)
        self._r.zrem(_PENDING, escalation_id)
        return self.get(escalation_id, run_id=run_id)
