"""``waybill run WORKFLOW --input FILE``: run a workflow and print its timeline."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from console import args as argtypes
from console.errors import CliError
from console.jsonfile import load_json, parse_json
from console.timeline import describe, describe_escalation
from graph.runtime.registry import default_registry
from graph.runtime.runner import RunOutcome, run_chain
from state.decisions import DECISION_ACTIONS, Decision, EscalationRequest
from state.run_events import node_update

EXIT_CODES = {"succeeded": 0, "failed": 3, "rejected": 4, "killed": 5, "waiting": 6}


def add_parser(sub: Any) -> None:
    p = sub.add_parser("run", help="run a workflow and print its timeline")
    p.add_argument("workflow", help="a registered workflow (see `waybill workflows`)")
    p.add_argument("--input", required=True, type=Path, help="JSON file with the run's input")
    p.add_argument("--inject", metavar="FAULT", help="inject one of the workflow's faults")
    p.add_argument(
        "--decision",
        metavar="DECISION",
        help="answer every escalation with approve|reject|edit (default: ask on a terminal)",
    )
    p.add_argument("--edit", type=Path, metavar="FILE", help="edited payload for --decision edit")
    p.add_argument("--comment", default="", help="comment recorded with the decision")
    p.add_argument("--user", type=argtypes.user, default="cli", help="who decides (recorded)")
    p.add_argument(
        "--run-id", type=argtypes.run_id, help="run id: letters, digits, _, - (default: new)"
    )
    p.add_argument(
        "--timeout",
        type=argtypes.seconds,
        default=600.0,
        help="stop following after this many seconds (the run goes on; default 600)",
    )
    p.add_argument(
        "--local",
        action="store_true",
        help="run in this process with in-memory state (no Redis, no workers)",
    )
    p.set_defaults(func=cmd_run)


def check_decision(action: str, allowed: Sequence[str]) -> None:
    if action not in allowed:
        raise CliError(f"decision '{action}' is not allowed here (allowed: {', '.join(allowed)})")


def _ask(req: EscalationRequest, user: str) -> Decision:
    while True:
        answer = input(f"decide [{'/'.join(req.allowed)}]: ").strip().lower()
        if answer not in req.allowed:
            print(f"  please answer one of: {', '.join(req.allowed)}")
            continue
        edited = None
        if answer == "edit":
            raw = input("  edited payload as JSON (empty keeps the proposal): ").strip()
            try:
                edited = parse_json(raw, "the edit") if raw else dict(req.proposed)
            except CliError as exc:
                print(f"  {exc}")
                continue
        comment = input("  comment (optional): ").strip()
        return Decision.model_validate(
            {"action": answer, "user": user, "comment": comment, "edited": edited}
        )


def make_decider(args: argparse.Namespace) -> Any:
    if args.decision is not None:
        check_decision(args.decision, DECISION_ACTIONS)
        if args.decision == "edit" and args.edit is None:
            raise CliError("--decision edit needs --edit FILE with the edited payload")
        edited = load_json(args.edit, "edit file") if args.decision == "edit" else None

        def fixed(req: EscalationRequest) -> Decision:
            for line in describe_escalation(req):
                print(line)
            check_decision(args.decision, req.allowed)
            print(f"  -> {args.decision} (from --decision)")
            return Decision(
                action=args.decision, user=args.user, comment=args.comment, edited=edited
            )

        return fixed
    if sys.stdin.isatty():

        def ask(req: EscalationRequest) -> Decision:
            for line in describe_escalation(req):
                print(line)
            return _ask(req, args.user)

        return ask
    return None


def print_outcome(outcome: RunOutcome) -> int:
    if outcome.pending is not None:
        for line in describe_escalation(outcome.pending):
            print(line)
        print(f"run {outcome.run_id}: waiting for a decision (pass --decision or use a terminal)")
    else:
        reason = outcome.state.get("reason", "")
        print(f"run {outcome.run_id}: {outcome.status}" + (f" ({reason})" if reason else ""))
    return EXIT_CODES.get(outcome.status, 1)


def cmd_run(args: argparse.Namespace) -> int:
    if not args.local:
        from console.commands.run_redis import run_on_redis

        return run_on_redis(args)
    registry = default_registry()
    chain = registry.fresh(args.workflow)
    request = load_json(args.input, "input file")
    decide = make_decider(args)

    nodes = chain.nodes()

    def show(node: str, update: dict[str, Any]) -> None:
        for line in describe(node_update(nodes[node], update)):
            print(line, flush=True)

    print(f"waybill: running {chain.name}" + (f" with fault {args.inject}" if args.inject else ""))
    outcome = run_chain(
        chain, request, run_id=args.run_id, inject=args.inject, decide=decide, on_update=show
    )
    return print_outcome(outcome)
