"""Kill switches: the tripped ones, and (admins) trip or clear with a reason and confirmation."""

from __future__ import annotations

from typing import cast

import streamlit as st

from console.ui import actions
from console.ui.page import PageContext, run_page
from console.ui.views import notify, switches_frame
from state.control.models import KILL_SCOPES, KillScope


def _targets(ctx: PageContext, scope: str) -> list[str]:
    registry = ctx.h.registry
    if scope == "workflow":
        return registry.names()
    if scope == "agent":
        return sorted({s.name for n in registry.names() for s in registry.get(n).stages})
    return []


def _trip(ctx: PageContext) -> None:
    st.subheader("Trip a switch")
    scope = st.selectbox("Scope", KILL_SCOPES, key="kill.scope")
    with st.form("trip"):
        target: str | None = None
        options = _targets(ctx, scope)
        if scope == "run":
            target = st.text_input("Run id", key="kill.run")
        elif options:
            target = st.selectbox("Target", options, key="kill.target")
        reason = st.text_input("Reason (required, recorded)", key="kill.reason")
        confirm = st.checkbox("I confirm: stop these runs", key="kill.confirm")
        if st.form_submit_button("Trip kill switch", type="primary"):
            notify(actions.kill(ctx.h, ctx.who, scope, target, reason=reason, confirmed=confirm))


def _clear(ctx: PageContext, labels: list[str]) -> None:
    st.subheader("Clear a switch")
    with st.form("clear"):
        pick = st.selectbox("Switch", labels, key="clear.pick")
        confirm = st.checkbox("I confirm: let runs start again", key="clear.confirm")
        if st.form_submit_button("Clear kill switch") and pick:
            scope, _, target = pick.partition(":")
            out = actions.clear_kill(
                ctx.h, ctx.who, cast(KillScope, scope), target, confirmed=confirm
            )
            notify(out)


def body(ctx: PageContext) -> None:
    switches = ctx.h.cp.kills.list()
    st.subheader("Tripped")
    if switches:
        st.dataframe(switches_frame(switches), hide_index=True)
    else:
        st.text("No kill switch is tripped.")
    if not ctx.can("admin"):
        st.info("Tripping and clearing kill switches needs the admin role.")
        return
    left, right = st.columns(2)
    with left:
        _trip(ctx)
    with right:
        _clear(ctx, [f"{s.scope}:{s.target}" for s in switches])


run_page("Kill switches", body)
