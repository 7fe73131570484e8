"""Run detail: the workflow drawn and coloured by node status (live), each node's details, the
timeline, history, kill, fork. Its address, ``/run_detail?run=ID`` (``&node=NAME``), is a link
that can be shared."""

from __future__ import annotations

import streamlit as st

from console.ui import actions
from console.ui.graph_view import cached_topology, draw, node_panel, selected_node
from console.ui.guard import redis_guard
from console.ui.history_view import show_history
from console.ui.page import PageContext, decision_context, run_page
from console.ui.progress import node_status
from console.ui.views import md_escape, notify, show_event
from graph.events import updates_of
from graph.registry import UnknownWorkflowError
from state.control.errors import UnknownRun
from state.control.models import TERMINAL_STATUSES

REFRESH_S = 2
MAX_EVENTS = 2000
LAST = "detail.last"


def _on_run_id() -> None:
    run_id = str(st.session_state.get("detail.run", "")).strip()
    st.query_params.clear()
    if run_id:
        st.query_params["run"] = run_id


def body(ctx: PageContext) -> None:
    current = st.query_params.get("run", "")
    if st.session_state.get("detail.run") != current:
        st.session_state["detail.run"] = current  # the address wins (a link, back, a click)
    st.text_input("Run id", key="detail.run", on_change=_on_run_id)
    run_id = current.strip()
    if not run_id:
        st.info("Enter a run id, or pick a run on the Runs page.")
        return
    try:
        ctx.h.cp.runs.get(run_id)
    except UnknownRun:
        st.error("No run with this id.")
        return
    last = st.session_state.pop(LAST, None)
    if last is not None:
        notify(last)
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
        if pending is not None:
            esc_id = pending.escalation_id
            st.info("This run waits for a human decision.")
            st.page_link(
                "screens/inbox.py",
                label=f"Open escalation {md_escape(esc_id)}",
                query_params={"esc": esc_id},
            )
        try:
            topo = cached_topology(run.workflow, ctx.h.registry)
        except UnknownWorkflowError:
            st.warning("This console does not know the run's workflow: no drawing.")
        else:
            updates = updates_of(events)
            status = node_status(updates, run, pending)
            draw(topo, run, status, updates, selected_node(topo))
            node_panel(topo, events, status)
        with st.expander("Timeline", expanded=run.status in TERMINAL_STATUSES):
            for event in events:
                show_event(event)


def on_kill(run_id: str) -> None:
    """Form callback: kill this run (admins; checked on the server), before the page redraws."""
    ctx = decision_context()
    if ctx is None:
        return
    st.session_state[LAST] = actions.kill(
        ctx.h,
        ctx.who,
        "run",
        run_id,
        reason=str(st.session_state.get("detail.kill.reason", "")),
        confirmed=bool(st.session_state.get("detail.kill.confirm")),
    )


def kill_box(ctx: PageContext, run_id: str) -> None:
    if not ctx.can("admin"):
        return
    with st.expander("Kill this run"), st.form("kill-run"):
        st.text_input("Reason", key="detail.kill.reason")
        st.checkbox("Yes, stop this run (killed is final)", key="detail.kill.confirm")
        st.form_submit_button("Kill run", type="primary", on_click=on_kill, args=(run_id,))


run_page("Run detail", body)
