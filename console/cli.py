"""The ``waybill`` command line.

Every user error (bad input, unknown workflow, unknown fault, Redis unreachable) is printed as
one line naming the problem, with a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from console.commands import (
    decide,
    fork,
    kill,
    replay,
    run,
    runs,
    scenarios,
    up,
    user,
    worker,
    workflows,
)
from console.errors import CliError
from graph.registry import UnknownWorkflowError
from graph.runner import InputError
from graph.service import ServiceError
from graph.validate import ChainError
from state.control.errors import ControlPlaneError

COMMANDS = (run, runs, decide, kill, fork, replay, worker, up, user, workflows, scenarios)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse prints the whole usage; one line naming the problem is easier to act on.
        self.exit(2, f"waybill: {message} (see `waybill {self.prog.split()[-1]} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="waybill", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``waybill`` script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except (
        CliError,
        InputError,
        ChainError,
        UnknownWorkflowError,
        ServiceError,
        ControlPlaneError,
    ) as exc:
        print(f"waybill: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("waybill: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
