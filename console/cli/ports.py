"""The ports the command line's servers listen on: an address that cannot be bound (taken, not
this machine's, unknown) is one line, before anything starts."""

from __future__ import annotations

import errno
import socket

from console.cli.errors import CliError


def bind_problem(host: str, port: int) -> OSError | None:
    """Why a server could not listen on ``host:port`` (``None``: it can)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:  # socket.gaierror: an unknown name
        return exc
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            probe.bind(address)
        except OSError as exc:
            return exc
    return None


def require_free_port(host: str, port: int, what: str, other: str = "--port N") -> None:
    """Refuse to start ``what`` where it cannot listen (port 0: any free one).

    Raises:
        CliError: ``host:port`` is taken (the message says how to pick another, ``other``), or
            ``host`` is not an address of this machine, or not a name that resolves.
    """
    problem = bind_problem(host, port or 0)
    if problem is None:
        return
    if problem.errno == errno.EADDRINUSE:
        raise CliError(
            f"port {port} on {host} is in use (another {what}?): stop it, or choose another "
            f"with {other}; nothing was started"
        )
    reason = problem.strerror or str(problem)
    raise CliError(
        f"cannot listen on {host}:{port} ({reason}): use an address of this machine "
        "(127.0.0.1 by default); nothing was started"
    )
