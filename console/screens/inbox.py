"""Escalations inbox: what each paused run asks, newest first, live; approve / edit / reject.

The list refreshes on its own (a fragment), and holds only text and buttons, so a refresh can
never take away something half typed: the comment and the edit form live on the escalation's
own view (``/inbox?esc=ID``, a shareable link), outside the refreshing part.
"""

from __future__ import annotations

import streamlit as st

from console.ui.decide import decide_box, decision_buttons, show_last
from console.ui.escalation_meta import Staffing, decidable, ended_line, veto_countdown
from console.ui.guard import redis_guard, show_outage
from console.ui.inbox_data import InboxItem, filter_items, pending_items, staffing
from console.ui.page import PageContext, run_page
from console.ui.views import age, html_link, md_escape, show_escalation
from console.web.links import escalation_url
from graph.runtime.deciding import verb
from state.control.errors import DamagedRun, UnknownEscalation, UnknownRun
from state.control.models import Escalation, RunRecord

REFRESH_S = 3
ALL = "all"


def _links(esc_id: str, run_id: str, note: str) -> None:
    left, mid, right = st.columns([3, 3, 2])
    with left:  # the same page with another address: a plain link (a page link does nothing)
        html_link(escalation_url(esc_id), f"Escalation {esc_id}")
    mid.page_link(
        "screens/run_detail.py", label=f"run {md_escape(run_id)}", query_params={"run": run_id}
    )
    right.caption(md_escape(note))


def _card(ctx: PageContext, item: InboxItem, mine: frozenset[str], staffed: Staffing) -> None:
    esc = item.esc
    with st.container(border=True, key=f"esc.{esc.escalation_id}"):
        _links(esc.escalation_id, esc.run_id, f"{item.workflow} · {age(esc.created_at)} ago")
        show_escalation(esc, item.run, staffed)
        if ctx.can("approver") and decidable(esc, item.run):
            decision_buttons(ctx, esc, item.run, mine)
            st.caption("To comment or edit before deciding, open the escalation.")


@st.fragment(run_every=REFRESH_S)
def live(
    ctx: PageContext, workflow: str | None, user: str | None, groups: set[str] | None, focused: str
) -> None:
    """The pending list (and this session's last decision), redrawn every few seconds."""
    if show_outage():  # a click on a card found Redis down (such a click reruns only this part)
        return
    with redis_guard():
        show_last()
        items = pending_items(ctx.h.cp)
        in_all = max(ctx.h.cp.escalations.count_pending(), len(items))
        shown = filter_items(items, workflow=workflow, user=user, groups=groups)
        total = f"{len(shown)} pending escalation(s), newest first"
        st.text(total + (f" ({in_all} in all)" if len(shown) != in_all else ""))
        deciding = ctx.can("approver")
        if not deciding:
            st.info("You can read escalations; deciding needs the approver role.")
        # The user's groups, read once for every card's buttons (a viewer has none to draw).
        mine = frozenset(ctx.h.cp.groups.groups_of(ctx.user.name) if shown and deciding else ())
        staffed = _staffing(ctx, [item.esc for item in shown])
        for item in shown:
            if item.esc.escalation_id != focused:  # that one is open above, with its form
                _card(ctx, item, mine, staffed)


def _staffing(ctx: PageContext, escs: list[Escalation]) -> Staffing:
    """Which of their groups have nobody who may decide (and whether admins then may)."""
    fallback = ctx.h.service.admin_fallback
    return staffing(ctx.h.cp, [e.group for e in escs], admin_fallback=fallback)


@st.fragment(run_every=1)
def _countdown(ctx: PageContext, esc_id: str) -> None:
    """The veto window's countdown, every second."""
    with redis_guard():
        line = veto_countdown(ctx.h.cp.escalations.get(esc_id))
        if line:
            st.text(line)


@st.fragment(run_every=REFRESH_S)
def _still_pending(ctx: PageContext, esc_id: str) -> None:
    with redis_guard():
        esc = ctx.h.cp.escalations.get(esc_id)
        ended = ended_line(esc, _run_of(ctx, esc.run_id))
        if ended:  # killed (or ended) since this view was drawn
            st.warning(md_escape(f"Meanwhile {ended}; a decision from here will be refused."))
        if esc.approvals:
            names = ", ".join(a.user for a in esc.approvals)
            st.text(f"approvals so far: {len(esc.approvals)} of {esc.approvals_needed} ({names})")
        if esc.decision is not None:
            st.warning(
                md_escape(
                    f"Decided meanwhile: {verb(esc, esc.decision.action)} by {esc.decision.user}; "
                    "a decision from here will be refused."
                )
            )


def _focused(ctx: PageContext, esc_id: str) -> None:
    try:
        esc = ctx.h.cp.escalations.get(esc_id)
    except UnknownEscalation:
        st.error(md_escape(f"No escalation with the id {esc_id}."))
        return
    with st.container(border=True, key=f"focus.{esc_id}"):
        run = _run_of(ctx, esc.run_id)
        _links(esc_id, esc.run_id, f"{_state(esc, run)} · raised {age(esc.created_at)} ago")
        show_escalation(esc, run, _staffing(ctx, [esc]) if decidable(esc, run) else None)
        if esc.kind == "veto" and decidable(esc, run):
            _countdown(ctx, esc_id)
        if esc.decision is not None:
            d = esc.decision
            said = verb(esc, d.action)
            st.text(f"decided: {said} by {d.user} at {d.decided_at:%Y-%m-%d %H:%M:%S} UTC")
            if d.comment:
                st.text(f"comment: {d.comment}")
        elif ctx.can("approver") and decidable(esc, run):
            _still_pending(ctx, esc_id)
            decide_box(ctx, esc, run)


def _state(esc: Escalation, run: RunRecord | None) -> str:
    """``pending``, ``decided``, or ``run killed`` (undecided, and it can no longer be)."""
    if not esc.pending:
        return "decided"
    return "pending" if decidable(esc, run) or run is None else f"run {run.status}"


def _run_of(ctx: PageContext, run_id: str) -> RunRecord | None:
    try:
        return ctx.h.cp.runs.get(run_id)
    except (UnknownRun, DamagedRun):
        return None


def _filters(ctx: PageContext) -> tuple[str | None, str | None, set[str] | None]:
    left, mid, right = st.columns([3, 2, 2])
    names = sorted(set(ctx.h.registry.names()) | set(ctx.h.cp.runs.workflows()))
    workflow = left.selectbox("Workflow", [ALL, *names], key="inbox.workflow")
    mine = mid.toggle("Only runs I started", key="inbox.mine")
    mine_to_decide = right.toggle("Only my groups'", key="inbox.groups")
    groups = set(ctx.h.cp.groups.groups_of(ctx.user.name)) if mine_to_decide else None
    return (None if workflow == ALL else workflow), (ctx.user.name if mine else None), groups


def body(ctx: PageContext) -> None:
    """The escalation the address names (``?esc=ID``), if any, then the filtered live list."""
    focused = st.query_params.get("esc", "").strip()
    if focused:
        _focused(ctx, focused)
        html_link("/inbox", "All pending escalations")
        st.divider()
    workflow, user, groups = _filters(ctx)
    live(ctx, workflow, user, groups, focused)


run_page("Escalations", body)
