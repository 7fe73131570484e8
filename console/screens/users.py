"""Users (admins): who may use the console, with which role, in which approver groups."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from console.ui import actions
from console.ui.page import PageContext, run_page
from console.ui.views import notify
from state.roles import ROLES

LAST = "users.last"


def _done(out: actions.Outcome) -> None:
    """Show the outcome after a rerun, so the table and pickers include the change."""
    st.session_state[LAST] = out
    st.rerun()


def body(ctx: PageContext) -> None:
    """The users (admins only), and the forms to add one and to change a role."""
    if not ctx.can("admin"):
        st.info("Managing users needs the admin role.")
        return
    last = st.session_state.pop(LAST, None)
    if last is not None:
        notify(last)
    users = ctx.h.users.list()
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "name": u.name,
                    "role": u.role,
                    "groups": ", ".join(ctx.h.cp.groups.groups_of(u.name)),
                    "email": u.email or "",
                    "since": f"{u.created_at:%Y-%m-%d}",
                }
                for u in users
            ],
            columns=["name", "role", "groups", "email", "since"],
        ),
        hide_index=True,
    )
    left, right = st.columns(2)
    with left, st.form("user.add", clear_on_submit=True):
        st.subheader("Add a user")
        name = st.text_input("Name", key="user.name")
        role = st.selectbox("Role", ROLES, key="user.role")
        email = st.text_input("E-mail (optional, for OIDC)", key="user.email")
        password = st.text_input("Password (8+ characters)", type="password", key="user.pw")
        if st.form_submit_button("Add user"):
            out = actions.add_user(ctx.h, ctx.who, name, role, password, email.strip() or None)
            _done(out)
    with right, st.form("user.role"):
        st.subheader("Change a role")
        pick = st.selectbox("User", [u.name for u in users], key="role.user")
        new = st.selectbox("New role", ROLES, key="role.role")
        if st.form_submit_button("Change role") and pick:
            _done(actions.set_role(ctx.h, ctx.who, pick, new))
    _groups(ctx, [u.name for u in users])


def _groups(ctx: PageContext, names: list[str]) -> None:
    """Approver groups: a stage's owner names the group that decides its escalations."""
    st.subheader("Approver groups")
    groups = ctx.h.cp.groups.names()
    st.dataframe(
        pd.DataFrame(
            [{"group": g, "members": ", ".join(ctx.h.cp.groups.members(g))} for g in groups],
            columns=["group", "members"],
        ),
        hide_index=True,
    )
    with st.form("user.group"):
        left, right = st.columns(2)
        pick = left.selectbox("User", names, key="group.user")
        group = right.text_input("Group", key="group.name")
        add, remove = st.columns(2)
        if add.form_submit_button("Add to group") and pick:
            _done(actions.set_membership(ctx.h, ctx.who, pick, group, member=True))
        if remove.form_submit_button("Remove from group") and pick:
            _done(actions.set_membership(ctx.h, ctx.who, pick, group, member=False))


run_page("Users", body)
