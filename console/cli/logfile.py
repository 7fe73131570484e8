"""Where the command line's log records go: a file in the data directory, not the terminal.

A command that executes a run inline (no worker listening) runs the workers' code, which logs
warnings, some with a traceback (a lease renewal that failed during a Redis blip). On a
terminal they would bury the command's one-line answer, so short commands append records to
``<data_dir>/cli.log``; ``worker``, ``up`` and ``console`` keep logging to stderr, as services
do.
"""

from __future__ import annotations

import logging

from state.settings import get_settings

SERVICES = frozenset({"worker", "up", "console"})
LOG_FILE = "cli.log"


MARK = "_waybill_cli_log"
"""Attribute marking the handler this module installed (once per process)."""


def route_logs(command: str) -> None:
    """Send this process's log records to ``<data_dir>/cli.log`` unless it is a service."""
    root = logging.getLogger()
    if command in SERVICES or any(getattr(h, MARK, False) for h in root.handlers):
        return
    try:
        data_dir = get_settings().data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(data_dir / LOG_FILE, delay=True)
    except Exception:  # unreadable settings or an unwritable directory: drop the records
        handler = logging.NullHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    )
    handler.setLevel(logging.WARNING)
    setattr(handler, MARK, True)
    root.addHandler(handler)
