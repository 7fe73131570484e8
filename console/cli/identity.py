"""Who the command line acts as: a console user, proven by an API token.

Commands that decide, kill, fork or start runs on Redis act as the user whose token is in
``WAYBILL_TOKEN`` (or, on a terminal, typed at a prompt); ``waybill user token NAME`` issues
one. The token's user is then checked exactly like a console user: their current role, and for
decisions their group and four eyes (``graph.runtime.eligibility``); everything they do is
audited under their name, with ``via: cli token <id>``. A missing, wrong or revoked token is a
one-line refusal before anything is done. ``--user``, where a command still accepts it, must
name the token's user.
"""

from __future__ import annotations

import getpass
import sys

from console.cli.backend import Backend
from console.cli.errors import CliError
from graph.runtime.eligibility import roles_of
from graph.runtime.principal import Principal

NO_CREDENTIALS = (
    "no credentials: set WAYBILL_TOKEN to your API token (an admin issues one with "
    "`waybill user token NAME`); nothing was done"
)
REFUSED_CREDENTIALS = "invalid or revoked API token (WAYBILL_TOKEN): nothing was done"


def operator() -> str:
    """The operating-system user running this command (for the user commands' audit)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _token(backend: Backend) -> str:
    secret = backend.settings.token
    token = secret.get_secret_value().strip() if secret is not None else ""
    if not token and sys.stdin.isatty():
        token = getpass.getpass("API token (from `waybill user token NAME`): ").strip()
    if not token:
        raise CliError(NO_CREDENTIALS)
    return token


def acting_user(backend: Backend, claimed: str | None = None) -> Principal:
    """The authenticated user this command acts as.

    Raises:
        CliError: No token, a wrong or revoked one (audited), or ``claimed`` is someone else.
    """
    info = backend.cp.tokens.verify(_token(backend))
    role = roles_of(backend.cp, [info.user]).get(info.user) if info is not None else None
    if info is None or role is None:
        backend.cp.audit.append(operator(), "denied", "cli", {"why": "invalid API token"})
        raise CliError(REFUSED_CREDENTIALS)
    if claimed is not None and claimed != info.user:
        raise CliError(
            f"--user {claimed} does not match the API token's user {info.user}: nothing was done"
        )
    return Principal(info.user, role, via=f"cli token {info.id}")
