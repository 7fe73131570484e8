"""Where a run's data came from: the input a stage consumes, who read a fact, what a handoff
descends from. Pure functions of the chain and the run state (no I/O)."""

from __future__ import annotations

from typing import Any

from graph.chain import Chain, Stage
from state.contracts import Contract, Fact
from state.errors import WaybillError
from state.run_state import Handoff, RunState


class LineageError(WaybillError, RuntimeError):
    """The run state does not hold what a stage needs (a damaged or hand-edited state)."""


def input_of(chain: Chain, stage: Stage[Any, Any], state: RunState) -> tuple[Contract, int]:
    """The contract delivered to ``stage``, typed as its producer declared it, and its seq.

    Raises:
        LineageError: nothing was delivered to ``stage``.
        pydantic.ValidationError: the delivered payload does not fit its contract.
    """
    delivery = state.get("inbox", {}).get(stage.name)
    if delivery is not None:
        contract = chain.stage(delivery["source"]).produces
        return contract.model_validate(delivery["payload"]), delivery["seq"]
    if stage.name == chain.entry:
        return stage.consumes.model_validate(state["request"]), 0
    raise LineageError(f"stage '{stage.name}' ran with nothing delivered to it")


def fact_origins(chain: Chain) -> list[str]:
    """Stages that read facts themselves: their output holds a fact in a field not carried
    from their input. A stale fact is sent back to one of them to be read again."""
    origins = []
    for stage in chain.stages:
        carried = set(stage.produces.carried_fields())
        if any(f not in carried for f in stage.produces.fact_fields()):
            origins.append(stage.name)
    return origins


def upstream_of(chain: Chain, stage: str) -> set[str]:
    """Stages from which ``stage`` can be reached (itself included)."""
    found = {stage}
    frontier = [stage]
    while frontier:
        node = frontier.pop()
        for edge in chain.edges:
            if edge.target == node and edge.source not in found:
                found.add(edge.source)
                frontier.append(edge.source)
    return found


def refresh_targets(chain: Chain, stage: str) -> list[str]:
    """Stages a stale fact seen at ``stage``'s gates (or acting) can be sent back to."""
    up = upstream_of(chain, stage)
    return [s for s in fact_origins(chain) if s in up and s != stage]


def _holds(payload: Any, fact: Fact) -> bool:
    if isinstance(payload, dict):
        if (
            payload.get("source") == fact.source
            and payload.get("key") == fact.key
            and payload.get("version") == fact.version
            and "as_of" in payload
        ):
            return True
        return any(_holds(v, fact) for v in payload.values())
    if isinstance(payload, list):
        return any(_holds(v, fact) for v in payload)
    return False


def reader_of(state: RunState, fact: Fact) -> str | None:
    """The stage that read ``fact`` (this version): the first handoff that holds it."""
    for handoff in state.get("handoffs", []):
        if _holds(handoff["payload"], fact):
            return handoff["stage"]
    return None


def ancestry(state: RunState, seq: int) -> set[int]:
    """The handoff ``seq`` and every handoff it was derived from (through what each stage
    consumed); human edits descend from the handoff they edited."""
    by_seq: dict[int, Handoff] = {h["seq"]: h for h in state.get("handoffs", [])}
    found: set[int] = set()
    todo = [seq]
    while todo:
        current = todo.pop()
        if current in found or current not in by_seq:
            continue
        found.add(current)
        handoff = by_seq[current]
        todo.append(handoff["input_seq"])
        if handoff["by"].startswith("human:"):
            todo += [
                s
                for s, h in by_seq.items()
                if s < current
                and h["stage"] == handoff["stage"]
                and h["target"] == handoff["target"]
            ][-1:]
    return found
