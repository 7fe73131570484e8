"""``waybill hold`` / ``release`` / ``holds``: park runs without ending them, and let them go on.

A hold stops the runs it covers at their next node boundary (queued ones at once) and records
them ``held``; their checkpoints stay. Releasing it queues them again. Both act as the user of
the API token in ``WAYBILL_TOKEN`` (an admin), as in the console.
"""

from __future__ import annotations

import argparse
from typing import Any

from console.cli import args as argtypes
from console.cli.backend import open_backend
from console.cli.commands.kill import scope_args, scope_of, switch_line
from console.cli.identity import acting_user


def add_parser(sub: Any) -> None:
    """Register ``waybill hold``, ``release`` and ``holds`` on the subcommands ``sub``."""
    h = sub.add_parser("hold", help="trip a hold switch (runs stop at their next node, held)")
    scope_args(h)
    h.add_argument("--reason", type=argtypes.nonempty, required=True)
    h.set_defaults(func=cmd_hold)
    r = sub.add_parser("release", help="release a hold switch (held runs go on)")
    scope_args(r)
    r.set_defaults(func=cmd_release)
    ls = sub.add_parser("holds", help="list tripped hold switches")
    ls.set_defaults(func=cmd_holds)


def cmd_hold(args: argparse.Namespace) -> int:
    """Trip the hold switch; 0."""
    scope, target = scope_of(args)
    with open_backend() as backend:
        who = acting_user(backend, args.user)
        held = backend.service(inline=False).hold(scope, target, who=who, reason=args.reason)
        print(
            f"hold switch {scope}:{target or '*'} tripped; {held} queued run(s) held, running "
            "ones stop at their next node (`waybill release` lets them go on)"
        )
        return 0


def cmd_release(args: argparse.Namespace) -> int:
    """Release the hold switch; 0, whether or not it was set (one not set on a run, workflow or
    stage that does not exist is an error: exit 1)."""
    scope, target = scope_of(args)
    with open_backend() as backend:
        who = acting_user(backend, args.user)
        cleared, released = backend.service(inline=False).release(scope, target, who=who)
        state = "released" if cleared else "was not set"
        print(f"hold switch {scope}:{target or '*'} {state}; {released} held run(s) queued again")
        if released and not backend.workers_listening():
            print("no worker is listening: the runs go on when one starts (`waybill worker`)")
        return 0


def cmd_holds(args: argparse.Namespace) -> int:
    """Print the tripped hold switches; 0."""
    with open_backend() as backend:
        switches = backend.cp.kills.list(kind="hold")
        for s in switches:
            print(switch_line(s))
        if not switches:
            print("no hold switch is tripped")
        return 0
