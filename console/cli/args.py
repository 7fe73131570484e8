"""Argument types for the CLI's parser: a bad value is a one-line usage error (exit code 2).

argparse turns the ``ArgumentTypeError`` these raise into ``waybill: argument --x: <message>``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, date, datetime, time

from state.keys import valid_run_id

MAX_NAME = 64


def run_id(value: str) -> str:
    """A new run's id: 1 to 64 letters, digits, ``_`` or ``-`` (``state.keys.RUN_ID_PATTERN``)."""
    if not valid_run_id(value):
        shown = value if len(value) <= 40 else value[:37] + "..."
        raise argparse.ArgumentTypeError(
            f"invalid run id {shown!r}: use 1 to {MAX_NAME} letters, digits, '_' or '-'"
        )
    return value


def text(value: str) -> str:
    """Free text, possibly empty (a comment, a label), without surrounding spaces: one line of
    printable characters. What is typed here is recorded and shown to others later, so a
    newline (a forged line) or ESC (a terminal sequence) is refused, not stored."""
    stripped = value.strip()
    if not stripped.isprintable():
        raise argparse.ArgumentTypeError(f"{stripped[:40]!r} holds control characters")
    return stripped


def nonempty(value: str) -> str:
    """Free text that must say something (a reason): ``text``, not empty."""
    stripped = text(value)
    if not stripped:
        raise argparse.ArgumentTypeError("must not be empty")
    return stripped


def name(value: str) -> str:
    """A non-empty name (a user, a run, a workflow, an agent), without surrounding spaces."""
    stripped = nonempty(value)
    if len(stripped) > 200:
        raise argparse.ArgumentTypeError("a name has at most 200 characters")
    return stripped


def user(value: str) -> str:
    """Who acts (recorded and audited): a non-empty name of at most 64 characters."""
    stripped = name(value)
    if len(stripped) > MAX_NAME:
        raise argparse.ArgumentTypeError(f"a user name has at most {MAX_NAME} characters")
    return stripped


def int_between(low: int, high: int) -> Callable[[str], int]:
    """An integer in ``[low, high]``."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value[:40]!r} is not a whole number") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value[:40]}")
        return number

    return parse


def seconds(value: str) -> float:
    """A duration in seconds: a number from 0 to a day."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not 0 <= number <= 86_400:
        raise argparse.ArgumentTypeError(f"seconds must be between 0 and 86400, got {value}")
    return number


def day(value: str) -> datetime:
    """A ``YYYY-MM-DD`` date, as the start of that day in UTC."""
    try:
        return datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None
