"""Insights: what the escalation history says about each envelope limit, backed by the numbers
and proved by replay; an admin may adopt a suggestion (audited, never automatic)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from console.ui.page import PageContext, decision_context, run_page
from console.ui.views import md_escape
from console.web.links import run_url
from graph.runtime import insights
from graph.runtime.principal import ServiceError
from graph.runtime.registry import UnknownWorkflowError
from state.control.limits import Limits

LAST = "insights.last"
PROOFS = "insights.proofs"


def _changed(differences: list[str]) -> str:
    """What changed, shortest first: the actions' lines, as ``then: ...; now: ...``."""
    lines = [d for d in differences if "action " in d] or differences
    short = [
        d.replace("recorded only:", "then:").replace("replay only:", "now:").replace("  ", " ")
        for d in lines
    ]
    return "; ".join(s.replace("action ", "") for s in short)


def proof_frame(proofs: list[insights.Proof]) -> pd.DataFrame:
    """One row per replayed run: what the human decided, the run then, the run now."""
    rows = [
        {
            "run": run_url(p.run_id),
            "decided then": p.decided,
            "recorded": p.recorded,
            "with the new limit": p.replayed,
            "changed": _changed(p.differences),
            "facts assumed": p.assumed,
        }
        for p in proofs
    ]
    columns = ["run", "decided then", "recorded", "with the new limit", "changed", "facts assumed"]
    return pd.DataFrame(rows, columns=columns)


def on_adopt(workflow: str, rule: str) -> None:
    """Button callback: adopt the suggestion shown (admins; checked on the server)."""
    ctx = decision_context()
    if ctx is None:
        return
    found = [
        s for s in insights.suggestions(ctx.h.cp, ctx.h.registry.get(workflow)) if s.rule == rule
    ]
    if not found:
        st.session_state[LAST] = ("error", "The history no longer supports this suggestion.")
        return
    try:
        insights.adopt(ctx.h.cp, found[0], ctx.who)
    except ServiceError as exc:
        st.session_state[LAST] = ("error", str(exc))
        return
    st.session_state[LAST] = (
        "ok",
        f"Adopted: {rule} of {workflow} is now {found[0].proposed:,.2f}",
    )


def _suggestion(ctx: PageContext, s: insights.Suggestion) -> None:
    with st.container(border=True, key=f"insight-{s.workflow}-{s.rule}"):
        st.text(s.text)
        key = f"{s.workflow}:{s.rule}"
        if st.button("Prove it by replay", key=f"prove-{key}"):
            st.session_state[PROOFS] = (key, insights.prove(ctx.h.cp, ctx.h.raw, ctx.h.registry, s))
        shown = st.session_state.get(PROOFS)
        if isinstance(shown, tuple) and shown[0] == key:
            proofs: list[insights.Proof] = shown[1]
            changed = [p for p in proofs if p.recorded != p.replayed]
            st.text(
                f"{len(proofs)} past run(s) replayed from their tapes with the limit at "
                f"{s.proposed:,.2f}: {len(changed)} would have ended differently"
            )
            st.dataframe(
                proof_frame(proofs),
                hide_index=True,
                column_config={
                    "run": st.column_config.LinkColumn("run", display_text=r"run=([^&]+)")
                },
            )
        if ctx.can("admin"):
            st.button(
                "Adopt this limit", key=f"adopt-{key}", on_click=on_adopt, args=(s.workflow, s.rule)
            )


def body(ctx: PageContext) -> None:
    """Every workflow's suggestions, with their proofs, and the limits adopted so far."""
    last = st.session_state.pop(LAST, None)
    if last is not None:
        (st.success if last[0] == "ok" else st.error)(md_escape(last[1]))
    st.caption(
        "From the escalations people decided: where they approved nearly every escalation a "
        "limit raised up to some value, moving the limit there is suggested. Replay shows what "
        "each of those runs would have done (no model call, nothing acts)."
    )
    found = 0
    for name in ctx.h.registry.names():
        try:
            chain = ctx.h.registry.get(name)
        except UnknownWorkflowError:
            continue
        adopted = Limits(ctx.h.cp.client).of(name)
        for rule, value in adopted.items():
            st.text(f"{name}: {rule} adopted at {value:,.2f}")
        for suggestion in insights.suggestions(ctx.h.cp, chain):
            found += 1
            _suggestion(ctx, suggestion)
    if not found:
        st.info("No suggestion yet: the history does not support moving any limit.")


run_page("Insights", body)
