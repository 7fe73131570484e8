"""``ControlPlane``: the one typed API the console and the workers use.

Example:
    >>> from state.control.connection import connect
    >>> cp = ControlPlane(connect("redis://127.0.0.1:6379/0"))  # doctest: +SKIP
    >>> cp.runs.create("run-1", "procurement")  # doctest: +SKIP

The client must decode responses (``connect`` returns such a client). Nothing here writes the
audit log implicitly: the caller that acts on behalf of a human (the console, the CLI) appends
the entry, with what the human saw.
"""

from __future__ import annotations

from collections.abc import Callable

import redis

from state.control.audit import AuditLog
from state.control.connection import connect
from state.control.escalation_deadlines import EscalationDeadlines
from state.control.escalations import Escalations
from state.control.events import RunEvents
from state.control.groups import GroupStore
from state.control.kills import KillSwitches
from state.control.leases import Leases
from state.control.notices import NoticeStore
from state.control.outbox import Outbox
from state.control.retention import Retention
from state.control.runs import RunRegistry
from state.control.sessions import SessionStore
from state.control.tokens import TokenStore
from state.settings import get_settings


class ControlPlane:
    """Runs, events, escalations (and their deadlines), kill switches, audit log, leases,
    console sessions, approver groups, API tokens, notices and the retention of finished runs.

    Args:
        client: A redis-py client with ``decode_responses=True`` (see ``connection.connect``).
        events_maxlen: Approximate cap on each run's event stream (``0``: keep everything).
        retention_s: How long finished runs are kept (``None``: ``WAYBILL_RUN_RETENTION_S``;
            ``0``: forever).

    Raises:
        ValueError: The client returns bytes instead of text.
    """

    def __init__(
        self, client: redis.Redis, *, events_maxlen: int = 0, retention_s: float | None = None
    ) -> None:
        if not client.get_connection_kwargs().get("decode_responses"):
            raise ValueError("ControlPlane needs a client with decode_responses=True (connect())")
        self.client = client
        self.notices = NoticeStore(client)
        keep = get_settings().run_retention_s if retention_s is None else retention_s
        self.runs = RunRegistry(
            client, events_maxlen=events_maxlen, retention_s=keep, on_end=self.notices.run_ended
        )
        self.retention = Retention(client)
        self.events = RunEvents(client, maxlen=events_maxlen)
        self.escalations = Escalations(client, events_maxlen=events_maxlen)
        self.deadlines = EscalationDeadlines(client, events_maxlen=events_maxlen)
        self.kills = KillSwitches(client)
        self.audit = AuditLog(client)
        self.leases = Leases(client)
        self.outbox = Outbox(client)
        self.sessions = SessionStore(client)
        self.groups = GroupStore(client)
        self.tokens = TokenStore(client)

    @classmethod
    def from_url(cls, url: str, *, events_maxlen: int = 0) -> ControlPlane:
        """Connect (retries, one-line ``RedisUnavailable`` when down) and build the plane."""
        return cls(connect(url), events_maxlen=events_maxlen)

    def complete(self, run_id: str, dispatch: Callable[[str], None] | None = None) -> int:
        """Complete the intents a transition of ``run_id`` recorded; returns how many.

        Each intent's audit entry is appended (once, however often this is retried), the run's
        index entries refreshed, and, when asked and the run is still ``queued``, the run handed
        to ``dispatch``. Safe to call from any process, any number of times.
        """
        intents = self.outbox.pending(run_id)
        for intent in intents:
            self.audit.append(
                intent.actor, intent.action, intent.target, intent.details, intent=intent.id
            )
            self.runs.reindex(run_id)
            if (
                intent.dispatch
                and dispatch is not None
                and self.runs.get(run_id).status == "queued"
            ):
                dispatch(run_id)
            self.outbox.done(run_id, intent.id)
        return len(intents)

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()
