"""``waybill up``: the main job: Redis (embedded unless REDIS_URL), a worker, the console.

Prints the console's URL; on Ctrl+C, SIGTERM or SIGHUP (its terminal closed; not under
``nohup``) it stops everything it started and leaves no process behind (children run in their
own process groups, so a terminal's signals reach ``up`` alone: it stops them). A second one
while it stops ends them at once. A process killed by a signal is started again; one that
exits on its own stops the rest (``console.cli.supervise``).
"""

from __future__ import annotations

import argparse
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from functools import partial
from os import getpid
from socket import gethostname
from types import FrameType
from typing import Any

from agents.llm.models import check_configured_model
from console.cli import args as argtypes
from console.cli.backend import checked_queue_url
from console.cli.errors import CliError
from console.cli.ports import require_free_port
from console.cli.supervise import Child, Valkey
from console.cli.terminal import after_echo, say
from console.launch import kill_all, spawn_console, spawn_worker, stop_all
from console.origin import http_url
from state.control.errors import RedisUnavailable
from state.control.plane import ControlPlane
from state.control.users import UserStore
from state.embedded import resolve_redis_url
from state.settings import get_settings
from state.signals import stop_signals


def add_parser(sub: Any) -> None:
    """Register ``waybill up`` and ``waybill console`` on the subcommands ``sub``."""
    p = sub.add_parser("up", help="start Redis (embedded), a worker and the console")
    p.add_argument(
        "--workers", type=argtypes.int_between(0, 64), default=1, help="how many workers to start"
    )
    p.add_argument("--port", type=PORT, help="console port (default: WAYBILL_CONSOLE_PORT)")
    p.set_defaults(func=cmd_up)
    c = sub.add_parser("console", help="start only the console (on the configured Redis)")
    c.add_argument("--port", type=PORT, help="console port (default: WAYBILL_CONSOLE_PORT)")
    c.set_defaults(func=cmd_console)


PORT = argtypes.int_between(1, 65535)


class _StopRequestedError(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _StopRequestedError


def _hurry_on_signal(
    children: list[subprocess.Popen[bytes]], stops: Iterable[signal.Signals]
) -> None:
    """From now on, a stop signal (an impatient second Ctrl+C) ends ``children`` at once
    instead of interrupting their stopping half-way: a run in progress resumes from its last
    checkpoint on the next worker, as after a crash."""

    def hurry(signum: int, frame: FrameType | None) -> None:
        say("waybill: stopping now")
        kill_all(children)

    for signum in stops:
        signal.signal(signum, hurry)


def _restore(previous: dict[signal.Signals, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def _serve(with_workers: int, port: int | None) -> int:
    settings = get_settings()
    if with_workers:
        check_configured_model()  # before its workers take runs their agents could not answer
    port = port or settings.console_port
    require_free_port(settings.console_host, port, "console", "--port N (or WAYBILL_CONSOLE_PORT)")
    # Our own handlers first, so the embedded server's owner does not exit under us. SIGHUP
    # too: when its terminal closes, only `up` hears it (its children run in sessions of their
    # own), and they would be left running.
    stops = stop_signals()
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, *stops)}
    for signum in stops:
        signal.signal(signum, _raise_stop)
    embedded = None
    try:
        url, embedded = resolve_redis_url(settings, handle_signals=False, supervised=True)
        first_admin = _prepare(url)
    except BaseException:
        if embedded is not None:
            embedded.close()
        _restore(previous)
        raise
    host, origins = settings.console_host, settings.console_origins
    children = [
        Child(
            f"worker {i}", partial(spawn_worker, url, f"waybill-{gethostname()}-up{getpid()}-{i}")
        )
        for i in range(1, with_workers + 1)
    ]
    children.append(Child("the console", partial(spawn_console, url, host, port, origins)))
    where = "embedded Valkey" if embedded else "REDIS_URL"
    print(f"waybill: Redis: {where}; workers: {with_workers}", flush=True)
    print(f"waybill: console at {http_url(settings.console_host, port)}", flush=True)
    if first_admin is not None:
        print(
            f"waybill: first run: created the console user 'admin' (role admin) with password "
            f"{first_admin}\n         change it with `waybill user passwd admin`; add users "
            "with `waybill user add NAME --role viewer|approver|admin`",
            flush=True,
        )
    code = 0
    valkey = Valkey(embedded)
    try:
        while all(child.check() for child in children) and valkey.check():
            time.sleep(0.5)
        code = 1
    except (_StopRequestedError, KeyboardInterrupt):
        pass
    finally:
        procs = [child.proc for child in children]
        _hurry_on_signal(procs, previous.keys())
        say(f"{after_echo(sys.stdout)}waybill: stopping")
        stop_all(procs)
        if embedded is not None:
            embedded.close()
        _restore(previous)
    return code


def _prepare(url: str) -> str | None:
    """Check the state's Redis and the queue's, as every command does (one-line ``CliError``:
    workers and the console would fail on them one by one), then ``ensure_first_admin``."""
    try:
        cp = ControlPlane.from_url(url)
    except RedisUnavailable as exc:
        raise CliError(str(exc)) from None
    try:
        checked_queue_url(url, cp.client)
        return ensure_first_admin(cp)
    finally:
        cp.close()


def ensure_first_admin(cp: ControlPlane) -> str | None:
    """On a store with no users, create ``admin`` with a random password and return it.

    The console needs a login; a first ``make up`` must still give a working console, so the
    password is printed once to the terminal that started it (the audit log records the act).
    """
    users = UserStore(cp.client)
    if users.list():
        return None
    password = secrets.token_urlsafe(12)
    users.add("admin", "admin", password)
    cp.audit.append("waybill up", "user.add", "admin", {"role": "admin", "first_run": True})
    return password


def cmd_up(args: argparse.Namespace) -> int:
    """Serve Redis, ``--workers`` workers and the console until Ctrl+C or SIGTERM; 1 when a
    child exited on its own, else 0."""
    return _serve(args.workers, args.port)


def cmd_console(args: argparse.Namespace) -> int:
    """Serve the console alone (Redis as for ``up``, no worker) until Ctrl+C or SIGTERM; 1
    when it exited on its own, else 0."""
    return _serve(0, args.port)
