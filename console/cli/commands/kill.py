"""``waybill kill`` / ``unkill`` / ``kills``: stop runs by run, agent, workflow or everything.

Tripping and clearing act as the user of the API token in ``WAYBILL_TOKEN`` (an admin), as in
the console (``console.cli.identity``).
"""

from __future__ import annotations

import argparse
from typing import Any

from console.cli import args as argtypes
from console.cli.backend import open_backend
from console.cli.identity import acting_user
from console.visible import visible
from state.control.models import KillScope, KillSwitch


def scope_args(p: argparse.ArgumentParser) -> None:
    """Add the options naming a switch (one scope) and --user to ``p``."""
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--run", type=argtypes.name, metavar="RUN")
    group.add_argument("--agent", type=argtypes.name, metavar="STAGE")
    group.add_argument("--workflow", type=argtypes.name, metavar="NAME")
    group.add_argument("--global", dest="everything", action="store_true", help="every run")
    p.add_argument(
        "--user", type=argtypes.user, help="must name the API token's user (who acts is its user)"
    )


def add_parser(sub: Any) -> None:
    """Register ``waybill kill``, ``unkill`` and ``kills`` on the subcommands ``sub``."""
    k = sub.add_parser("kill", help="trip a kill switch")
    scope_args(k)
    k.add_argument("--reason", type=argtypes.nonempty, required=True)
    k.set_defaults(func=cmd_kill)
    u = sub.add_parser("unkill", help="clear a kill switch (killed runs stay killed)")
    scope_args(u)
    u.set_defaults(func=cmd_unkill)
    ls = sub.add_parser("kills", help="list tripped kill switches")
    ls.set_defaults(func=cmd_kills)


def scope_of(args: argparse.Namespace) -> tuple[KillScope, str | None]:
    """The kill switch the options name: ``(scope, target)``, target None for ``--global``."""
    if args.everything:
        return "global", None
    # `is not None`: an empty target must never fall through to another scope.
    if args.run is not None:
        return "run", args.run
    if args.agent is not None:
        return "agent", args.agent
    return "workflow", args.workflow


def switch_line(switch: KillSwitch) -> str:
    """One tripped kill or hold switch: scope, who, when and why (the reason shown as text: a
    newline in it must not forge a switch line of its own)."""
    when = f"{switch.tripped_at:%Y-%m-%d %H:%M}"
    return visible(f"{switch.scope}:{switch.target}  by {switch.user} at {when}: {switch.reason}")


def cmd_kill(args: argparse.Namespace) -> int:
    """Trip the kill switch and mark the idle runs it covers killed; 0."""
    scope, target = scope_of(args)
    with open_backend() as backend:
        who = acting_user(backend, args.user)
        idle = backend.service(inline=False).kill(scope, target, who=who, reason=args.reason)
        print(
            f"kill switch {scope}:{target or '*'} tripped; {idle} idle run(s) marked killed, "
            "running ones stop at their next boundary"
        )
        return 0


def cmd_unkill(args: argparse.Namespace) -> int:
    """Clear the kill switch (killed runs stay killed); 0, whether or not it was set (one not
    set on a run, workflow or stage that does not exist is an error: exit 1)."""
    scope, target = scope_of(args)
    with open_backend() as backend:
        who = acting_user(backend, args.user)
        cleared = backend.service(inline=False).unkill(scope, target, who=who)
        print(f"kill switch {scope}:{target or '*'} " + ("cleared" if cleared else "was not set"))
        return 0


def cmd_kills(args: argparse.Namespace) -> int:
    """Print the tripped kill switches; 0."""
    with open_backend() as backend:
        switches = backend.cp.kills.list()
        for s in switches:
            print(switch_line(s))
        if not switches:
            print("no kill switch is tripped")
        return 0
