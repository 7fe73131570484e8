"""Output on a terminal after Ctrl+C: the terminal echoed ``^C`` (or a prompt is open) on the
current line, so a message starts a line of its own."""

from __future__ import annotations

import contextlib
import sys
from typing import TextIO


def after_echo(stream: TextIO) -> str:
    """A line break when ``stream`` is a terminal, else nothing (a pipe, a file, a closed one)."""
    try:
        return "\n" if stream.isatty() else ""
    except (OSError, ValueError):
        return ""


def say(line: str, stream: TextIO | None = None) -> None:
    """Print ``line`` on ``stream`` (standard output), if anyone can read it: a terminal that
    closed (SIGHUP) must not stop what is stopping."""
    with contextlib.suppress(OSError, ValueError):
        print(line, file=stream or sys.stdout, flush=True)
