"""After Ctrl+C a message starts a line of its own on a terminal, and only there."""

from __future__ import annotations

import io
import os

from console.cli.terminal import after_echo


def test_a_line_break_on_a_terminal_only() -> None:
    master, slave = os.openpty()
    with os.fdopen(slave, "w") as tty:
        assert after_echo(tty) == "\n"
    os.close(master)
    assert after_echo(io.StringIO()) == ""  # a pipe or a file: nothing


def test_a_closed_stream_is_not_an_error() -> None:
    stream = io.StringIO()
    stream.close()
    assert after_echo(stream) == ""
