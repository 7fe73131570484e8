"""Run detail: the workflow coloured by node status (live), the timeline, history, kill, fork."""

from __future__ import annotations

import streamlit as st

from console.ui import actions
from console.ui.guard import redis_guard
from console.ui.history_view import show_history
from console.ui.page import PageContext, run_page
from console.ui.progress import node_status
from console.ui.views import notify, show_event
from graph.draw import dot
from graph.runtime.events import updates_of
from graph.runtime.registry import UnknownWorkflowError
from state.control.errors import UnknownRun
from state.status import TERMINAL_STATUSES

REFRESH_S = 2
LEGEND = (
    "grey: pending · yellow: running · green: passed · orange: revised · blue: waiting for a "
    "human · red: failed  (diamonds are gates, octagons human reviews; any node can also end "
    "the run — block, reject, kill — drawn only when it did)"
)
MAX_EVENTS = 2000


def body(ctx: PageContext) -> None:
    current = st.query_params.get("run", "")
    run_id = st.text_input("Run id", value=current, key="detail.run").strip()
    if run_id != current:
        st.query_params["run"] = run_id
    if not run_id:
        st.info("Enter a run id, or pick a run on the Runs page.")
        return
    try:
        ctx.h.cp.runs.get(run_id)
    except UnknownRun:
        st.error("No run with this id.")
        return
    live(ctx, run_id)
    kill_box(ctx, run_id)
    show_history(ctx, run_id)


@st.fragment(run_every=REFRESH_S)
def live(ctx: PageContext, run_id: str) -> None:
    with redis_guard():
        cp = ctx.h.cp
        run = cp.runs.get(run_id)
        events = cp.events.read(run_id, count=MAX_EVENTS)
        pending = next((e for e in cp.escalations.for_run(run_id) if e.pending), None)
        st.text(
            f"run {run.run_id}   workflow {run.workflow}   status {run.status}   "
            f"stage {run.stage or '-'}   started by {run.user or '-'}"
        )
        if run.reason:
            st.text(f"reason: {run.reason}")
        try:
            chain = ctx.h.registry.get(run.workflow)
        except UnknownWorkflowError:
            st.warning("This console does not know the run's workflow: no drawing.")
        else:
            status = node_status(updates_of(events), run, pending)
            st.graphviz_chart(dot(chain, status), use_container_width=True)
            st.caption(LEGEND)
        if pending is not None:
            st.info("This run waits for a human decision: see the Escalations page.")
        with st.expander("Timeline", expanded=run.status in TERMINAL_STATUSES):
            for event in events:
                show_event(event)


def kill_box(ctx: PageContext, run_id: str) -> None:
    if not ctx.can("admin"):
        return
    with st.expander("Kill this run"), st.form("kill-run"):
        reason = st.text_input("Reason", key="detail.kill.reason")
        confirm = st.checkbox("Yes, stop this run (killed is final)", key="detail.kill.confirm")
        if st.form_submit_button("Kill run", type="primary"):
            out = actions.kill(ctx.h, ctx.who, "run", run_id, reason=reason, confirmed=confirm)
            notify(out)


run_page("Run detail", body)
