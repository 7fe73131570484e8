"""The console's connections: one set per process, cached with ``st.cache_resource``.

Nothing connects at import. Commands fail fast (one retry) so that a Redis outage shows the
banner within a second instead of after the CLI's long backoff; the client reconnects by itself
once Redis is back, and a failed first connection is not cached, so the next page view retries.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis
import streamlit as st
from rq import Queue

from graph.runtime.jobs import make_service
from graph.runtime.queueing import QueueNeedsItsOwnRedis, plain_queue, queue_url
from graph.runtime.registry import Registry, default_registry
from graph.runtime.service import RunService
from state.checkpoint.client import sync_client
from state.control.connection import connect
from state.control.plane import ControlPlane
from state.control.sessions import SessionStore
from state.control.users import UserStore
from state.errors import WaybillError
from state.settings import get_settings

NO_REDIS_URL = (
    "REDIS_URL is not set: start the console with `waybill up` (or `waybill console` with "
    "REDIS_URL pointing at the Redis your workers use)"
)


class NotConfiguredError(WaybillError, RuntimeError):
    """The console was started without a Redis URL, or with no plain Redis for the queue."""


@dataclass(frozen=True)
class Handles:
    """What every page uses: the control plane, the run service, users and their sessions."""

    url: str
    cp: ControlPlane
    raw: redis.Redis
    """A bytes client (RQ and the checkpointer read bytes)."""
    queue: Queue
    service: RunService
    users: UserStore
    registry: Registry
    sessions: SessionStore
    """Console sessions, with the lifetimes from the settings."""


def redis_url() -> str:
    """The Redis URL from the settings; ``NotConfiguredError`` when unset."""
    secret = get_settings().redis_url
    if secret is None:
        raise NotConfiguredError(NO_REDIS_URL)
    return secret.get_secret_value()


def open_handles(url: str) -> Handles:
    """New handles on ``url`` (pages use the cached :func:`get_handles`)."""
    settings = get_settings()
    client = connect(url, retries=1, backoff_base=0.05, connect_timeout=1.0, socket_timeout=5.0)
    cp = ControlPlane(client)
    raw = sync_client(url, socket_connect_timeout=1.0, socket_timeout=5.0)
    queue = Queue(settings.queue_name, connection=_queue_client(url, client, raw))
    return Handles(
        url=url,
        cp=cp,
        raw=raw,
        queue=queue,
        service=make_service(cp, queue, raw),
        users=UserStore(client, audit_per_minute=settings.login_audit_per_minute),
        registry=default_registry(),
        sessions=SessionStore(
            client,
            idle_s=settings.console_session_idle_s,
            max_age_s=settings.console_session_max_s,
        ),
    )


def _queue_client(url: str, state: redis.Redis, raw: redis.Redis) -> redis.Redis:
    """The queue's client (``raw`` when the queue is in the state's Redis); a queue that would
    be on a Redis Cluster is a ``NotConfiguredError`` (the pages show its one line)."""
    try:
        queue_at = queue_url(url, state)
        if queue_at == url:
            return raw
        return plain_queue(sync_client(queue_at, socket_timeout=5.0), queue_at)
    except QueueNeedsItsOwnRedis as exc:
        state.close()
        raw.close()
        raise NotConfiguredError(str(exc)) from None


@st.cache_resource(show_spinner=False)
def _open(url: str) -> Handles:
    return open_handles(url)


def get_handles() -> Handles:
    """This process's handles (connecting on first use; ``RedisUnavailable`` when down)."""
    return _open(redis_url())
