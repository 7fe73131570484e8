"""Output on a terminal after Ctrl+C: the terminal echoed ``^C`` (or a prompt is open) on the
current line, so a message starts a line of its own."""

from __future__ import annotations

from typing import TextIO


def after_echo(stream: TextIO) -> str:
    """A line break when ``stream`` is a terminal, else nothing (a pipe, a file, a closed one)."""
    try:
        return "\n" if stream.isatty() else ""
    except (OSError, ValueError):
        return ""
