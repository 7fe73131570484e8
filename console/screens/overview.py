"""Overview: live counts by status, runs waiting for a human, gate health, tripped switches."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from console.ui.guard import redis_guard
from console.ui.page import PageContext, run_page
from console.ui.stats import gate_stats
from console.ui.views import RUN_COLUMNS, md_escape, runs_frame, switches_frame
from state.status import RUN_STATUSES

REFRESH_S = 3
NEWEST = 5
NO_RUNS_YET = (
    "No runs yet. Start one on **Start a run** (procurement's `large_order` example stops for "
    "finance's approval), or from a terminal: `waybill run procurement --example small_order`."
)


def body(ctx: PageContext) -> None:
    """The live overview (everything on this page refreshes)."""
    live(ctx)


@st.fragment(run_every=REFRESH_S)
def live(ctx: PageContext) -> None:
    """Counts by status, runs and escalations waiting for a human, tripped switches, gate
    health; redrawn every ``REFRESH_S`` seconds."""
    with redis_guard():
        cp = ctx.h.cp
        counts = cp.runs.counts()
        cols = st.columns(len(RUN_STATUSES))
        for col, status in zip(cols, RUN_STATUSES, strict=True):
            col.metric(status, counts[status])
        if not any(counts.values()):  # a viewer cannot start one: just the fact
            st.info(NO_RUNS_YET if ctx.can("approver") else "No runs yet.")
        left, right = st.columns(2)
        with left:
            st.subheader("Waiting for a human")
            waiting = cp.runs.list(status="waiting", limit=20)
            pending = cp.escalations.list_pending(limit=NEWEST, newest=True)
            total = cp.escalations.count_pending()
            st.text(f"{counts['waiting']} run(s) waiting; {total} escalation(s) pending")
            for esc in pending:
                st.page_link(
                    "screens/inbox.py",
                    label=md_escape(f"Escalation {esc.escalation_id} (run {esc.run_id})"),
                    query_params={"esc": esc.escalation_id},
                )
            if waiting.items:
                st.dataframe(
                    runs_frame(waiting.items),
                    hide_index=True,
                    column_config=RUN_COLUMNS,
                    key="waiting",
                )
            st.subheader("Tripped kill and hold switches")
            switches = cp.kills.list(kind=None)
            if switches:
                st.dataframe(switches_frame(switches), hide_index=True, key="switches")
            else:
                st.text("none")
        with right:
            st.subheader("Gates (recent runs)")
            stats = gate_stats(cp)
            rate = "-" if stats.pass_rate is None else f"{stats.pass_rate:.0%}"
            st.metric("gate pass rate", rate)
            st.text(
                f"{stats.verdicts} verdict(s) over the {stats.runs} newest run(s): "
                + ", ".join(f"{k} {v}" for k, v in sorted(stats.decisions.items()))
            )
            st.caption("MAST failure modes detected")
            if stats.mast:
                st.bar_chart(pd.Series(stats.mast, name="verdicts"), x_label="MAST code")
            else:
                st.text("none detected")


run_page("Overview", body)
