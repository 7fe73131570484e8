"""Notifications: typed notices about runs and escalations, and the log of their delivery.

A notice is written by whoever saw the event (the worker that opened an escalation, the job of
a reminder or a deadline, the control plane when a run failed or was killed, the run service
when a kill switch changed), from the control plane's records, never from parsed text. The
worker's notifier delivers it to every configured sink (``WAYBILL_WEBHOOKS``) and logs each
attempt. ``link`` is a path of the console (``state.links``): the notifier puts the console's
base URL in front of it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

NoticeKind = Literal[
    "escalation_created",
    "reminder",
    "deadline_passed",
    "run_failed",
    "run_killed",
    "kill_tripped",
    "kill_cleared",
    "hold_tripped",
    "hold_released",
]
NOTICE_KINDS: tuple[NoticeKind, ...] = get_args(NoticeKind)

DeliveryStatus = Literal["pending", "delivered", "failed"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Deciders(_Model):
    """Who may decide an escalation, as it stood when the notice was written."""

    group: str | None = None
    users: list[str] = Field(default_factory=list)
    """Members of the group with the approver (or admin) role who may decide now."""
    excluded: list[str] = Field(default_factory=list)
    """Members who may not approve this one (under four eyes: the run's starter, and those who
    edited what it acts on)."""
    admins_fallback: bool = False
    """Admins outside the group may decide too (the configured fallback)."""
    approvals_needed: int = 1
    approved_by: list[str] = Field(default_factory=list)


class Notice(_Model):
    """One notification, as sinks receive it (plus the console's base URL on ``link``)."""

    id: str
    """Stable per event (``esc:<id>:created``...): writing it twice stores it once."""
    kind: NoticeKind
    at: datetime
    title: str
    lines: list[str] = Field(default_factory=list)
    """More detail; may quote a workflow's text (a reason): receivers must show it as text."""
    link: str
    run_id: str | None = None
    escalation_id: str | None = None
    workflow: str | None = None
    stage: str | None = None
    deciders: Deciders | None = None
    due_at: datetime | None = None
    """The escalation's decision deadline (or a veto window's end)."""
    outcome: str | None = None
    """What a passed deadline did: rejected, held, handed over to a group."""


class DeliveryAttempt(_Model):
    """One attempt to deliver a notice to one sink."""

    sink: str
    attempt: int
    at: datetime
    ok: bool
    status_code: int | None = None
    error: str = ""
    next_at: datetime | None = None
    """When it is tried again (``None``: not again)."""


class NoticeRecord(_Model):
    """A notice with where it stands at each sink and every attempt so far."""

    notice: Notice
    status: dict[str, DeliveryStatus] = Field(default_factory=dict)
    attempts: list[DeliveryAttempt] = Field(default_factory=list)
