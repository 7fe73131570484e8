"""LangChain Agent Inbox's interrupt schema, so its inbox can show and answer escalations.

A review interrupt's payload is an :class:`~state.decisions.EscalationRequest` whose JSON also
holds the ``HumanInterrupt`` keys (``action_request``, ``config``, ``description``), and a run
resumed on LangGraph's Agent Server may be answered with a ``HumanResponse`` (``accept``,
``edit``, ``ignore``, ``response``) as Agent Inbox sends it. In Waybill's own runtime a decision
still only comes from a console user through the run service.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

INBOX_KEYS = frozenset({"action_request", "config", "description"})
"""The ``HumanInterrupt`` keys an escalation request's JSON carries."""

INBOX_USER = "agent-inbox"
"""Who a ``HumanResponse`` without a ``user`` is recorded as (the Agent Server has no Waybill
login: a development tool)."""


class ActionRequest(BaseModel):
    """What the human is asked about: an action name and its arguments."""

    model_config = ConfigDict(extra="ignore")

    action: str
    args: dict[str, Any]


class InterruptConfig(BaseModel):
    """Which answers the inbox offers."""

    model_config = ConfigDict(extra="ignore")

    allow_ignore: bool
    allow_respond: bool
    allow_edit: bool
    allow_accept: bool


class HumanResponse(BaseModel):
    """An Agent Inbox answer: accept, edit (with the edited ``ActionRequest``), ignore, respond."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["accept", "ignore", "response", "edit"]
    args: ActionRequest | str | None = None
    user: str | None = None


def decision_fields(response: HumanResponse) -> dict[str, Any]:
    """The Waybill decision an Agent Inbox answer stands for (a text response or an ignore
    rejects: neither approves anything)."""
    user = response.user or INBOX_USER
    if response.type == "accept":
        return {"action": "approve", "user": user}
    if response.type == "edit" and isinstance(response.args, ActionRequest):
        return {"action": "edit", "user": user, "edited": response.args.args}
    comment = response.args if isinstance(response.args, str) else f"{response.type} in Agent Inbox"
    return {"action": "reject", "user": user, "comment": comment}
