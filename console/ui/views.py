"""Read-only views of runs, verdicts and escalations, safe for agent-produced text.

Agent text (payloads, rationales, gate reasons that quote them) is shown only through
``st.text``, ``st.code``, ``st.json`` and dataframes: never markdown, never HTML, so it can carry
no link, image or script. Labels (expanders, metrics) hold only our own identifiers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from html import escape
from typing import Any

import pandas as pd
import streamlit as st

from console.timeline import describe
from console.ui.escalation_meta import Staffing, meta_lines
from console.web.links import run_url
from state.control.models import Escalation, KillSwitch, RunEvent, RunRecord
from state.control.search import Usage
from state.run_events import AgentDecided, HandoffProposed, VerdictGiven, parse_node_update
from state.verdicts import GateVerdict

MD_SPECIALS = set("\\`*_{}[]()<>#+-.!|~$&:\"'")


def md_escape(value: object) -> str:
    """Text safe to embed in a markdown string (every markdown/HTML special escaped)."""
    return "".join(f"\\{ch}" if ch in MD_SPECIALS else ch for ch in str(value))


def html_link(href: str, text: str) -> None:
    """A plain link to one of our own addresses, opened in this tab (a full page load).

    For links to the page being shown (``st.page_link`` does nothing there). ``href`` is built
    by ``console.web.links`` from ids; both it and ``text`` are HTML-escaped.
    """
    style = "color:#1d4ed8;text-decoration:none;font-weight:600;overflow-wrap:anywhere"
    st.html(f'<a href="{escape(href)}" style="{style}">{escape(text)}</a>')


def notify(outcome: Any) -> None:
    """Show an action's outcome (``actions.Outcome``) as a success or error box."""
    (st.success if outcome.ok else st.error)(md_escape(outcome.message))


def age(ts: datetime, now: datetime | None = None) -> str:
    """``3s``, ``5m``, ``2h``, ``4d``: how long ago."""
    seconds = max(0, int(((now or datetime.now(UTC)) - ts).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def switches_frame(switches: list[KillSwitch]) -> pd.DataFrame:
    """The tripped kill and hold switches table."""
    return pd.DataFrame(
        [
            {
                "switch": f"{s.scope}:{s.target}",
                "kind": s.kind,
                "by": s.user,
                "reason": s.reason,
                "at": s.tripped_at.strftime("%Y-%m-%d %H:%M:%S"),
            }
            for s in switches
        ]
    )


RUN_COLUMNS = {
    "run": st.column_config.LinkColumn("run", display_text=r"run=([^&]+)"),
}
"""``column_config`` of a :func:`runs_frame`: the run column links to the run's page and shows
its id (the link is built from the id, URL-encoded; agent text is never a link)."""


def runs_frame(
    runs: list[RunRecord],
    now: datetime | None = None,
    usage: Mapping[str, Usage] | None = None,
) -> pd.DataFrame:
    """The runs table (one row per run; the ``run`` column holds the run's address, shown as
    its id with :data:`RUN_COLUMNS`, everything else is plain text); ``usage`` adds the tokens
    and cost each run's agents reported."""
    spent = usage or {}
    rows = [
        {
            "run": run_url(r.run_id),
            "workflow": r.workflow,
            "status": r.status,
            "waiting": "yes" if r.status == "waiting" else "",
            "stage": r.stage or "",
            "age": age(r.created_at, now),
            "updated": age(r.updated_at, now),
            "user": r.user or "",
            "tokens": spent[r.run_id].tokens if r.run_id in spent else None,
            "cost $": round(spent[r.run_id].cost, 4) if r.run_id in spent else None,
            "input": r.input_summary,
        }
        for r in runs
    ]
    columns = ["run", "workflow", "status", "waiting", "stage", "age", "updated", "user"]
    columns += ["tokens", "cost $", "input"]
    return pd.DataFrame(rows, columns=columns)


def usage_frame(usage: Usage) -> pd.DataFrame:
    """Tokens and cost per stage, and the run's total."""
    rows = [
        {"stage": stage, "tokens": u.tokens, "cost $": round(u.cost, 4)}
        for stage, u in usage.by_stage.items()
    ]
    rows.append({"stage": "(run)", "tokens": usage.tokens, "cost $": round(usage.cost, 4)})
    return pd.DataFrame(rows, columns=["stage", "tokens", "cost $"])


def failed_checks_frame(verdict: GateVerdict) -> pd.DataFrame:
    """The failed checks of one verdict."""
    rows = [
        {
            "check": c.check,
            "name": c.name,
            "on fail": c.on_fail,
            "MAST": ", ".join(c.mast),
            "detail": c.detail,
        }
        for c in verdict.failed
    ]
    return pd.DataFrame(rows, columns=["check", "name", "on fail", "MAST", "detail"])


def show_verdict(verdict: GateVerdict) -> None:
    """A gate verdict: decision, MAST codes, reasons and its failed checks."""
    mast = ", ".join(verdict.mast) or "none"
    st.text(f"{verdict.node}: {verdict.decision.upper()}  MAST: {mast}  score: {verdict.score}")
    for reason in verdict.reasons:
        st.text(f"  reason: {reason}")
    failed = failed_checks_frame(verdict)
    if not failed.empty:
        st.dataframe(failed, hide_index=True)


def show_event(event: RunEvent) -> None:
    """One timeline entry."""
    stamp = event.ts.strftime("%H:%M:%S")
    update = parse_node_update(event.data) if event.kind == "node" else None
    if update is None:
        detail = json.dumps(event.data, sort_keys=True, default=str)
        st.text(f"{stamp}  {event.kind}  {event.stage or ''}  {detail}")
        return
    node = update.node.name
    lines = describe(update, verdicts=False)
    st.text(f"{stamp}  {node}\n" + "\n".join(lines) if lines else f"{stamp}  {node}")
    for handoff in update.of_kind(HandoffProposed):
        with st.expander(f"payload #{handoff.seq} ({md_escape(handoff.contract)})"):
            st.json(handoff.payload, expanded=True)
    for decided in update.of_kind(AgentDecided):
        with st.expander(f"decision record of {md_escape(decided.record.stage or node)}"):
            st.json(decided.record.model_dump(mode="json"), expanded=True)
    for given in update.of_kind(VerdictGiven):
        show_verdict(given.verdict)


def show_escalation(
    esc: Escalation, run: RunRecord | None = None, staffing: Staffing | None = None
) -> None:
    """What a human reads before deciding: what, why, who decides and by when (while it can
    be decided), proposal, verdict, envelope rule."""
    req = esc.request
    st.text(f"what: {req.get('what', '')}")
    for why in req.get("why") or []:
        st.text(f"why: {why}")
    meta = [
        f"run: {esc.run_id}",
        f"kind: {esc.kind}",
        f"stage: {req.get('stage', '')}",
        f"tier: {req.get('tier') or '-'}",
        f"envelope rule: {req.get('envelope_rule') or '-'}",
        f"allowed: {', '.join(req.get('allowed') or [])}",
    ]
    st.text("   ".join(meta))
    for line in meta_lines(esc, run, staffing=staffing):
        st.text(line)
    st.caption("Proposed")
    st.json(req.get("proposed") or {}, expanded=True)
    verdict = req.get("verdict")
    if isinstance(verdict, dict):
        st.caption("Gate verdict that raised it")
        show_verdict(GateVerdict.model_validate(verdict))
