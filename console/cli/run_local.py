"""``waybill run --local``: the run in this process, with in-memory state (no Redis)."""

from __future__ import annotations

import argparse
from typing import Any

from agents.llm.models import check_configured_model
from console.cli.deciding import EXIT_CODES, make_decider
from console.timeline import describe, describe_escalation
from console.visible import visible
from graph.runtime.registry import default_registry
from graph.runtime.runner import RunOutcome, run_chain, validate_inject, validate_request
from state.run_events import node_update


def print_outcome(outcome: RunOutcome) -> int:
    """Print how the run ended (or what it waits for); returns the exit code."""
    if outcome.pending is not None:
        for line in describe_escalation(outcome.pending):
            print(line)
        print(f"run {outcome.run_id}: waiting for a decision (pass --decision or use a terminal)")
    else:
        reason = outcome.state.get("reason", "")
        said = f" ({reason})" if reason else ""
        print(visible(f"run {outcome.run_id}: {outcome.status}{said}"))
    return EXIT_CODES.get(outcome.status, 1)


def run_here(args: argparse.Namespace, request: dict[str, Any]) -> int:
    """Run the workflow in this process, printing its timeline; returns the exit code."""
    chain = default_registry().fresh(args.workflow)
    decide = make_decider(args, args.user or "cli")
    nodes = chain.nodes()

    def show(node: str, update: dict[str, Any]) -> None:
        for line in describe(node_update(nodes[node], update)):
            print(line, flush=True)

    validate_request(chain, request)  # bad input is one line, before "running" is said
    validate_inject(chain, args.inject)
    check_configured_model()
    print(f"waybill: running {chain.name}" + (f" with fault {args.inject}" if args.inject else ""))
    outcome = run_chain(
        chain, request, run_id=args.run_id, inject=args.inject, decide=decide, on_update=show
    )
    return print_outcome(outcome)
