"""Errors the command line reports as one line, without a traceback."""

from __future__ import annotations

from state.errors import WaybillError


class CliError(WaybillError):
    """A user-facing error: printed as ``waybill: <message>``, exit code 1."""
