"""The frame of every page: handles, the signed-in user, the Redis-down banner."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from console.ui import auth
from console.ui.guard import DOWN_ERRORS, redis_guard, remember_outage
from console.ui.handles import Handles, get_handles
from graph.runtime.principal import Principal
from state.control.users import User


@dataclass(frozen=True)
class PageContext:
    """What a page body gets."""

    h: Handles
    user: User

    @property
    def who(self) -> Principal:
        """The signed-in user as the run service's principal (name and role)."""
        return auth.principal_of(self.user)

    def can(self, role: str) -> bool:
        """Whether to *show* a control; the action checks the role again on the server."""
        return self.who.can(role)  # type: ignore[arg-type]


def callback_context() -> PageContext | None:
    """The context inside a widget callback (which runs before the page script); ``None`` when
    nobody is signed in. Redis outages propagate (see :func:`decision_context`)."""
    h = get_handles()
    user = auth.current_user(h)
    return PageContext(h, user) if user is not None else None


def decision_context() -> PageContext | None:
    """The context inside a widget callback, or ``None``.

    A Redis outage here is remembered and shown by the banner on this same rerun, at once.
    """
    try:
        return callback_context()
    except DOWN_ERRORS as exc:
        remember_outage(exc)
        return None


def run_page(title: str, body: Callable[[PageContext], None]) -> None:
    """Render a page: signed-in users only, and the banner instead of a crash if Redis is down."""
    st.header(title)
    with redis_guard():
        h = get_handles()
        user = auth.current_user(h)
        if user is None:
            st.warning("Log in first.")
            st.stop()
        body(PageContext(h, user))
