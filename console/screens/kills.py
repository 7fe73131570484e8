"""Kill and hold switches: the tripped ones, and (admins) trip or clear with a reason and
confirmation. A kill ends the runs it covers; a hold parks them (``held``) until released.

Trips and clears run in the forms' callbacks, before the page is drawn, so the table below
always shows the state after the action (not the one before it).
"""

from __future__ import annotations

from typing import cast

import streamlit as st

from console.ui import actions
from console.ui.page import PageContext, decision_context, run_page
from console.ui.views import notify, switches_frame
from state.control.models import KILL_SCOPES, KillScope, SwitchKind

LAST = "kills.last"
CONFIRM = {
    "kill": "I confirm: stop these runs (killed is final)",
    "hold": "I confirm: hold these runs (parked until the hold is released, then they go on)",
}
"""The trip form's confirmation, by the kind of switch: a kill ends runs, a hold parks them."""


def _targets(ctx: PageContext, scope: str) -> list[str]:
    registry = ctx.h.registry
    if scope == "workflow":
        return registry.names()
    if scope == "agent":
        return sorted({s.name for n in registry.names() for s in registry.get(n).stages})
    return []


def on_trip() -> None:
    """Form callback: trip the switch described by the form (admins; checked on the server)."""
    ctx = decision_context()
    if ctx is None:
        return
    scope = cast(KillScope, st.session_state.get("kill.scope", "global"))
    key = "kill.run" if scope == "run" else "kill.target"
    target = st.session_state.get(key) if scope != "global" else None
    kind: SwitchKind = "hold" if st.session_state.get("kill.kind") == "hold" else "kill"
    out = actions.trip(
        ctx.h,
        ctx.who,
        kind,
        scope,
        str(target) if target else None,
        reason=str(st.session_state.get("kill.reason", "")),
        confirmed=bool(st.session_state.get("kill.confirm")),
    )
    st.session_state[LAST] = out
    if out.ok:  # the next switch needs its own confirmation
        st.session_state["kill.confirm"] = False


def on_clear() -> None:
    """Form callback: clear the chosen switch (admins; checked on the server)."""
    ctx = decision_context()
    pick = str(st.session_state.get("clear.pick") or "")
    if ctx is None or not pick:
        return
    kind, _, switch = pick.partition(":")
    scope, _, target = switch.partition(":")
    out = actions.clear(
        ctx.h,
        ctx.who,
        cast(SwitchKind, kind),
        cast(KillScope, scope),
        target,
        confirmed=bool(st.session_state.get("clear.confirm")),
    )
    st.session_state[LAST] = out
    if out.ok:
        st.session_state["clear.confirm"] = False


def _trip(ctx: PageContext) -> None:
    st.subheader("Trip a switch")
    kind = st.radio(
        "Kind",
        ["kill", "hold"],
        key="kill.kind",
        horizontal=True,
        help="kill: the runs end (killed); hold: they stop at their next node, held, and go on "
        "when the hold is released",
    )
    scope = st.selectbox("Scope", KILL_SCOPES, key="kill.scope")
    with st.form("trip"):
        options = _targets(ctx, scope)
        if scope == "run":
            st.text_input("Run id", key="kill.run")
        elif options:
            st.selectbox("Target", options, key="kill.target")
        st.text_input("Reason (required, recorded)", key="kill.reason")
        st.checkbox(CONFIRM["hold" if kind == "hold" else "kill"], key="kill.confirm")
        st.form_submit_button("Trip switch", type="primary", on_click=on_trip)


def _clear(labels: list[str]) -> None:
    st.subheader("Clear a switch")
    with st.form("clear"):
        st.selectbox("Switch", labels, key="clear.pick")
        st.checkbox("I confirm: let runs start (held runs: go on) again", key="clear.confirm")
        st.form_submit_button("Clear switch", on_click=on_clear)


def body(ctx: PageContext) -> None:
    """The outcome of the last trip or clear, the tripped switches, and (admins) the forms."""
    last = st.session_state.pop(LAST, None)
    if last is not None:
        notify(last)
    switches = ctx.h.cp.kills.list(kind=None)
    st.subheader("Tripped")
    if switches:
        st.dataframe(switches_frame(switches), hide_index=True)
    else:
        st.text("No kill or hold switch is tripped.")
    if not ctx.can("admin"):
        st.info("Tripping and clearing kill and hold switches needs the admin role.")
        return
    left, right = st.columns(2)
    with left:
        _trip(ctx)
    with right:
        _clear([f"{s.kind}:{s.scope}:{s.target}" for s in switches])


run_page("Kill and hold switches", body)
