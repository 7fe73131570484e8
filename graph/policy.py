"""The autonomy policy of a chain's side effects: actions with tiers, and their envelope.

An ``Action`` declares its tier (``auto``, ``notify``, ``approve``); its envelope rules
(``graph.envelope``) raise it when they hold, and may ask for more than one approver, name the
group that decides and set a decision deadline with its safe default. The act node
(``graph.act``) applies them; ``graph.actions`` resolves which rule governs a proposal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from graph.envelope import EnvelopeRule as EnvelopeRule
from graph.envelope import envelope as envelope
from state.contracts import Contract
from state.decisions import DecisionDeadline, Tier
from state.sources import Source

OutT = TypeVar("OutT", bound=Contract)


Effect = tuple[str, dict[str, Any]]
"""A side effect as the target system shows it: the idempotency key it was given, and what was
done (in the shape of the action's ``args``)."""


@dataclass(frozen=True)
class Action(Generic[OutT]):
    """A side effect a stage may take, with its autonomy tier.

    It runs only on a proposal its gate passed, after any human approval, and after every fact
    its payload depends on was read again. ``run`` receives the stage's committed output, the
    action's idempotency key (its identity in the run: run, stage, action) and the run's
    sources of truth, and returns a JSON-like result; pass the key on to the system you call.
    """

    name: str
    tier: Tier | None
    run: Callable[[OutT, str, Mapping[str, Source]], dict[str, Any]]
    args: Callable[[OutT], dict[str, Any]]
    """What a human approving the action sees."""
    envelope: tuple[EnvelopeRule[OutT], ...] = ()
    description: str = ""
    retry_safe: bool = False
    """The target system dedups on the idempotency key, so a call whose outcome is unknown
    (the worker died mid-call) may simply be made again. Otherwise a human is asked."""
    effects: Callable[[Mapping[str, Source]], list[Effect]] | None = None
    """What the target system shows was done (the scenario suite's witness of harm)."""
    self_approval: bool = False
    """Four eyes: unless this is True, the user who started the run may not approve it."""
    deadline: DecisionDeadline | None = None
    """The deadline of an approval its own tier asks for (a rule's deadline takes over)."""
