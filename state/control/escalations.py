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
    DuplicateApproval,
    EscalationConflict,
    EscalationMoved,
    InvalidArgument,
    RunFinished,
    UnknownEscalation,
    UnknownRun,
)
from state.control.escalation_records import (
    approvals_key,
    escalation_key,
    parse,
    terms_fields,
    text_map,
)
from state.control.escalation_scripts import CREATE_ESCALATION, DECIDE_ESCALATION
from state.control.events import events_key
from state.control.models import Escalation, EscalationAction, EscalationTerms, from_epoch, to_epoch
from state.control.outbox import Intent, outbox_key
from state.control.run_index import PENDING_ESCALATIONS, RUN_OF_ESCALATION
from state.control.runs import run_hash_key
from state.keys import run_key
from state.status import TERMINAL_STATUSES

_TERMINAL = " ".join(sorted(TERMINAL_STATUSES))

_PENDING = PENDING_ESCALATIONS
_RUN_OF = RUN_OF_ESCALATION


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
        approvals_key(run_id, escalation_id),
    ]


def _check_decision(action: str, user: str, edited: dict[str, Any] | None) -> None:
    if action not in ("approve", "edit", "reject", "retry"):
        raise InvalidArgument(f"unknown action {action!r}: use approve, edit, reject or retry")
    if not user.strip():
        raise InvalidArgument("a decision needs the deciding user")
    if action == "edit" and edited is None:
        raise InvalidArgument("an edit decision needs the edited payload")


def _raise_refusal(
    outcome: str, rest: list[str], *, run_id: str, escalation_id: str, user: str = ""
) -> None:
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
    if outcome == "moved":
        raise EscalationMoved(escalation_id, rest[0])
    if outcome == "duplicate":
        raise DuplicateApproval(escalation_id, user, int(rest[0]), int(rest[1]))


def _then_args(
    intent: Intent | None, partial: Intent | None, group: str | None, now: str, comment: str
) -> list[str]:
    """The decide script's arguments after the decision's own: intents, group, approval."""
    args = intent.args() if intent is not None else ["", ""]
    args += partial.args() if partial is not None else ["", ""]
    return [*args, group or "", json.dumps({"at": float(now), "comment": comment})]


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
        terms: EscalationTerms | None = None,
    ) -> Escalation:
        """Open an escalation on a run (and append ``escalation_created`` to its events).

        Idempotent per id: if ``escalation_id`` exists, the stored record is returned
        unchanged, so a node that re-runs on resume never resets a decision (or restarts a
        deadline). ``terms`` say who decides and by when (a deadline counts from now).

        Raises:
            UnknownRun: The run is not registered.
            RunFinished: The run's status is terminal.
        """
        esc_id = escalation_id or uuid.uuid4().hex
        created = utcnow()
        now = repr(to_epoch(created))
        fields = {
            "escalation_id": esc_id,
            "run_id": run_id,
            "kind": kind,
            "stage": stage or "",
            "request": json.dumps(request, allow_nan=False),
            "created_at": now,
            "version": "1",
        } | terms_fields(terms, created)
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
        return parse(fields)

    def _run_of(self, escalation_id: str) -> str:
        run_id = self._r.hget(_RUN_OF, escalation_id)
        if run_id is None:
            raise UnknownEscalation(escalation_id)
        return text(run_id)

    def _records(self, pairs: list[tuple[str, str]]) -> list[Escalation | None]:
        pipe = self._r.pipeline(transaction=False)
        for run_id, esc_id in pairs:
            pipe.hgetall(escalation_key(run_id, esc_id))
            pipe.hgetall(approvals_key(run_id, esc_id))
        replies = pipe.execute() if pairs else []
        fields, approvals = replies[::2], replies[1::2]
        return [
            parse(text_map(f), text_map(a)) if f else None
            for f, a in zip(fields, approvals, strict=True)
        ]

    def get(self, escalation_id: str, *, run_id: str | None = None) -> Escalation:
        """One escalation (``run_id`` saves a lookup when known).

        Raises:
            UnknownEscalation: No such escalation.
        """
        run_id = run_id or self._run_of(escalation_id)
        [found] = self._records([(run_id, escalation_id)])
        if found is None:
            raise UnknownEscalation(escalation_id)
        return found

    def for_run(self, run_id: str) -> list[Escalation]:
        """Every escalation of a run, oldest first."""
        ids = texts(self._r.zrange(run_key(run_id, "escs"), 0, -1))
        return [e for e in self._records([(run_id, i) for i in ids]) if e is not None]

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
            pipe.hgetall(approvals_key(run_id, esc_id))
            pipe.hget(run_hash_key(run_id), "status")
        replies = pipe.execute()
        pending: list[Escalation] = []
        stale: list[str] = []
        for i, esc_id in enumerate(ids):
            fields, approvals, status = replies[3 * i : 3 * i + 3]
            if not fields or fields.get("decided_by") or status in TERMINAL_STATUSES:
                stale.append(esc_id)
            else:
                pending.append(parse(text_map(fields), text_map(approvals)))
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
        partial: Intent | None = None,
        group: str | None = None,
    ) -> Escalation:
        """Record a decision; the first one wins (for an approval of M, the Mth approver's).

        ``action`` is ``approve``, ``edit`` (with ``edited``), ``reject`` or ``retry`` (an
        action whose outcome is unknown, when allowed), by ``user``: the authenticated human
        deciding, never an agent. ``intent`` (the audit entry, the resume job) is kept in the
        run's outbox and a waiting run queued, in the same script (complete it with
        ``ControlPlane.complete``); an approval short of M records ``partial`` instead and
        leaves the run waiting. ``group``: the group the decider was checked against.

        Returns:
            The escalation with its decision (``None`` after a partial approval) and version.

        Raises:
            UnknownEscalation, RunFinished: No such escalation; its run is finished or killed.
            EscalationConflict: Someone decided first (named in the error).
            DuplicateApproval: ``user`` already gave one of the approvals.
            EscalationMoved: Its group changed since ``group`` was checked.
            InvalidArgument: Bad action, missing user, or ``edit`` without ``edited``.
        """
        _check_decision(action, user, edited)
        run_id = run_id or self._run_of(escalation_id)
        now = repr(to_epoch(utcnow()))
        data = json.dumps({"escalation_id": escalation_id, "action": action, "user": user})
        edited_json = json.dumps(edited, allow_nan=False) if edited is not None else ""
        args = [_TERMINAL, self._maxlen, action, user, comment, edited_json, now, data]
        args += _then_args(intent, partial, group, now, comment)
        reply = self._decide(keys=_decide_keys(run_id, escalation_id), args=args)
        outcome, *rest = (text(x) for x in reply)
        _raise_refusal(outcome, rest, run_id=run_id, escalation_id=escalation_id, user=user)
        if outcome == "ok":
            self._r.zrem(_PENDING, escalation_id)
        return self.get(escalation_id, run_id=run_id)
