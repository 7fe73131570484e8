"""``waybill user add|list|role|passwd``: manage the console's users (stored in Redis); their
groups and API tokens are ``console.cli.commands.user_access``'s.

Passwords are read from a terminal prompt (twice) or, with ``--password-stdin`` or when standard
input is not a terminal, from its first line (for scripts); they are never taken as an argument
(shell history). These commands are the operator's (anyone who can reach the Redis can make the
first admin): they are audited as ``cli:<os user>``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from console.cli.backend import open_backend
from console.cli.commands import user_access
from console.cli.errors import CliError
from console.cli.identity import operator
from console.visible import visible
from state.control.users import UserError, UserStore, check_new_user
from state.roles import ROLES


def add_parser(sub: Any) -> None:
    """Register ``waybill user`` and its ``add``, ``list``, ``role``, ``passwd``, group and token
    commands on the subcommands ``sub``."""
    p = sub.add_parser(
        "user", help="manage console users (add, list, role, passwd, join, leave, token, ...)"
    )
    users = p.add_subparsers(dest="user_command", required=True, parser_class=type(p))
    a = users.add_parser("add", help="add a user")
    a.add_argument("name")
    a.add_argument("--role", required=True, choices=ROLES)
    a.add_argument("--email", help="e-mail (the identity used with OIDC sign-in)")
    a.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    a.add_argument(
        "--no-password", action="store_true", help="OIDC-only user: cannot log in by password"
    )
    a.set_defaults(func=cmd_add)
    ls = users.add_parser("list", help="list users and their roles")
    ls.set_defaults(func=cmd_list)
    r = users.add_parser("role", help="change a user's role")
    r.add_argument("name")
    r.add_argument("role", choices=ROLES)
    r.set_defaults(func=cmd_role)
    pw = users.add_parser("passwd", help="set a user's password")
    pw.add_argument("name")
    pw.add_argument("--password-stdin", action="store_true")
    pw.set_defaults(func=cmd_passwd)
    user_access.add_parsers(users)


def read_password(from_stdin: bool) -> str:
    """The new password, from stdin's first line (asked for, or no terminal to prompt on) or a
    confirmed terminal prompt."""
    try:
        if from_stdin or not sys.stdin.isatty():
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = getpass.getpass("password: ")
            if getpass.getpass("again: ") != password:
                raise CliError("the passwords do not match")
        # Bytes that are not UTF-8 arrive as lone surrogates (or fail to decode): such a
        # password could not be hashed, nor typed at the console's login page.
        password.encode()
    except UnicodeError:
        raise CliError("the password is not text: it must be UTF-8") from None
    if not password:
        raise CliError("empty password")
    return password


def cmd_add(args: argparse.Namespace) -> int:
    """Add a console user (audited); 0."""
    with open_backend() as backend:
        store = UserStore(backend.cp.client)
        try:
            check_new_user(args.name, args.role, args.email)
            store.check_available(args.name, args.email)
            password = None if args.no_password else read_password(args.password_stdin)
            user = store.add(args.name, args.role, password, email=args.email)
        except UserError as exc:
            raise CliError(str(exc)) from None
        backend.cp.audit.append(
            operator(), "user.add", user.name, {"role": user.role, "email": user.email}
        )
        print(f"user {user.name} added ({user.role})")
        return 0


def cmd_list(args: argparse.Namespace) -> int:
    """Print every user with role and e-mail; 0."""
    with open_backend() as backend:
        users = UserStore(backend.cp.client).list()
        for u in users:
            groups = ",".join(backend.cp.groups.groups_of(u.name)) or "-"
            print(visible(f"{u.name:<24} {u.role:<9} {groups:<30} {u.email or ''}"))
        if not users:
            print("no users yet: waybill user add NAME --role admin")
        return 0


def cmd_role(args: argparse.Namespace) -> int:
    """Change a user's role (audited); 0."""
    with open_backend() as backend:
        try:
            user = UserStore(backend.cp.client).set_role(args.name, args.role)
        except UserError as exc:
            raise CliError(str(exc)) from None
        backend.cp.audit.append(operator(), "user.role", user.name, {"role": user.role})
        print(f"user {user.name} is now {user.role}")
        return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    """Set a user's password and end their console sessions (audited); 0."""
    password = read_password(args.password_stdin)
    with open_backend() as backend:
        try:
            UserStore(backend.cp.client).set_password(args.name, password)
        except UserError as exc:
            raise CliError(str(exc)) from None
        # Whoever knew the old password may be signed in: their sessions end with it.
        ended = backend.cp.sessions.revoke_user(args.name)
        backend.cp.audit.append(operator(), "user.passwd", args.name, {"sessions_ended": ended})
        print(f"password of {args.name} changed; {ended} console session(s) ended")
        return 0
