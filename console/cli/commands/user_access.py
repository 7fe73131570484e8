"""``waybill user join|leave|groups|token|tokens|revoke``: approver groups and API tokens.

A stage's ``owner`` names the group that decides its escalations; ``join`` and ``leave`` manage
who is in it. ``token NAME`` issues an API token for a user (printed once: only its hash is
kept; a token that cannot be printed, to a closed pipe or a full disk, is revoked at once);
the command line then acts as that user with ``WAYBILL_TOKEN=<token>``. ``tokens NAME``
lists a user's tokens by id, ``revoke NAME ID|--all`` ends them. Every change is audited as
``cli:<os user>``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

import redis

from console.cli import args as argtypes
from console.cli.backend import Backend, open_backend
from console.cli.errors import CliError
from console.cli.identity import operator
from console.visible import visible
from state.control.users import UserError, user_key
from state.errors import WaybillError


def add_parsers(users: Any) -> None:
    """Register the group and token subcommands on ``waybill user``'s subparsers."""
    j = users.add_parser("join", help="add a user to approver groups")
    j.add_argument("name")
    j.add_argument("groups", nargs="+", metavar="GROUP")
    j.set_defaults(func=cmd_join)
    lv = users.add_parser("leave", help="remove a user from approver groups")
    lv.add_argument("name")
    lv.add_argument("groups", nargs="+", metavar="GROUP")
    lv.set_defaults(func=cmd_leave)
    g = users.add_parser("groups", help="list the approver groups and their members")
    g.set_defaults(func=cmd_groups)
    t = users.add_parser("token", help="issue an API token for the command line")
    t.add_argument("name")
    t.add_argument(
        "--label", type=argtypes.text, default="", help="what the token is for (listed with it)"
    )
    t.set_defaults(func=cmd_token)
    ts = users.add_parser("tokens", help="list a user's API tokens")
    ts.add_argument("name")
    ts.set_defaults(func=cmd_tokens)
    r = users.add_parser("revoke", help="revoke a user's API token (or all of them)")
    r.add_argument("name")
    which = r.add_mutually_exclusive_group(required=True)
    which.add_argument("token_id", nargs="?", metavar="TOKEN_ID")
    which.add_argument("--all", action="store_true", help="every token of the user")
    r.set_defaults(func=cmd_revoke)


def cmd_join(args: argparse.Namespace) -> int:
    """Add the user to each group (audited); 0."""
    with open_backend() as backend:
        for group in args.groups:
            try:
                added = backend.cp.groups.join(args.name, group)
            except UserError as exc:
                raise CliError(str(exc)) from None
            if added:
                backend.cp.audit.append(operator(), "group.join", args.name, {"group": group})
            print(f"{args.name} is in group {group}" + ("" if added else " (already)"))
        return 0


def cmd_leave(args: argparse.Namespace) -> int:
    """Remove the user from each group (audited); 0."""
    with open_backend() as backend:
        for group in args.groups:
            try:
                backend.cp.groups.leave(args.name, group)
            except UserError as exc:
                raise CliError(str(exc)) from None
            backend.cp.audit.append(operator(), "group.leave", args.name, {"group": group})
            print(f"{args.name} left group {group}")
        return 0


def cmd_groups(args: argparse.Namespace) -> int:
    """Print every group with its members; 0."""
    with open_backend() as backend:
        names = backend.cp.groups.names()
        for group in names:
            print(visible(f"{group:<24} {', '.join(backend.cp.groups.members(group))}"))
        if not names:
            print("no groups yet: waybill user join NAME GROUP")
        return 0


def cmd_token(args: argparse.Namespace) -> int:
    """Issue a token and print it once (audited, without the token); 0."""
    with open_backend() as backend:
        try:
            token, info = backend.cp.tokens.issue(args.name, args.label)
        except UserError as exc:
            raise CliError(str(exc)) from None
        details = {"token_id": info.id, "label": info.label}
        backend.cp.audit.append(operator(), "token.issue", args.name, details)
        try:
            print(token, flush=True)  # flushed here: a failure must be seen while we can revoke
        except OSError as exc:  # a closed pipe, a full disk: nobody got it, so nobody may use it
            _withdraw(backend, args.name, info.id, exc)
        print(
            f"API token {info.id} for {args.name}: shown once; use it as WAYBILL_TOKEN "
            f"(revoke with `waybill user revoke {args.name} {info.id}`)",
            file=sys.stderr,
        )
        return 0


def _withdraw(backend: Backend, name: str, token_id: str, exc: OSError) -> NoReturn:
    """Revoke the token ``token_id`` that could not be printed and say so (one line)."""
    why = exc.strerror or type(exc).__name__
    try:
        backend.cp.tokens.revoke(name, token_id)
        details = {"token_id": token_id, "not_shown": why}
        backend.cp.audit.append(operator(), "token.revoke", name, details)
    except (WaybillError, redis.RedisError) as failed:
        raise CliError(
            f"could not print the new API token ({why}) nor revoke it ({failed}): revoke it "
            f"with `waybill user revoke {name} {token_id}`"
        ) from None
    raise CliError(f"could not print the new API token ({why}): revoked, no token was issued")


def cmd_tokens(args: argparse.Namespace) -> int:
    """Print the user's tokens (id, created, label); 0."""
    with open_backend() as backend:
        if not backend.cp.client.exists(user_key(args.name)):
            raise CliError(f"no user {args.name!r}")
        tokens = backend.cp.tokens.list(args.name)
        for t in tokens:
            print(visible(f"{t.id}  {t.created_at:%Y-%m-%d %H:%M}  {t.label}"))
        if not tokens:
            print(f"{args.name} has no API token")
        return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    """Revoke one token, or all of the user's (audited); 0."""
    with open_backend() as backend:
        if args.all:
            n = backend.cp.tokens.revoke_all(args.name)
            if not n and not backend.cp.client.exists(user_key(args.name)):
                raise CliError(f"no user {args.name!r}")  # a typo: it read "0 ... revoked"
            backend.cp.audit.append(operator(), "token.revoke", args.name, {"all": n})
            print(f"{n} API token(s) of {args.name} revoked")
            return 0
        try:
            backend.cp.tokens.revoke(args.name, args.token_id)
        except UserError as exc:
            raise CliError(str(exc)) from None
        details = {"token_id": args.token_id}
        backend.cp.audit.append(operator(), "token.revoke", args.name, details)
        print(f"API token {args.token_id} of {args.name} revoked")
        return 0
