"""What the inbox says about an escalation besides its question: who decides (and who then,
when the group has nobody who may), how many approvals it has, its deadline (a countdown),
whether it is held, a veto window's countdown, and that its run ended undecided.

Countdowns and holds are shown only while the escalation can still be decided: not once it is
decided, nor when its run ended (killed, failed...) before anyone decided.

Plain text built from the escalation's record and its run (no Streamlit here), so the list, the
focused view and the tests read the same lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from state.control.models import Escalation, RunRecord
from state.status import TERMINAL_STATUSES

THEN = {
    "reject": "rejected by default",
    "hold": "the run is held (it keeps waiting, unreminded)",
    "handover": "handed over to group {backup}",
}

ENDED = {
    "killed": "was killed",
    "failed": "failed",
    "succeeded": "succeeded",
    "rejected": "was rejected",
}
"""How the run of an undecided escalation ended, by its terminal status."""


@dataclass(frozen=True)
class Staffing:
    """What the inbox knows of the approver groups: those with no member who may decide
    (approver role or above), and whether admins outside a group may decide then."""

    empty: frozenset[str] = frozenset()
    admin_fallback: bool = True


def ended_line(esc: Escalation, run: RunRecord | None) -> str | None:
    """``the run was killed: this escalation can no longer be decided``, for an undecided
    escalation whose run ended (the server refuses any decision on it)."""
    if not esc.pending or run is None or run.status not in TERMINAL_STATUSES:
        return None
    return f"the run {ENDED[run.status]}: this escalation can no longer be decided"


def decidable(esc: Escalation, run: RunRecord | None) -> bool:
    """True while a decision may still be taken: nobody decided and the run did not end (an
    unknown run counts as not ended: the server has the last word)."""
    return esc.pending and ended_line(esc, run) is None


def span(seconds: float) -> str:
    """``45s``, ``3m 05s``, ``2h 10m``: a duration for a countdown."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


def veto_countdown(esc: Escalation, now: datetime | None = None) -> str | None:
    """``veto window: runs in 12s unless vetoed (at 10:00:12 UTC)``, for a notify-tier action."""
    raw = esc.request.get("deadline")
    if esc.kind != "veto" or not raw:
        return None
    ends = datetime.fromisoformat(str(raw))
    left = (ends - (now or datetime.now(UTC))).total_seconds()
    at = f"{ends:%H:%M:%S} UTC"
    if left <= 0:
        return f"veto window over at {at}: the action runs now unless it was vetoed"
    return f"veto window: the action runs in {span(left)} unless vetoed (at {at})"


def deciders_line(esc: Escalation, run: RunRecord | None, staffing: Staffing | None = None) -> str:
    """Who decides (and, per ``staffing``, who when the group has nobody who may), and the
    approvals so far when more than one is needed."""
    who = f"group {esc.group}" if esc.group else "any approver"
    line = f"decided by: {who}"
    if staffing is not None and esc.group in staffing.empty:
        line += (
            ", which has no members who may decide: admins may (the admin fallback)"
            if staffing.admin_fallback
            else ", which has no members who may decide: nobody can while the admin fallback "
            "is off (WAYBILL_ADMIN_FALLBACK)"
        )
    if esc.approvals_needed > 1:
        names = ", ".join(a.user for a in esc.approvals) or "none yet"
        line += f"; {esc.approvals_needed} approvals needed, {len(esc.approvals)} so far ({names})"
    if esc.four_eyes and run is not None and run.user:
        line += f"; four eyes: {run.user} (who started the run) may not approve"
    if esc.four_eyes and esc.authors:
        line += f"; nor {', '.join(esc.authors)} (edited what it acts on)"
    return line


def deadline_line(esc: Escalation, now: datetime | None = None) -> str | None:
    """The decision deadline as a countdown, what happens then, and a hold or handover."""
    if esc.held_at is not None:
        return (
            f"HELD since {esc.held_at:%Y-%m-%d %H:%M:%S} UTC: its deadline passed and the run "
            "waits for a decision (no more reminders)"
        )
    deadline = esc.deadline
    if deadline is None:
        return None
    then = THEN[deadline.then].format(backup=deadline.policy.backup_group or "?")
    left = (deadline.due_at - (now or datetime.now(UTC))).total_seconds()
    moved = f" (handed over from group {esc.handed_over_from})" if esc.handed_over_from else ""
    at = f"{deadline.due_at:%H:%M:%S} UTC"
    if left <= 0:
        return f"deadline passed at {at}{moved}: {then}"
    return f"decide within {span(left)} (by {at}){moved}; then: {then}"


def meta_lines(
    esc: Escalation,
    run: RunRecord | None,
    now: datetime | None = None,
    staffing: Staffing | None = None,
) -> list[str]:
    """Every line above, in order (those that apply): the deadline, hold and veto window only
    while the escalation can be decided, else why it cannot be when its run ended."""
    if not decidable(esc, run):
        ended = ended_line(esc, run)
        return [deciders_line(esc, run), *([ended] if ended else [])]
    lines = [deciders_line(esc, run, staffing)]
    for line in (deadline_line(esc, now), veto_countdown(esc, now)):
        if line:
            lines.append(line)
    return lines
