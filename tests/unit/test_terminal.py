"""After Ctrl+C a message starts a line of its own on a terminal, and only there; a message to a
terminal that is gone is dropped, not an error."""

from __future__ import annotations

import contextlib
import io
import os

from console.cli.terminal import after_echo, say


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


def test_say_prints_a_line_and_drops_it_when_no_one_reads() -> None:
    stream = io.StringIO()
    say("waybill: stopping", stream)
    assert stream.getvalue() == "waybill: stopping\n"
    read, write = os.pipe()
    os.close(read)  # the terminal is gone: writing raises BrokenPipeError (an OSError)
    gone = os.fdopen(write, "w")
    say("waybill: stopping", gone)  # raised BrokenPipeError before say() dropped it
    with contextlib.suppress(OSError):  # the line is still buffered: close flushes it again
        gone.close()
