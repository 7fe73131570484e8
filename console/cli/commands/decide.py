"""``waybill decide RUN --approve|--reject|--veto|--retry|--edit FILE``: answer a pending
escalation, as the user of the API token in ``WAYBILL_TOKEN`` (``console.cli.identity``).

``--retry`` answers an action whose outcome is unknown (call it again with the same key); there,
``--approve`` means "confirm it was done" and ``--reject`` "abort". ``--veto`` stops a
notify-tier action during its veto window. The user must be allowed to decide: the approver
role, a member of the escalation's group (or an admin, when the admin fallback is on), and not
the run's starter approving its own action under four eyes. An escalation that needs M
approvals counts this one and says how many are still needed.

Deciders may race (several people, or scripts, answering the same escalation): the control
plane records the first decision only, and every other one is told who decided first, what and
when, whether it lost inside the atomic decide script or found nothing pending any more.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from console.cli import args as argtypes
from console.cli.backend import open_backend
from console.cli.deciding import edited_payload
from console.cli.errors import CliError
from console.cli.identity import acting_user
from console.cli.jsonfile import load_json
from console.cli.run_redis import pending_escalation
from console.timeline import approval_note
from console.visible import visible
from graph.runtime.deciding import decides, verb
from graph.runtime.holds import hold_on, switch_label
from state.control.models import Escalation, RunRecord


def add_parser(sub: Any) -> None:
    """Register ``waybill decide`` on the subcommands ``sub`` (an argparse subparsers action)."""
    p = sub.add_parser("decide", help="approve, edit or reject a run's pending escalation")
    p.add_argument("run_id", metavar="RUN", type=argtypes.run_id)
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--approve", action="store_true")
    group.add_argument("--reject", action="store_true")
    group.add_argument(
        "--veto", action="store_true", help="stop a notify-tier action in its veto window"
    )
    group.add_argument(
        "--retry", action="store_true", help="call an action whose outcome is unknown again"
    )
    group.add_argument("--edit", type=Path, metavar="FILE", help="edited payload (JSON)")
    p.add_argument(
        "--comment", type=argtypes.text, default="", help="comment recorded with the decision"
    )
    p.add_argument(
        "--user",
        type=argtypes.user,
        help="must name the API token's user (who decides is the token's user)",
    )
    p.set_defaults(func=cmd_decide)


def nothing_pending(record: RunRecord, escalations: list[Escalation]) -> CliError:
    """The error for a run with no pending escalation, naming who decided the last one."""
    decided = [e for e in escalations if e.decision is not None]
    if not decided:
        return CliError(f"run {record.run_id} has no pending escalation (status: {record.status})")
    last = max(decided, key=lambda e: e.decision.decided_at if e.decision else e.created_at)
    assert last.decision is not None
    d = last.decision
    return CliError(
        f"run {record.run_id} has no pending escalation: {last.escalation_id} was already "
        f"decided ({verb(last, d.action)}) by {d.user!r} at {d.decided_at.isoformat()} "
        f"(status: {record.status})"
    )


def action_of(args: argparse.Namespace) -> str:
    """The decision the options ask for (a veto is a reject of a notify-tier action)."""
    for action in ("approve", "reject", "retry"):
        if getattr(args, action):
            return action
    return "reject" if args.veto else "edit"


def cmd_decide(args: argparse.Namespace) -> int:
    """Decide the run's pending escalation as the options say; 0 once the decision (or one of
    the approvals it needs) is recorded (the run resumes on a worker, or in this process when
    none listens)."""
    action = action_of(args)
    # Read the edit before touching Redis: a bad file is a one-line error, nothing decided.
    edited = None
    if action == "edit":
        edited = edited_payload(load_json(args.edit, "edit file"), "the edit file")
    with open_backend() as backend:
        who = acting_user(backend, args.user)
        record = backend.cp.runs.get(args.run_id)
        escalations = backend.cp.escalations.for_run(record.run_id)
        esc = pending_escalation(escalations)
        if esc is None:
            raise nothing_pending(record, escalations)
        if args.veto and esc.kind != "veto":
            raise CliError(f"{esc.escalation_id} is not a veto window: use --reject")
        decided = backend.service().decide(
            esc.escalation_id,
            action,
            who=who,
            comment=args.comment,
            edited=edited,
            run_id=record.run_id,
        )
        said = verb(esc, action)
        if not decides(decided, who.name):
            print(f"run {record.run_id}: {approval_note(decided, who.name)}")
            return 0
        where = "a worker" if backend.workers_listening() else "this process"
        then = f"resuming on {where}"
        hold = hold_on(backend.cp, record)
        if hold is not None:  # the run is held as it resumes, until the switch is released
            label = switch_label(hold.scope, hold.target)
            then = f"a hold switch covers the run ({label}): it goes on when that is released"
        print(visible(f"run {record.run_id}: {said} recorded for {esc.escalation_id} by "
                      f"{who.name}; {then}"))  # fmt: skip
        return 0
