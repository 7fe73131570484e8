"""Commands as the wires send them, I/O-free: a call and its reply check, the Lua scripts,
and the outbox of calls sent and not acknowledged yet."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import ConnectionError, ResponseError

Command = tuple[Any, ...]

_RESEND = ("NOSCRIPT", "MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN")
"""Replies that mean the command did not run where it was sent: reconnect (the cluster's slot
map is read again) and send it again."""


def _identity(reply: Any) -> Any:
    return reply


@dataclass
class Call:
    """One command and how to check its reply (``check`` may raise)."""

    command: Command
    check: Callable[[Any], Any] = _identity
    seq: int = 0
    """Order of sending, set by the wire (calls are sent again in this order)."""


def pack(commands: Sequence[Command]) -> bytes:
    """``commands`` in Redis's protocol (RESP), as redis-py encodes arguments (bytes as they
    are, text as UTF-8, numbers by ``repr``), in one buffer. Several times faster than redis-py's
    ``pack_commands`` for a checkpoint's long argument lists.

    Raises:
        TypeError: An argument is a bool or of another type Redis cannot take.
    """
    parts: list[bytes] = []
    append = parts.append
    for command in commands:
        append(b"*%d\r\n" % len(command))
        for arg in command:
            if isinstance(arg, bytes):
                data = arg
            elif isinstance(arg, str):
                data = arg.encode()
            elif isinstance(arg, int | float) and not isinstance(arg, bool):
                data = repr(arg).encode()
            else:
                raise TypeError(f"a Redis argument cannot be a {type(arg).__name__}")
            append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"".join(parts)


def key_of(command: Command) -> Any:
    """The key a command is routed by (a script's first key), or ``None`` for none."""
    name = str(command[0]).upper()
    if name in ("EVALSHA", "EVAL"):
        return command[3] if int(command[2]) > 0 else None
    if name == "SCRIPT" or len(command) < 2:
        return None
    return command[1]


@dataclass
class Scripts:
    """Lua sources by name and their SHA1, as ``EVALSHA`` wants them."""

    sources: dict[str, str]
    shas: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.shas = {n: hashlib.sha1(s.encode(), usedforsecurity=False).hexdigest()
                     for n, s in self.sources.items()}  # fmt: skip

    def evalsha(self, name: str, keys: Sequence[Any], args: Sequence[Any]) -> Command:
        """The ``EVALSHA`` command running script ``name``."""
        return ("EVALSHA", self.shas[name], len(keys), *keys, *args)

    def loads(self, names: Sequence[str] | None = None) -> list[Command]:
        """``SCRIPT LOAD`` of every script (or of ``names``): sent first on a new connection."""
        wanted = self.sources if names is None else names
        return [("SCRIPT", "LOAD", self.sources[n]) for n in wanted]

    def add(self, other: Scripts) -> list[str]:
        """Take ``other``'s scripts in; returns the names that were new."""
        new = [n for n in other.sources if n not in self.sources]
        for name in new:
            self.sources[name] = other.sources[name]
            self.shas[name] = other.shas[name]
        return new


class Outbox:
    """Calls sent (or to send) and not acknowledged yet, in order; I/O-free."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.sent = 0  # how many of ``calls`` the current connection has been sent
        self.loading = 0  # SCRIPT LOAD replies to skip before the first call's reply

    def reset(self) -> None:
        """The connection was lost: everything unacknowledged goes again."""
        self.sent = 0
        self.loading = 0

    def take(self, reply: Any) -> tuple[Call, Any]:
        """Acknowledge the oldest call with ``reply``: the call and its checked value (or the
        exception its check or Redis gave).

        Raises:
            ConnectionError: The command did not run there (scripts flushed, or the cluster
                moved its slot): reconnect and send again.
        """
        if isinstance(reply, ResponseError) and str(reply).startswith(_RESEND):
            raise ConnectionError(f"Redis did not run a checkpointer command ({reply}); resending")
        call = self.calls.pop(0)
        self.sent -= 1
        if isinstance(reply, BaseException):
            return call, reply
        try:
            return call, call.check(reply)
        except Exception as exc:  # a refused write: raised once every reply is read
            return call, exc
