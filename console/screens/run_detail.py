"""Run detail: the workflow drawn and coloured by node status (live), each node's details, the
timeline, history, kill, fork. Its address, ``/run_detail?run=ID`` (``&node=NAME``), is a link
that can be shared.

The live parts refresh every few seconds while the run can still move, and stop once it is
over; the node selector sits between them, so a refresh never closes it.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from console.ui import actions
from console.ui.graph_view import cached_topology, draw, node_panel, node_picker, selected_node
from console.ui.guard import redis_guard
from console.ui.history_view import show_history
from console.ui.page import PageContext, decision_context, run_page
from console.ui.progress import node_status
from console.ui.replay_view import replay_box
from console.ui.views import md_escape, notify, show_event, usage_frame
from graph.draw import Topology
from graph.runtime.registry import UnknownWorkflowError
from state.control.errors import DamagedRun, UnknownRun
from state.control.models import RunEvent, RunRecord
from state.control.search import usage_of
from state.run_events import node_updates
from state.status import TERMINAL_STATUSES

REFRESH_S = 2
MAX_EVENTS = 2000
LAST = "detail.last"


def _on_run_id() -> None:
    run_id = str(st.session_state.get("detail.run", "")).strip()
    st.query_params.clear()
    if run_id:
        st.query_params["run"] = run_id


def _read(ctx: PageContext, run_id: str) -> tuple[RunRecord, list[RunEvent], Any]:
    cp = ctx.h.cp
    run = cp.runs.get(run_id)
    events = cp.events.read(run_id, count=MAX_EVENTS)
    pending = next((e for e in cp.escalations.for_run(run_id) if e.pending), None)
    return run, events, pending


def body(ctx: PageContext) -> None:
    """The run the address names (``?run=ID``): its drawing and node details, live while it
    can still move, then its kill box and history."""
    current = st.query_params.get("run", "")
    if st.session_state.get("detail.run") != current:
        st.session_state["detail.run"] = current  # the address wins (a link, back, a click)
    st.text_input("Run id", key="detail.run", on_change=_on_run_id)
    run_id = current.strip()
    if not run_id:
        st.info("Enter a run id, or pick a run on the Runs page.")
        return
    try:
        run = ctx.h.cp.runs.get(run_id)
    except UnknownRun:
        st.error("No run with this id.")
        return
    except DamagedRun as exc:
        st.error(str(exc))
        return
    last = st.session_state.pop(LAST, None)
    if last is not None:
        notify(last)
    every = None if run.status in TERMINAL_STATUSES else REFRESH_S
    try:
        topo: Topology | None = cached_topology(run.workflow, ctx.h.registry)
    except UnknownWorkflowError:
        topo = None
    st.fragment(run_every=every)(live_drawing)(ctx, run_id, topo, run.status)
    node = node_picker(topo) if topo is not None else None
    st.fragment(run_every=every)(live_node)(ctx, run_id, node)
    kill_box(ctx, run)
    replay_box(ctx, run)
    show_history(ctx, run_id)


def live_drawing(ctx: PageContext, run_id: str, topo: Topology | None, seen: str) -> None:
    """Where the run stands: its record, its pending question, the drawing."""
    with redis_guard():
        run, events, pending = _read(ctx, run_id)
        if run.status != seen and run.status in TERMINAL_STATUSES:
            st.rerun(scope="app")  # it is over: redraw the page once, then stop refreshing
        st.text(
            f"run {run.run_id}   workflow {run.workflow}   status {run.status}   "
            f"stage {run.stage or '-'}   started by {run.user or '-'}"
        )
        if run.reason:
            st.text(f"reason: {run.reason}")
        if run.status == "held":
            st.info(
                "This run is held: it goes on from its last checkpoint once the hold is released."
            )
            st.page_link("screens/kills.py", label="Kill and hold switches")
        if pending is not None and run.status not in TERMINAL_STATUSES:  # killed: no question
            esc_id = pending.escalation_id
            st.info("This run waits for a human decision.")
            st.page_link(
                "screens/inbox.py",
                label=f"Open escalation {md_escape(esc_id)}",
                query_params={"esc": esc_id},
            )
        if topo is None:
            st.warning("This console does not know the run's workflow: no drawing.")
            return
        updates = node_updates(events)
        draw(topo, run, node_status(updates, run, pending), updates, selected_node(topo))


def live_node(ctx: PageContext, run_id: str, node: str | None) -> None:
    """The picked node's details, and the whole timeline."""
    with redis_guard():
        run, events, pending = _read(ctx, run_id)
        if node is not None:
            node_panel(node, events, node_status(node_updates(events), run, pending))
        usage = usage_of(node_updates(events))
        if usage.tokens or usage.cost:
            with st.expander(f"Model usage: {usage.tokens} tokens, ${usage.cost:.4f}"):
                st.dataframe(usage_frame(usage), hide_index=True)
        with st.expander("Timeline", expanded=run.status in TERMINAL_STATUSES and node is None):
            for event in events:
                show_event(event)


def on_kill(run_id: str) -> None:
    """Form callback: kill this run (admins; checked on the server), before the page redraws."""
    ctx = decision_context()
    if ctx is None:
        return
    st.session_state[LAST] = actions.trip(
        ctx.h,
        ctx.who,
        "kill",
        "run",
        run_id,
        reason=str(st.session_state.get("detail.kill.reason", "")),
        confirmed=bool(st.session_state.get("detail.kill.confirm")),
    )


def kill_box(ctx: PageContext, run: RunRecord) -> None:
    """The kill form of a run that is not over, for admins only."""
    if not ctx.can("admin") or run.status in TERMINAL_STATUSES:
        return
    run_id = run.run_id
    with st.expander("Kill this run"), st.form("kill-run"):
        st.text_input("Reason", key="detail.kill.reason")
        st.checkbox("Yes, stop this run (killed is final)", key="detail.kill.confirm")
        st.form_submit_button("Kill run", type="primary", on_click=on_kill, args=(run_id,))


run_page("Run detail", body)
