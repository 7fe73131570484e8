"""The Redis-down banner: every page body runs inside :func:`redis_guard`.

When Redis cannot be reached the page shows one clear banner instead of a traceback, and a small
fragment pings Redis every few seconds and reruns the whole page as soon as it answers again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import redis
import streamlit as st

from console.ui.handles import NotConfiguredError, redis_url
from state.control.connection import mask_url
from state.control.outage import OUTAGE_ERRORS

DOWN_ERRORS = OUTAGE_ERRORS  # unreachable, too slow, or a cluster failing over
BANNER = "Redis is unreachable: the console cannot read or change anything right now."
RECHECK_S = 3.0


def _one_line(exc: BaseException) -> str:
    return re.sub(r"\s+", " ", str(exc)).strip() or type(exc).__name__


def show_banner(exc: BaseException) -> None:
    """The banner, the cause in one line, and the automatic re-check."""
    st.error(BANNER, icon="🚨")
    st.text(f"{_one_line(exc)}\nThis page reloads by itself when Redis answers again.")
    _recheck()


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
