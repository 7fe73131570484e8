"""What the inbox lists: pending escalations with their runs, newest first, filtered.

The inbox reads the newest pending escalations (``Escalations.list_pending(newest=True)``), so a
new one is always listed however many older ones wait, says how many there are in all
(``count_pending``), and filters by the run's workflow and by who started it ("mine"), so each
escalation is paired with its run record (the waiting runs in one page read, any other run on
its own).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from console.ui.escalation_meta import Staffing
from graph.runtime.eligibility import group_deciders
from state.control.errors import DamagedRun, UnknownRun
from state.control.models import Escalation, RunRecord
from state.control.plane import ControlPlane

LIMIT = 1000


@dataclass(frozen=True)
class InboxItem:
    """One pending escalation and its run (``None`` when the run record is gone)."""

    esc: Escalation
    run: RunRecord | None

    @property
    def workflow(self) -> str:
        """The run's workflow (``""`` when the run record is gone)."""
        return self.run.workflow if self.run else ""


def pending_items(cp: ControlPlane, *, limit: int = LIMIT) -> list[InboxItem]:
    """Pending escalations (up to ``limit``), newest first, each with its run."""
    pending = cp.escalations.list_pending(limit=limit, newest=True)
    if not pending:
        return []
    runs = {r.run_id: r for r in cp.runs.list(status="waiting", limit=limit).items}
    items = []
    for esc in pending:
        run = runs.get(esc.run_id)
        if run is None:
            try:
                run = runs[esc.run_id] = cp.runs.get(esc.run_id)
            except (UnknownRun, DamagedRun):
                run = None
        items.append(InboxItem(esc, run))
    return items


def filter_items(
    items: list[InboxItem],
    *,
    workflow: str | None = None,
    user: str | None = None,
    groups: set[str] | None = None,
) -> list[InboxItem]:
    """Only ``workflow``'s escalations, only those of runs ``user`` started, and only those one
    of ``groups`` decides (each filter when given)."""
    return [
        item
        for item in items
        if (workflow is None or item.workflow == workflow)
        and (user is None or (item.run is not None and item.run.user == user))
        and (groups is None or item.esc.group in groups)
    ]


def staffing(cp: ControlPlane, groups: Iterable[str | None], *, admin_fallback: bool) -> Staffing:
    """Which of ``groups`` have no member who may decide (each distinct group read once), and
    whether the admin fallback then lets admins decide."""
    empty = frozenset(g for g in set(groups) if g and not group_deciders(cp, g))
    return Staffing(empty=empty, admin_fallback=admin_fallback)
