"""The Redis-down banner: every page body runs inside :func:`redis_guard`.

When Redis cannot be reached the page shows one clear banner instead of a traceback, and a small
fragment pings Redis every few seconds and reruns the whole page as soon as it answers again.

A widget callback (a decision, a trip) runs before the page script: when it finds Redis down it
says so with :func:`remember_outage`, and the run that follows shows what was not done and the
banner at once (:func:`show_outage`), rather than waiting on the silent Redis a second time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import redis
import streamlit as st

from console.ui.handles import NotConfiguredError, redis_url
from console.ui.views import md_escape
from state.control.connection import mask_url
from state.control.outage import OUTAGE_ERRORS

DOWN_ERRORS = OUTAGE_ERRORS  # unreachable, too slow, or a cluster failing over
BANNER = "Redis is unreachable: the console cannot read or change anything right now."
RECHECK_S = 3.0
OUTAGE = "guard.outage"
"""Session-state key of an outage a widget callback met: ``(what was not done, cause)``."""


def _one_line(exc: BaseException) -> str:
    return re.sub(r"\s+", " ", str(exc)).strip() or type(exc).__name__


def show_banner(exc: BaseException) -> None:
    """The banner, the cause in one line, and the automatic re-check."""
    _banner(_one_line(exc))


def _banner(cause: str) -> None:
    st.error(BANNER, icon="🚨")
    st.text(f"{cause}\nThis page reloads by itself when Redis answers again.")
    _recheck()


def remember_outage(exc: BaseException, undone: str = "") -> None:
    """From a widget callback: Redis failed ``exc``; ``undone`` (plain text) says what was not
    done. The script run that follows shows both with :func:`show_outage`."""
    st.session_state[OUTAGE] = (undone, _one_line(exc))


def show_outage() -> bool:
    """Show the outage a callback of this run met (what was not done, then the banner); False
    when none did, and the page goes on as usual."""
    met = st.session_state.pop(OUTAGE, None)
    if met is None:
        return False
    undone, cause = met
    if undone:
        st.error(md_escape(undone), icon="🚨")
    _banner(str(cause))
    return True


@st.fragment(run_every=RECHECK_S)
def _recheck() -> None:
    try:
        client = redis.Redis.from_url(redis_url(), socket_connect_timeout=0.5, socket_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
    except (*DOWN_ERRORS, NotConfiguredError):
        st.caption("still unreachable; checking again shortly")
        return
    st.rerun(scope="app")


@contextmanager
def redis_guard() -> Iterator[None]:
    """Run a page body; show the banner instead of failing when Redis is down."""
    try:
        yield
    except NotConfiguredError as exc:
        st.error(str(exc))
    except DOWN_ERRORS as exc:
        show_banner(exc)


def masked(url: str) -> str:
    """The URL as shown to users (password hidden)."""
    return mask_url(url)
