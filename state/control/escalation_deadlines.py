"""What a decision deadline does to an escalation: remind once, hold it, or hand it over.

Each operation is one Lua script on the run's own keys, and each applies only to the deadline
*round* it was scheduled for (round 1 is the owning group's, round 2 the backup group's after
a handover), and only while the escalation is open (undecided, its run not finished, not
held). So a job that fires twice, late, or after a decision does nothing: a reminder is sent
once per round, and a deadline's default applies once. Deciding ("reject by default") is the
run service's job; a hold and a handover happen here.
"""

from __future__ import annotations

import json
from typing import Literal

import redis

from state.clock import utcnow
from state.control.escalation_records import deadline_fields, escalation_key
from state.control.escalation_scripts import (
    HAND_OVER_ESCALATION,
    HOLD_ESCALATION,
    MARK_REMINDED,
)
from state.control.events import events_key
from state.control.models import to_epoch
from state.control.runs import run_hash_key
from state.decisions import DecisionDeadline
from state.status import TERMINAL_STATUSES

_TERMINAL = " ".join(sorted(TERMINAL_STATUSES))

DeadlineStep = Literal["ok", "unknown", "decided", "finished", "stale", "held"]
"""What a deadline operation found: ``ok`` (done now), or why it did nothing."""


class EscalationDeadlines:
    """Reminders, holds and handovers of escalations whose deadline comes or came."""

    def __init__(self, client: redis.Redis, *, events_maxlen: int = 0) -> None:
        self._r = client
        self._maxlen = str(events_maxlen)
        self._remind = client.register_script(MARK_REMINDED)
        self._hold = client.register_script(HOLD_ESCALATION)
        self._hand_over = client.register_script(HAND_OVER_ESCALATION)

    def claim_reminder(self, run_id: str, escalation_id: str, round_no: int) -> bool:
        """True for the one caller that is to send the round's reminder (open escalations)."""
        keys = [escalation_key(run_id, escalation_id), run_hash_key(run_id)]
        return bool(int(self._remind(keys=keys, args=[_TERMINAL, str(round_no)])))

    def hold(self, run_id: str, escalation_id: str, round_no: int, reason: str) -> DeadlineStep:
        """Mark the escalation held: it stays open (the run keeps waiting), unreminded."""
        now = repr(to_epoch(utcnow()))
        data = json.dumps({"escalation_id": escalation_id, "reason": reason})
        keys = [escalation_key(run_id, escalation_id), run_hash_key(run_id), events_key(run_id)]
        args = [_TERMINAL, str(round_no), self._maxlen, now, reason, data]
        step: DeadlineStep = self._step(self._hold(keys=keys, args=args))
        return step

    def hand_over(
        self, run_id: str, escalation_id: str, round_no: int, policy: DecisionDeadline
    ) -> DeadlineStep:
        """Give the escalation to ``policy.backup_group`` with a new deadline (round 2)."""
        if not policy.backup_group:
            raise ValueError("a handover needs a backup group")
        now = utcnow()
        data = json.dumps({"escalation_id": escalation_id, "to": policy.backup_group})
        keys = [escalation_key(run_id, escalation_id), run_hash_key(run_id), events_key(run_id)]
        args = [_TERMINAL, str(round_no), self._maxlen, repr(to_epoch(now))]
        args += [policy.backup_group, data]
        for key, value in deadline_fields(policy, now, round_no=round_no + 1).items():
            args += [key, value]
        args += ["reminded", ""]
        step: DeadlineStep = self._step(self._hand_over(keys=keys, args=args))
        return step

    @staticmethod
    def _step(reply: object) -> DeadlineStep:
        value = reply.decode() if isinstance(reply, bytes) else str(reply)
        if value not in ("ok", "unknown", "decided", "finished", "stale", "held"):
            raise ValueError(f"unexpected deadline script reply {value!r}")
        return value  # type: ignore[return-value]
