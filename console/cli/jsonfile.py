"""Reading JSON the user hands the CLI (input files, edits, ``--set`` values), with one-line errors.

Whatever the file holds, the result is a value or a ``CliError`` naming the problem: a missing
or unreadable file, bytes that are not UTF-8, malformed JSON, a number too long for Python to
convert (over 4,300 digits), nesting deeper than ``MAX_DEPTH`` (which would otherwise
overflow the stack somewhere down the line), or a file far over ``WAYBILL_MAX_INPUT_BYTES``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from console.cli.errors import CliError
from graph.runtime.sizes import too_large
from state.settings import get_settings

MAX_DEPTH = 64
"""Deepest nesting of lists and objects accepted (real inputs stay far below)."""

FILE_SLACK = 4
"""How many times ``WAYBILL_MAX_INPUT_BYTES`` a file may be and still be read: the limit counts
compact JSON, and a file holds indentation (the run service checks what it parsed to)."""


class NotJsonError(CliError):
    """The text is not JSON at all (as opposed to JSON we refuse to read)."""


def load_json(path: Path, what: str) -> Any:
    """Read the JSON file ``path`` (``what`` names it in errors, e.g. "input file").

    A file more than ``FILE_SLACK`` times ``WAYBILL_MAX_INPUT_BYTES`` is refused unread (a
    device or a pipe that never ends too); what is read is checked by the run service.
    """
    limit = get_settings().max_input_bytes
    try:
        with path.open("rb") as file:
            raw = file.read(limit * FILE_SLACK + 1)
            if len(raw) > limit * FILE_SLACK:
                size = os.fstat(file.fileno()).st_size  # 0 for a pipe or a device: unknown
                raise CliError(
                    too_large(f"{what} {path}", max(size, len(raw)), limit, over=size < len(raw))
                )
    except OSError as exc:
        raise CliError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CliError(
            f"{what} {path} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from None
    return parse_json(text, f"{what} {path}")


def parse_json(text: str, what: str) -> Any:
    """Parse ``text``; ``what`` names where it came from in errors.

    Raises:
        NotJsonError: Malformed JSON.
        CliError: An over-long number, or nesting deeper than ``MAX_DEPTH``.
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotJsonError(
            f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise CliError(f"{what} is nested too deeply (more than {MAX_DEPTH} levels)") from None
    except ValueError:  # the only other failure: an integer beyond Python's digit limit
        limit = sys.get_int_max_str_digits()
        raise CliError(f"{what} holds a number with more than {limit} digits") from None
    if _depth(value) > MAX_DEPTH:
        raise CliError(f"{what} is nested too deeply (more than {MAX_DEPTH} levels)")
    return value


def _depth(value: Any) -> int:
    """Nesting depth of lists and objects, without recursion (the value may be very deep)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            stack.extend((child, depth + 1) for child in node)
    return deepest
