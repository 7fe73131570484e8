"""The ``waybill`` command line.

Every user error (bad input, unknown workflow, unknown fault, Redis unreachable or failing
mid-command, damaged checkpoints) is printed as one line naming the problem, with a non-zero
exit code, never a traceback. Usage errors (a missing or malformed argument) exit with 2, the
rest with 1 (see the README's exit codes). ``WAYBILL_DEBUG=1`` shows the traceback of an
unexpected error instead of its one line.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
from collections.abc import Sequence
from importlib import import_module, metadata

import redis
from pydantic import ValidationError
from pydantic_settings import SettingsError

from console.cli.logfile import route_logs
from console.cli.terminal import after_echo
from console.visible import visible
from state.errors import WaybillError
from state.redis_errors import REDIS_OUTAGE_ERRORS
from state.settings import Settings, get_settings

COMMANDS: dict[str, str] = {
    "run": "run",
    "runs": "runs",
    "show": "runs",
    "decide": "decide",
    "kill": "kill",
    "unkill": "kill",
    "kills": "kill",
    "hold": "hold",
    "release": "hold",
    "holds": "hold",
    "fork": "fork",
    "history": "fork",
    "replay": "replay",
    "prune": "prune",
    "worker": "worker",
    "up": "up",
    "console": "up",
    "user": "user",
    "workflows": "workflows",
    "scenarios": "scenarios",
    "metrics": "metrics",
    "mcp": "mcp",
    "a2a": "a2a",
}
"""Each subcommand and the module of ``console.cli.commands`` that registers and runs it. A
command line loads only its command's module (the protocol servers, LangGraph and the rest load
only for the commands that use them); ``--help`` and a mistyped command load them all."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse prints the whole usage; one line naming the problem is easier to act on.
        self.exit(2, f"waybill: {message} (see `{self.prog} --help`)\n")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``waybill`` parser: the subcommand ``argv`` names, or all of them (for ``--help``,
    or a command that does not exist: argparse then lists the real ones)."""
    parser = _Parser(prog="waybill", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"waybill {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    named = argv[0] if argv else None  # `waybill --help run` is waybill's help: all of them
    wanted = [COMMANDS[named]] if named in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for name in wanted:
        import_module(f"console.cli.commands.{name}").add_parser(sub)
    return parser


def _version() -> str:
    try:
        return metadata.version("waybill")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def _debug() -> bool:
    try:
        return get_settings().debug
    except Exception:  # the settings themselves may be what is broken
        return False


SECRET_SETTINGS = frozenset({"webhooks", "token", "redis_url"})
"""Settings whose values hold secrets: a problem with one is named, its value never shown."""


def settings_problem(exc: ValidationError) -> str:
    """One line naming the first bad setting (by its environment variable) and why."""
    first = exc.errors()[0]
    loc = [str(p) for p in first["loc"]] or ["?"]
    name = "WAYBILL_" + loc[0].upper()
    where = f" at {'.'.join(loc[1:])}" if len(loc) > 1 else ""
    got = "" if loc[0] in SECRET_SETTINGS else f" (got {first.get('input')!r})"
    return f"invalid setting {name}{where}: {first['msg']}{got}"


def _problem(exc: Exception) -> str | None:
    """The one line for an error the CLI knows (None for any other)."""
    if isinstance(exc, WaybillError):  # every error raised on purpose: its message is the user's
        return _one_line(str(exc))
    if isinstance(exc, REDIS_OUTAGE_ERRORS):  # unreachable, too slow, or a cluster failing over
        detail = _one_line(str(exc)).rpartition("caused error: ")[2]
        return f"lost the connection to Redis ({detail})"
    if isinstance(exc, redis.RedisError):
        detail = _one_line(str(exc)).rpartition("caused error: ")[2]
        return f"Redis refused a command ({detail})"
    if isinstance(exc, ValidationError) and exc.title == Settings.__name__:
        return settings_problem(exc)
    if isinstance(exc, SettingsError):  # a setting that should be JSON is not
        field = re.search(r'field "(\w+)"', str(exc))
        name = f"WAYBILL_{field.group(1).upper()}" if field else "(unknown)"
        return f"invalid setting {name}: its value must be JSON (a list or an object)"
    return None


def _output_gone() -> None:
    """Point standard output at /dev/null: what is still buffered for a reader that went away
    must not fail again when the interpreter flushes it at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``waybill`` script; returns the exit code."""
    if argv is None:
        argv = sys.argv[1:]
    args = build_parser(argv).parse_args(argv)
    route_logs(args.command)
    try:
        code: int = args.func(args)
        if not sys.stdout.closed:  # (`waybill mcp` hands stdout to the protocol, which closes it)
            sys.stdout.flush()  # here, not at exit: a reader that went away is seen below
    except BrokenPipeError:  # the reader of the output went away (`| head`): quiet, as `cat`
        _output_gone()
        return 128 + signal.SIGPIPE
    except KeyboardInterrupt:  # on a terminal, after its echoed ^C (or a prompt): a new line
        print(f"{after_echo(sys.stderr)}waybill: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        problem = _problem(exc)
        if problem is None:
            # The last resort of "no traceback reaches a user": one line, and how to see more.
            if _debug():
                raise
            problem = (
                f"unexpected error ({type(exc).__name__}: {_one_line(str(exc))[:300]}); "
                "run again with WAYBILL_DEBUG=1 for the traceback"
            )
        print(f"waybill: {visible(problem)}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":  # `python -m console.cli.main`, as `python -m console.cli`
    sys.exit(main())
