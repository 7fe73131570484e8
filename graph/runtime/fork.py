"""Forks: a new run from a checkpoint of another, with edited state that is gated like any
handoff.

Only what a stage is about to read may be edited: the run's input before the entry stage runs
(``request.*``, validated against the entry contract like any new run's input), or the payload
delivered to the next stage (``inbox.<stage>.payload.*``). An edited delivery is not written
into the stage's inbox: it becomes a new handoff by ``human:<user> (fork)`` on the edge it
travels, so the gate of that edge checks it (contract, fidelity, freshness, invariants) before
the stage reads it or any action runs on it. A fork's edit that fails its gate goes to a human.
"""

from __future__ import annotations

import copy
import time
from typing import TYPE_CHECKING, Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple
from langgraph.types import Overwrite, StateSnapshot
from pydantic import ValidationError

from graph.actions import action_key
from graph.chain import Chain
from graph.commit import executed_on, visit
from graph.hashing import decision_hash, unstorable
from graph.runtime.sizes import check_size
from state.errors import WaybillError
from state.nodes import act_node
from state.run_state import Delivery, Handoff, RunState
from state.stores.ledger import ActionLedger

if TYPE_CHECKING:
    from graph.runtime.runner import Compiled


class ForkError(WaybillError, ValueError):
    """A fork that cannot be made as asked; the message is one line for the user."""


def _set(target: dict[str, Any], path: list[str], value: Any, full: str) -> None:
    node = target
    for part in path[:-1]:
        if not isinstance(node, dict) or part not in node:
            raise ForkError(f"no state path '{full}'")
        node = node[part]
    if not isinstance(node, dict) or not path:
        raise ForkError(f"no state path '{full}'")
    node[path[-1]] = value


def _edited(values: RunState, sets: dict[str, Any], next_nodes: tuple[str, ...]) -> dict[str, Any]:
    """``{"request": new request}`` or ``{"inbox": (stage, new delivery)}`` from ``sets``."""
    request = copy.deepcopy(dict(values.get("request", {})))
    inbox = copy.deepcopy(dict(values.get("inbox", {})))
    touched: set[str] = set()
    for path, value in sets.items():
        top, *rest = path.split(".")
        if top == "request" and rest:
            _set(request, rest, value, path)
            touched.add("request")
        elif top == "inbox" and len(rest) >= 3 and rest[1] == "payload":
            stage = rest[0]
            if next_nodes != (stage,):
                nxt = ", ".join(next_nodes) or "nothing"
                raise ForkError(
                    f"'{stage}' is not about to run at this checkpoint (next: {nxt}): pick the "
                    "checkpoint where it is (waybill history RUN)"
                )
            if stage not in inbox:
                raise ForkError(f"no state path '{path}'")
            _set(cast(dict[str, Any], inbox[stage]), rest[1:], value, path)
            touched.add(f"inbox:{stage}")
        else:
            raise ForkError(
                f"'{path}' cannot be edited: a fork edits what the next stage reads "
                "(request.FIELD before the first stage, inbox.STAGE.payload.FIELD after)"
            )
    if len(touched) > 1:
        raise ForkError("a fork edits one payload at a time (the one the next stage reads)")
    if touched == {"request"}:
        return {"request": request}
    if touched:
        stage = next(iter(touched)).split(":", 1)[1]
        return {"inbox": (stage, inbox[stage])}
    return {}


def _checked_request(
    chain: Chain, next_nodes: tuple[str, ...], request: dict[str, Any]
) -> dict[str, Any]:
    """The edited request, once it is known to fit the entry contract and to be storable."""
    if next_nodes != (chain.entry,):
        raise ForkError("request.* can be edited only before the first stage runs")
    try:
        chain.stage(chain.entry).consumes.model_validate(request)
    except ValidationError as exc:
        raise ForkError(f"the edited request is not valid: {exc.errors()[0]['msg']}") from None
    bad = unstorable(request)
    if bad:
        raise ForkError(f"the edited request cannot be stored: {bad}")
    return request


def _fork_handoff(
    chain: Chain, values: RunState, stage: str, delivery: Delivery, user: str
) -> Handoff:
    """The edited delivery to ``stage`` as a new handoff from the stage that produced it."""
    bad = unstorable(delivery["payload"])
    if bad:
        raise ForkError(f"the edited payload cannot be stored: {bad}")
    source = chain.stage(delivery["source"])
    handoffs = values.get("handoffs", [])
    delivered = next((h for h in handoffs if h["seq"] == delivery["seq"]), None)
    return {
        "seq": len(handoffs) + 1,
        "stage": source.name,
        "target": stage,
        "contract": source.produces.__name__,
        "payload": delivery["payload"],
        "hash": decision_hash(delivery["payload"]),
        "attempt": (delivered["attempt"] + 1) if delivered else 1,
        "input_seq": delivered["input_seq"] if delivered else 0,
        "by": f"human:{user} (fork)",
        "error": "",
    }


def _refuse_repeats(
    chain: Chain,
    values: RunState,
    next_nodes: tuple[str, ...],
    run_id: str,
    ledger: ActionLedger | None,
) -> None:
    """A fork acts under its own idempotency keys: from a checkpoint where its source run had
    already called an action on the proposal about to be acted on (done, or its outcome
    unknown) it would call it again on the same proposal, so it is refused."""
    handoffs = values.get("handoffs", [])
    if ledger is None or not handoffs:
        return
    seq = handoffs[-1]["seq"]
    for stage in chain.stages:
        if act_node(stage.name).name not in next_nodes:
            continue
        done = executed_on(values, stage.name, seq)
        for action in (a.name for a in stage.actions if a.name not in done):
            key = action_key(run_id, stage.name, action, visit(values, stage.name, action, seq))
            entry = ledger.entry(key)
            if entry is None:
                continue
            what = "its outcome is unknown" if entry.result is None else "it was done"
            raise ForkError(
                f"run {run_id} already called action '{action}' on the proposal this checkpoint "
                f"is about to act on ({what}): a fork from here would call it again; "
                + (
                    f"if run {run_id} waits on that question, answer it instead (`waybill "
                    f"decide {run_id} --approve` if it was done, --retry, --reject), or fork "
                    if entry.result is None
                    else "fork "
                )
                + "from an earlier checkpoint to change what is acted on"
            )


def fork_update(
    chain: Chain,
    values: RunState,
    next_nodes: tuple[str, ...],
    sets: dict[str, Any],
    *,
    new_run_id: str,
    user: str,
) -> tuple[dict[str, Any], str | None]:
    """The state update that starts the fork, and the node to apply it as.

    Raises:
        ForkError: a path that cannot be edited, or an edited request that breaks the entry
            contract.
        InputTooLarge: ``sets`` is over ``WAYBILL_MAX_INPUT_BYTES``.
    """
    check_size(sets, "the fork's edit")
    # A new run: its wall-time budget counts from now, not from when its source started.
    update: dict[str, Any] = {
        "run_id": Overwrite(new_run_id),
        "started_at": Overwrite(time.time()),
        "waited_s": Overwrite(0.0),
    }
    edited = _edited(values, sets, next_nodes)
    if "request" in edited:
        update["request"] = Overwrite(_checked_request(chain, next_nodes, edited["request"]))
        return update, None
    if "inbox" in edited:
        stage, delivery = edited["inbox"]
        handoff = _fork_handoff(chain, values, stage, delivery, user)
        update["handoffs"] = [handoff]
        # Applied as the producing stage: its router sends the edit to the gate of its edge.
        return update, handoff["stage"]
    return update, None


def copy_thread(saver: BaseCheckpointSaver[Any], source: str, target: str) -> None:
    """Copy every checkpoint and pending write of thread ``source`` to ``target``.

    The saver's own ``copy_thread`` when it has one (ours does, in one script); otherwise
    through the public ``list``/``put``/``put_writes`` of any saver (LangGraph's in-memory one
    leaves ``copy_thread`` unimplemented).
    """
    try:
        saver.copy_thread(source, target)
        return
    except NotImplementedError:
        pass
    for tup in reversed(list(saver.list({"configurable": {"thread_id": source}}))):
        put_tuple(saver, tup, target)


def put_tuple(saver: BaseCheckpointSaver[Any], tup: CheckpointTuple, thread_id: str) -> None:
    """Store checkpoint ``tup`` (with its pending writes) in ``saver`` under ``thread_id``."""
    configurable: dict[str, Any] = {
        "thread_id": thread_id,
        "checkpoint_ns": tup.config["configurable"].get("checkpoint_ns", ""),
    }
    if tup.parent_config is not None:
        configurable["checkpoint_id"] = tup.parent_config["configurable"]["checkpoint_id"]
    versions = dict(tup.checkpoint["channel_versions"])
    saver.put({"configurable": configurable}, tup.checkpoint, tup.metadata, versions)
    saved: RunnableConfig = {
        "configurable": {**configurable, "checkpoint_id": tup.checkpoint["id"]}
    }
    by_task: dict[str, list[tuple[str, Any]]] = {}
    for task_id, channel, value in tup.pending_writes or []:
        by_task.setdefault(task_id, []).append((channel, value))
    for task_id, writes in by_task.items():
        saver.put_writes(saved, writes, task_id)


def _fork_point(graph: Compiled, run_id: str, checkpoint_id: str) -> StateSnapshot:
    """The state at ``checkpoint_id`` of ``run_id``, if a fork can start there."""
    if not checkpoint_id.strip():  # LangGraph would take an empty id for the newest one
        raise ForkError(f"name the checkpoint to fork at (`waybill history {run_id}` lists them)")
    at: RunnableConfig = {"configurable": {"thread_id": run_id, "checkpoint_id": checkpoint_id}}
    snap = graph.get_state(at)
    if not snap.values:
        raise ForkError(f"run {run_id} has no checkpoint {checkpoint_id}")
    if not snap.next:
        raise ForkError(
            f"checkpoint {checkpoint_id} is where run {run_id} ended: nothing would run from "
            f"it; fork at an earlier one (`waybill history {run_id}`)"
        )
    return snap


def fork_thread(
    graph: Compiled,
    saver: BaseCheckpointSaver[Any],
    run_id: str,
    checkpoint_id: str,
    *,
    new_run_id: str,
    chain: Chain,
    sets: dict[str, Any],
    user: str,
    ledger: ActionLedger | None = None,
) -> tuple[str, Handoff] | None:
    """Copy ``run_id``'s checkpoints to ``new_run_id`` and start it at ``checkpoint_id`` with
    ``sets`` applied (see :func:`fork_update`); ``graph`` is compiled with ``saver``.
    ``ledger`` (``run_id``'s actions) refuses a fork that would call again an action the source
    run already called on the same proposal.

    Returns:
        ``(node, handoff)`` for an edited delivery: the human's handoff, written as ``node``
        (its producing stage), for the new run's timeline; ``None`` for any other fork.

    Raises:
        ForkError: no such checkpoint, an edit that cannot be made, or an action called again.
    """
    snap = _fork_point(graph, run_id, checkpoint_id)
    values = cast(RunState, snap.values)
    _refuse_repeats(chain, values, tuple(snap.next), run_id, ledger)
    update, as_node = fork_update(
        chain, values, tuple(snap.next), sets, new_run_id=new_run_id, user=user
    )
    copy_thread(saver, run_id, new_run_id)
    new: RunnableConfig = {
        "configurable": {
            "thread_id": new_run_id,
            "checkpoint_ns": "",
            "checkpoint_id": checkpoint_id,
        }
    }
    graph.update_state(new, update, as_node=as_node)
    if as_node is None:
        return None
    [handoff] = update["handoffs"]
    return as_node, handoff
