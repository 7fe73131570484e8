"""The ports the command line's servers listen on: a port already taken is one line, before
anything starts."""

from __future__ import annotations

import socket

from console.cli.errors import CliError


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on ``host:port`` (a server could not bind it)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def require_free_port(host: str, port: int, what: str, other: str = "--port N") -> None:
    """Refuse to start ``what`` on a port something already listens on (port 0: any free one).

    Raises:
        CliError: ``host:port`` is taken; the message says how to pick another (``other``).
    """
    if port and port_in_use(host, port):
        raise CliError(
            f"port {port} on {host} is in use (another {what}?): stop it, or choose another "
            f"with {other}; nothing was started"
        )
