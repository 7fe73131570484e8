"""``waybill decide RUN --approve|--reject|--retry|--edit FILE``: answer a pending escalation.

``--retry`` answers an action whose outcome is unknown (call it again with the same key); there,
``--approve`` means "confirm it was done" and ``--reject`` "abort".
"""

from __future__ import annotations

import argparse
from typing import Any

from console.backend import open_backend
from console.commands.run import load_json
from console.commands.run_redis import pending_escalation
from console.errors import CliError
from graph.service import Principal


def add_parser(sub: Any) -> None:
    p = sub.add_parser("decide", help="approve, edit or reject a run's pending escalation")
    p.add_argument("run_id", metavar="RUN")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--approve", action="store_true")
    group.add_argument("--reject", action="store_true")
    group.add_argument(
        "--retry", action="store_true", help="call an action whose outcome is unknown again"
    )
    group.add_argument("--edit", type=load_edit, metavar="FILE", help="edited payload (JSON)")
    p.add_argument("--comment", default="")
    p.add_argument("--user", required=True, help="who decides (recorded and audited)")
    p.set_defaults(func=cmd_decide)


def load_edit(path: str) -> Any:
    from pathlib import Path

    return load_json(Path(path), "edit file")


def cmd_decide(args: argparse.Namespace) -> int:
    action = (
        "approve"
        if args.approve
        else "reject"
        if args.reject
        else "retry"
        if args.retry
        else "edit"
    )
    backend = open_backend()
    try:
        record = backend.cp.runs.get(args.run_id)
        esc = pending_escalation(backend.cp.escalations.for_run(record.run_id))
        if esc is None:
            raise CliError(
                f"run {record.run_id} has no pending escalation (status: {record.status})"
            )
        service = backend.service()
        service.decide(
            esc.escalation_id,
            action,
            who=Principal(args.user, "admin"),
            comment=args.comment,
            edited=args.edit if action == "edit" else None,
            run_id=record.run_id,
        )
        where = "a worker" if backend.workers_listening() else "this process"
        print(
            f"run {record.run_id}: {action} recorded for {esc.escalation_id}; resuming on {where}"
        )
        return 0
    finally:
        backend.close()
