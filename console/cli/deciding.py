"""How ``waybill run`` answers a run's escalations: a fixed ``--decision``, or a person at the
terminal; and the exit code of each way a run ends."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from console.cli.errors import CliError
from console.cli.jsonfile import load_json, parse_json
from console.timeline import describe_escalation
from graph.runtime.sizes import check_size
from state.decisions import DECISION_ACTIONS, Decision, EscalationRequest

Asker = Callable[[EscalationRequest], Decision]
"""Answers every escalation it is asked (a ``Decider`` that never leaves one open)."""

EXIT_CODES = {"succeeded": 0, "failed": 3, "rejected": 4, "killed": 5, "waiting": 6, "held": 7}


def check_decision(action: str, allowed: Sequence[str]) -> None:
    """Refuse a decision the escalation does not allow."""
    if action not in allowed:
        raise CliError(f"decision '{action}' is not allowed here (allowed: {', '.join(allowed)})")


def decide_hint(run_id: str, allowed: Sequence[str]) -> str:
    """The ``waybill decide`` command that answers a question allowing ``allowed``."""
    flags = {"approve": "--approve", "retry": "--retry", "edit": "--edit FILE"}
    flags["reject"] = "--reject"
    options = "|".join(flags[a] for a in flags if a in allowed) or "--approve|--reject"
    return f"`waybill decide {run_id} {options}`"


def edited_payload(value: object, what: str) -> dict[str, object]:
    """An edit as read from JSON: the whole edited payload, an object."""
    if not isinstance(value, dict):
        kinds = {list: "an array", str: "a string", bool: "true or false", type(None): "null"}
        got = kinds.get(type(value), "a number")
        raise CliError(f"{what} must be a JSON object (the edited payload), not {got}")
    return value


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
                parsed = parse_json(raw, "the edit") if raw else dict(req.proposed)
                edited = edited_payload(parsed, "the edit")
            except CliError as exc:
                print(f"  {exc}")
                continue
        comment = input("  comment (optional): ").strip()
        if not comment.isprintable():  # refused as --comment is (console.cli.args.text)
            print("  a comment is one line without control characters; decide again")
            continue
        return Decision.model_validate(
            {"action": answer, "user": user, "comment": comment, "edited": edited}
        )


def make_decider(args: argparse.Namespace, user: str) -> Asker | None:
    """The decider the arguments ask for, deciding as ``user`` (``None``: nobody answers; the
    run waits)."""
    if args.decision != "edit" and args.edit is not None:
        raise CliError("--edit FILE goes with --decision edit (it is the edited payload)")
    if args.decision is not None:
        check_decision(args.decision, DECISION_ACTIONS)
        if args.decision == "edit" and args.edit is None:
            raise CliError("--decision edit needs --edit FILE with the edited payload")
        edited = None
        if args.decision == "edit":  # refused now, not once the run is started and asks
            edited = edited_payload(load_json(args.edit, "edit file"), "the edit file")
            check_size(edited, f"the edited payload in {args.edit}")

        def fixed(req: EscalationRequest) -> Decision:
            for line in describe_escalation(req):
                print(line)
            check_decision(args.decision, req.allowed)
            print(f"  -> {args.decision} (from --decision)")
            return Decision(action=args.decision, user=user, comment=args.comment, edited=edited)

        return fixed
    if sys.stdin.isatty():

        def ask(req: EscalationRequest) -> Decision:
            for line in describe_escalation(req):
                print(line)
            return _ask(req, user)

        return ask
    return None
