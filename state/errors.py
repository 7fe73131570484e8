"""The one root of every error Waybill raises on purpose: the CLI and the console catch it once
and show its message (one line for the user); anything else is a bug and is logged."""

from __future__ import annotations


class WaybillError(Exception):
    """An operation Waybill refuses or cannot do; the message is one line for the user."""
