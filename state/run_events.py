"""What a run did, as typed events: the language of the timeline, the console and later exports.

Every node of a compiled chain writes an update to the run state; once the checkpoint holding it
is saved, the executor turns it into one :class:`NodeUpdate` (the node, as a :class:`NodeRef`,
and the typed events of its update) on the run's event stream. The CLI timeline, the console's
timeline and graph colouring, and anything built later (notifications, trace export, an MCP
server) read these models; nobody parses node names or formatted text.

=====================  ==========================================================
event                  written when
=====================  ==========================================================
``HandoffProposed``    a stage (or a human edit, or a fork) proposes a payload
``AgentDecided``       an agent records what it chose, among what, and why
``VerdictGiven``       a gate (or an act node re-checking facts) judges a handoff
``ActionRecorded``     an action ran, was refused, vetoed, skipped or is unknown
``HumanDecided``       a human answered a gate's escalation
``FaultApplied``       an injected fault altered a handoff (scenarios, ``--inject``)
``RunStopped``         the run ended in the graph: failed, rejected or killed
=====================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from state.control.models import RunEvent
from state.decisions import ActionRecord, Decision, DecisionRecord
from state.nodes import END, NodeRef
from state.status import GraphStatus
from state.verdicts import GateVerdict

Json = dict[str, object]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


EventT = TypeVar("EventT", bound=_Event)


class HandoffProposed(_Event):
    """A contract handed from a stage (or a human edit) towards the next stage."""

    kind: Literal["handoff"] = "handoff"
    seq: int
    stage: str
    target: str
    contract: str
    payload: Json
    attempt: int
    input_seq: int = 0
    by: str
    error: str = ""

    @property
    def ends_run(self) -> bool:
        """True when the handoff goes to END."""
        return self.target == END


class AgentDecided(_Event):
    """An agent's decision record (what it chose, among what, why, at what cost)."""

    kind: Literal["decision"] = "decision"
    record: DecisionRecord


class VerdictGiven(_Event):
    """A gate's verdict on one handoff."""

    kind: Literal["verdict"] = "verdict"
    verdict: GateVerdict


class ActionRecorded(_Event):
    """A side effect taken, refused, vetoed, skipped, aborted or of unknown outcome."""

    kind: Literal["action"] = "action"
    record: ActionRecord


class HumanDecided(_Event):
    """A human's answer to a gate's escalation, at the edge's review node."""

    kind: Literal["human"] = "human"
    node: NodeRef
    handoff_seq: int
    what: str = ""
    decision: Decision


class FaultApplied(_Event):
    """Where an injected fault altered a handoff."""

    kind: Literal["fault"] = "fault"
    fault: str
    handoff_seq: int


class RunStopped(_Event):
    """The graph ended the run without success."""

    kind: Literal["stopped"] = "stopped"
    status: GraphStatus
    reason: str = ""


TimelineEvent = Annotated[
    HandoffProposed
    | AgentDecided
    | VerdictGiven
    | ActionRecorded
    | HumanDecided
    | FaultApplied
    | RunStopped,
    Field(discriminator="kind"),
]


class NodeUpdate(BaseModel):
    """What one node did: the data of a ``node`` event on the run's stream."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    node: NodeRef
    events: list[TimelineEvent]

    def of_kind(self, kind: type[EventT]) -> list[EventT]:
        """The events of one type, in order."""
        return [e for e in self.events if isinstance(e, kind)]

    @property
    def verdict(self) -> GateVerdict | None:
        """The last verdict this node gave, if any."""
        verdicts = self.of_kind(VerdictGiven)
        return verdicts[-1].verdict if verdicts else None

    @property
    def stopped(self) -> RunStopped | None:
        """How the node ended the run, if it did."""
        stops = self.of_kind(RunStopped)
        return stops[-1] if stops else None


_HANDOFF_FIELDS = set(HandoffProposed.model_fields) - {"kind"}
_UPDATES: TypeAdapter[NodeUpdate] = TypeAdapter(NodeUpdate)


def events_of(update: Mapping[str, object]) -> list[TimelineEvent]:
    """The typed events of one node's state update (the run-state keys it wrote)."""
    out: list[TimelineEvent] = []
    for handoff in _dicts(update.get("handoffs")):
        out.append(HandoffProposed(**{k: v for k, v in handoff.items() if k in _HANDOFF_FIELDS}))
    for decision in _dicts(update.get("decisions")):
        out.append(AgentDecided(record=DecisionRecord.model_validate(decision)))
    for action in _dicts(update.get("actions")):
        out.append(ActionRecorded(record=ActionRecord.model_validate(action)))
    for verdict in _dicts(update.get("verdicts")):
        out.append(VerdictGiven(verdict=GateVerdict.model_validate(verdict)))
    out += [HumanDecided.model_validate(h) for h in _dicts(update.get("human"))]
    out += [
        FaultApplied(fault=str(f["fault"]), handoff_seq=int(str(f["handoff_seq"])))
        for f in _dicts(update.get("faults"))
    ]
    status = update.get("status")
    if status in ("failed", "rejected", "killed"):
        out.append(RunStopped(status=status, reason=str(update.get("reason") or "")))
    return out


def node_update(node: NodeRef, update: Mapping[str, object]) -> NodeUpdate:
    """The event data for ``node``'s state update."""
    return NodeUpdate(node=node, events=events_of(update))


def parse_node_update(data: Mapping[str, object]) -> NodeUpdate | None:
    """A ``node`` event's data as a model, or None for data of another shape."""
    try:
        return _UPDATES.validate_python(data)
    except ValueError:
        return None


def node_updates(events: Iterable[RunEvent]) -> list[NodeUpdate]:
    """The ``node`` events of a run's stream, as models, in order."""
    out = []
    for event in events:
        update = parse_node_update(event.data) if event.kind == "node" else None
        if update is not None:
            out.append(update)
    return out


def _dicts(value: object) -> Sequence[Mapping[str, object]]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, Mapping)]
