"""How much a person or a caller may hand a run at once: its input, an edited payload, a fork's
values (``WAYBILL_MAX_INPUT_BYTES``).

What is accepted is stored in Redis and then copied into every checkpoint of the run, so the
size is checked where it enters, in the run service, before anything is validated or stored:
every entry point (the command line, the console, A2A) gets the same refusal. It is never
checked again on what a run already holds: lowering the limit strands no run.

A person's words (a kill or hold reason, a decision's comment) have a fixed cap,
``MAX_NOTE_CHARS``: they are copied into run records, the audit log and every webhook body.
"""

from __future__ import annotations

import json
from typing import Any

from graph.runtime.principal import InputTooLarge, ServiceError
from state.settings import get_settings

LIMIT_NAME = "WAYBILL_MAX_INPUT_BYTES"
"""The variable that sets the limit, named in every refusal."""

MAX_NOTE_CHARS = 2000
"""The longest kill or hold reason, or decision comment, accepted (characters)."""


def json_size(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON (no whitespace between tokens)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return len(text.encode("utf-8", errors="surrogatepass"))


def readable(size: int) -> str:
    """``size`` bytes for people: ``512 bytes``, ``3.5 KiB``, ``20.0 MiB``."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


def too_large(what: str, size: int, limit: int, *, over: bool = False) -> str:
    """The one-line refusal: ``what`` is ``size`` bytes (``over``: at least), over ``limit``."""
    shown, cap = readable(size), readable(limit)
    if shown == cap:  # 1.0 MiB against 1.0 MiB would not say why: show the bytes
        shown, cap = f"{size} bytes", f"{limit} bytes"
    return f"{what} is {'over ' if over else ''}{shown}; the limit is {cap} ({LIMIT_NAME})"


def check_size(value: Any, what: str, limit: int | None = None) -> None:
    """Refuse ``value`` when its JSON is longer than ``limit`` (default: the setting).

    Args:
        value: what was handed in, as parsed (before any validation).
        what: how the refusal names it, e.g. ``"the input"``.
        limit: bytes; ``None`` reads ``WAYBILL_MAX_INPUT_BYTES``.

    Raises:
        InputTooLarge: one line naming the size and the limit.
    """
    cap = get_settings().max_input_bytes if limit is None else limit
    size = json_size(value)
    if size > cap:
        raise InputTooLarge(too_large(what, size, cap))


def check_note(text: str, what: str) -> None:
    """Refuse a reason or comment longer than ``MAX_NOTE_CHARS``.

    Raises:
        ServiceError: one line naming ``what`` (e.g. ``"a kill reason"``), its length and the cap.
    """
    if len(text) > MAX_NOTE_CHARS:
        raise ServiceError(f"{what} is {len(text):,} characters; the limit is {MAX_NOTE_CHARS:,}")
