"""Deciding an escalation in the console: buttons, a comment, the edit form, their callbacks.

Decisions run in widget callbacks, so a click on an escalation that someone else decided
meanwhile (and that is no longer listed) still reaches the server, and the loser is told who
decided first. The outcome is kept in the session state and shown by :func:`show_last`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any

import streamlit as st

from console.ui import actions
from console.ui.forms import contract_form, read_form, show_field_errors
from console.ui.guard import DOWN_ERRORS, remember_outage
from console.ui.page import PageContext, callback_context
from console.ui.views import md_escape
from graph.runtime.eligibility import authority
from graph.runtime.principal import ServiceError
from graph.runtime.registry import UnknownWorkflowError
from state.control.errors import DamagedRun, UnknownRun
from state.control.models import Escalation, RunRecord

LAST = "inbox.last"
REDIS_DOWN = actions.Outcome(False, "Redis is unreachable: nothing was decided. Try again.")


def show_last() -> None:
    """The outcome of this session's last decision, if any."""
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
    except (UnknownRun, DamagedRun, UnknownWorkflowError, KeyError):
        return None


def _record(esc_id: str, act: Callable[[PageContext], actions.Outcome]) -> None:
    """Run a decision callback's ``act`` as the session's user and keep its outcome; when Redis
    does not answer (at the session check or the decision), the page says nothing was decided,
    with the banner, on the run this click starts."""
    try:
        ctx = callback_context()
        if ctx is None:
            return
        out = act(ctx)
    except DOWN_ERRORS as exc:
        st.session_state.pop(LAST, None)  # an older outcome would read as this click's
        remember_outage(exc, f"Escalation {esc_id}: {REDIS_DOWN.message}")
        return
    st.session_state[LAST] = (esc_id, out)


def on_decide(esc_id: str, action: str) -> None:
    """Button callback: approve, retry or reject, as the session's user (checked on the server)."""
    comment = str(st.session_state.get(f"comment.{esc_id}", ""))
    _record(esc_id, lambda ctx: actions.decide(ctx.h, ctx.who, esc_id, action, comment=comment))


def _edit_outcome(ctx: PageContext, esc_id: str, model: Any) -> actions.Outcome:
    errors: dict[str, str] = {}
    edited: Any = None
    if st.session_state.get(f"mode.{esc_id}") == "form" and model is not None:
        edited, errors = read_form(model, key=f"f.{esc_id}")
    else:
        try:
            edited = json.loads(str(st.session_state.get(f"json.{esc_id}", "")))
            if not isinstance(edited, dict):
                raise ValueError
        except ValueError:
            errors = {"<root>": "not a JSON object"}
    if errors:
        return actions.Outcome(
            False, "The edit has errors; nothing was decided.", field_errors=errors
        )
    comment = str(st.session_state.get(f"comment.{esc_id}", ""))
    return actions.decide(ctx.h, ctx.who, esc_id, "edit", comment=comment, edited=edited)


def on_edit(esc_id: str, model: Any) -> None:
    """Form callback: parse the edit (form or JSON) and submit it."""
    _record(esc_id, lambda ctx: _edit_outcome(ctx, esc_id, model))


def _labels(esc: Escalation) -> dict[str, str]:
    labels = {"approve": "Approve", "reject": "Reject" if esc.kind != "veto" else "Veto"}
    labels["retry"] = "Retry"
    # An escalation may say what a decision means there (e.g. approve = "confirm done").
    given = esc.request.get("labels") or {}
    return labels | {k: str(v).capitalize() for k, v in given.items() if k in labels}


def refusal(
    ctx: PageContext, esc: Escalation, action: str, run: RunRecord | None, groups: Collection[str]
) -> str | None:
    """Why the signed-in user (in ``groups``) may not take ``action`` on ``esc`` of ``run``
    (four eyes, another group), or None. Only to show the button disabled: the server checks
    (and audits) again when it is pressed."""
    try:
        authority(
            ctx.h.cp, esc, ctx.who, action, starter=run.user if run else None,
            admin_fallback=ctx.h.service.admin_fallback, groups=groups,
        )  # fmt: skip
    except ServiceError as exc:
        return str(exc)
    return None


def decision_buttons(
    ctx: PageContext, esc: Escalation, run: RunRecord | None, groups: Collection[str]
) -> None:
    """Approve / retry / reject (those the escalation allows), side by side; one the user may
    not take is disabled, and why is said under them (and on hover)."""
    esc_id = esc.escalation_id
    allowed = list(esc.request.get("allowed") or ["approve", "edit", "reject"])
    labels = _labels(esc)
    reasons: list[str] = []
    for col, action in zip(st.columns(3), ("approve", "retry", "reject"), strict=True):
        if action in allowed:
            why_not = refusal(ctx, esc, action, run, groups)
            if why_not is not None and why_not not in reasons:
                reasons.append(why_not)
            col.button(
                labels[action],
                key=f"{action}.{esc_id}",
                type="primary" if action == "approve" else "secondary",
                on_click=on_decide,
                args=(esc_id, action),
                disabled=why_not is not None,
                help=why_not,
            )
    for reason in reasons:
        st.caption(md_escape(f"Not yours to decide: {reason}"))


def decide_box(ctx: PageContext, esc: Escalation, run: RunRecord | None) -> None:
    """The full decision: a comment kept with it, the buttons, and the edit form."""
    esc_id = esc.escalation_id
    st.text_input("Comment (kept with the decision)", key=f"comment.{esc_id}")
    decision_buttons(ctx, esc, run, ctx.h.cp.groups.groups_of(ctx.user.name))
    allowed = list(esc.request.get("allowed") or ["approve", "edit", "reject"])
    if "edit" in allowed and st.toggle("Edit the proposal", key=f"editing.{esc_id}"):
        _edit(ctx, esc)


def _edit(ctx: PageContext, esc: Escalation) -> None:
    esc_id = esc.escalation_id
    model = _contract(ctx, esc)
    proposed = dict(esc.request.get("proposed") or {})
    modes = ["form", "JSON"] if model is not None else ["JSON"]
    mode = st.radio("Edit as", modes, horizontal=True, key=f"mode.{esc_id}")
    with st.form(f"edit.{esc_id}"):
        if mode == "form":
            st.caption(f"Fields of {model.__name__}, prefilled with the proposal")
            contract_form(model, proposed, key=f"f.{esc_id}")
        else:
            st.text_area(
                "Edited payload (JSON)",
                value=json.dumps(proposed, indent=2, default=str),
                height=260,
                key=f"json.{esc_id}",
            )
        st.form_submit_button("Submit edit", on_click=on_edit, args=(esc_id, model))
