"""Escalations inbox: what each paused run asks, and approve / edit / reject.

Not auto-refreshing on purpose: a form must not vanish while a human is reading or typing.
A decision that lost the race to another approver says who decided first.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from console.ui import actions
from console.ui.forms import contract_form, show_field_errors
from console.ui.page import PageContext, run_page
from console.ui.views import md_escape, show_escalation
from graph.registry import UnknownWorkflowError
from state.control.errors import UnknownRun
from state.control.models import Escalation

LAST = "inbox.last"


def _remember(esc_id: str, outcome: actions.Outcome) -> None:
    st.session_state[LAST] = (esc_id, outcome)


def _show_last() -> None:
    last = st.session_state.get(LAST)
    if not last:
        return
    esc_id, out = last
    box = st.success if out.ok else st.error
    box(md_escape(f"Escalation {esc_id}: {out.message}"))
    if out.field_errors:
        show_field_errors(out.field_errors)


def _contract(ctx: PageContext, esc: Escalation) -> Any:
    try:
        workflow = ctx.h.cp.runs.get(esc.run_id).workflow
        return ctx.h.registry.get(workflow).stage(str(esc.request.get("stage"))).produces
    except (UnknownRun, UnknownWorkflowError, KeyError):
        return None


def _edit(ctx: PageContext, esc: Escalation, comment: str) -> None:
    esc_id = esc.escalation_id
    model = _contract(ctx, esc)
    proposed = dict(esc.request.get("proposed") or {})
    modes = ["form", "JSON"] if model is not None else ["JSON"]
    mode = st.radio("Edit as", modes, horizontal=True, key=f"mode.{esc_id}")
    with st.form(f"edit.{esc_id}"):
        errors: dict[str, str] = {}
        if mode == "form":
            st.caption(f"Fields of {model.__name__}, prefilled with the proposal")
            edited, errors = contract_form(model, proposed, key=f"f.{esc_id}")
        else:
            raw = st.text_area(
                "Edited payload (JSON)",
                value=json.dumps(proposed, indent=2, default=str),
                height=260,
                key=f"json.{esc_id}",
            )
        submitted = st.form_submit_button("Submit edit")
    if not submitted:
        return
    if mode != "form":
        try:
            edited = json.loads(raw)
            if not isinstance(edited, dict):
                raise ValueError
        except ValueError:
            errors = {"<root>": "not a JSON object"}
    if errors:
        out = actions.Outcome(
            False, "The edit has errors; nothing was decided.", field_errors=errors
        )
    else:
        out = actions.decide(ctx.h, ctx.who, esc_id, "edit", comment=comment, edited=edited)
    _remember(esc_id, out)
    st.rerun()


def _decide_box(ctx: PageContext, esc: Escalation) -> None:
    esc_id = esc.escalation_id
    allowed = list(esc.request.get("allowed") or ["approve", "edit", "reject"])
    comment = st.text_input("Comment (kept with the decision)", key=f"comment.{esc_id}")
    cols = st.columns(3)
    labels = {"approve": "Approve", "reject": "Reject" if esc.kind != "veto" else "Veto"}
    for col, action in zip(cols, ("approve", "reject"), strict=False):
        if action in allowed and col.button(
            labels[action],
            key=f"{action}.{esc_id}",
            type="primary" if action == "approve" else "secondary",
        ):
            _remember(esc_id, actions.decide(ctx.h, ctx.who, esc_id, action, comment=comment))
            st.rerun()
    if "edit" in allowed and cols[2].toggle("Edit", key=f"editing.{esc_id}"):
        _edit(ctx, esc, comment)


def body(ctx: PageContext) -> None:
    _show_last()
    pending = ctx.h.cp.escalations.list_pending(limit=200)
    top = st.columns([4, 1])
    top[0].text(f"{len(pending)} pending escalation(s), oldest first")
    if top[1].button("Refresh", key="inbox.refresh"):
        st.session_state.pop(LAST, None)
        st.rerun()
    if not ctx.can("approver"):
        st.info("You can read escalations; deciding needs the approver role.")
    for esc in pending:
        with st.container(border=True, key=f"esc.{esc.escalation_id}"):
            st.caption(f"Escalation {md_escape(esc.escalation_id)}")
            show_escalation(esc)
            if ctx.can("approver"):
                _decide_box(ctx, esc)


run_page("Escalations", body)
