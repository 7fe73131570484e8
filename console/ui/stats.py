"""Gate pass rate and MAST histogram over recent verdicts (the overview page).

Verdicts live in each run's ``node`` events; the overview reads the event streams of the most
recent runs in one pipeline, so its cost is bounded by ``runs`` whatever the history size.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from state.control.events import events_key
from state.control.plane import ControlPlane
from state.run_events import VerdictGiven, parse_node_update
from state.verdicts import GateVerdict


@dataclass(frozen=True)
class GateStats:
    """Counts over the verdicts of recent runs."""

    runs: int
    verdicts: int
    decisions: dict[str, int] = field(default_factory=dict)
    mast: dict[str, int] = field(default_factory=dict)

    @property
    def pass_rate(self) -> float | None:
        """Share of verdicts that passed (``None`` when there are none)."""
        return self.decisions.get("pass", 0) / self.verdicts if self.verdicts else None


def verdicts_in(events: list[tuple[str, dict[str, str]]]) -> list[GateVerdict]:
    """The verdicts found in raw stream entries (``XRANGE`` replies)."""
    out: list[GateVerdict] = []
    for _id, fields in events:
        if fields.get("kind") != "node":
            continue
        try:
            data = json.loads(fields.get("data") or "{}")
        except ValueError:
            continue
        update = parse_node_update(data) if isinstance(data, dict) else None
        if update is not None:
            out += [given.verdict for given in update.of_kind(VerdictGiven)]
    return out


def gate_stats(cp: ControlPlane, *, runs: int = 50, per_run: int = 500) -> GateStats:
    """Pass rate and MAST codes over the verdicts of the ``runs`` newest runs."""
    page = cp.runs.list(limit=runs)
    pipe = cp.client.pipeline(transaction=False)
    for run in page.items:
        pipe.xrange(events_key(run.run_id), count=per_run)
    decisions: Counter[str] = Counter()
    mast: Counter[str] = Counter()
    total = 0
    for entries in pipe.execute() if page.items else []:
        for verdict in verdicts_in(entries):
            total += 1
            decisions[verdict.decision] += 1
            mast.update(verdict.mast)
    return GateStats(len(page.items), total, dict(decisions), dict(sorted(mast.items())))
