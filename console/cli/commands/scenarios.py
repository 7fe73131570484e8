"""``waybill scenarios [--workflow NAME]``: run every workflow clean and with each of its faults.

Progress goes to stderr, one line per scenario; the table (markdown, so it can be pasted into
the README) and a summary go to stdout. Exit code 0 when every fault was caught at its handoff,
before any side effect ran on it, with its MAST code, and no clean run was stopped by a gate or
did harm; else 3.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from graph.runtime.registry import default_registry
from graph.runtime.scenarios import ScenarioResult, Summary, run_suite, summarise

EXIT_MISSED = 3
"""A fault was missed or a clean run raised a false alarm (same code as a failed run)."""

COLUMNS = (
    "workflow",
    "scenario",
    "mode",
    "introduced at",
    "caught at",
    "verdict",
    "MAST",
    "result",
)


def add_parser(sub: Any) -> None:
    """Register ``waybill scenarios`` on the subcommands ``sub`` (an argparse subparsers action)."""
    p = sub.add_parser(
        "scenarios",
        help="run every workflow clean and with each injected fault; print where gates caught them",
    )
    p.add_argument("--workflow", metavar="NAME", help="only this workflow (default: all)")
    p.set_defaults(func=cmd_scenarios)


def progress_line(i: int, total: int, result: ScenarioResult, width: int = 20) -> str:
    """``[#####.....]  5/23 refund/guessed_amount: ok``."""
    done = round(width * i / total) if total else width
    bar = "#" * done + "." * (width - done)
    count = f"{i:>{len(str(total))}}/{total}"
    return f"[{bar}] {count} {result.workflow}/{result.scenario}: {result.result}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def row(r: ScenarioResult) -> tuple[str, ...]:
    """One table row: where the fault went in, where it was caught, how, and the outcome."""
    if r.fault:
        verdict = r.verdict or "-"
        result = r.result if r.ok else f"{r.result}: {r.why}"
    else:
        verdict = "pass" if r.verdict is None else r.verdict
        policy = f" (policy: {'; '.join(r.policy)})" if r.policy else ""
        result = (r.result + policy) if r.ok else f"{r.result}: {r.why}"
    return (
        r.workflow,
        r.scenario,
        r.mode or "-",
        r.introduced_at or "-",
        r.caught_at or "-",
        verdict,
        ", ".join(r.mast) or "-",
        result,
    )


def table(results: list[ScenarioResult]) -> list[str]:
    """The results as a markdown table."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cell(c) for c in row(r)) + " |" for r in results]
    return lines


def summary_lines(s: Summary) -> list[str]:
    """The totals in words."""
    return [
        f"faults: {s.caught} of {s.faults} caught at their handoff, before any harm, with their "
        "MAST code; "
        f"clean runs: {s.clean}, false alarms: {s.false_alarms}",
        f"failure modes covered: {', '.join(s.modes) or 'none'}",
        f"MAST codes covered: {len(s.codes)} ({', '.join(s.codes) or 'none'})",
    ]


def cmd_scenarios(args: argparse.Namespace, err: TextIO | None = None) -> int:
    """Run the suite, progress to ``err`` (stderr), the table and summary to stdout; 0 when
    every fault was caught and no clean run raised an alarm, else ``EXIT_MISSED``."""
    stream = err or sys.stderr

    def show(i: int, total: int, result: ScenarioResult) -> None:
        print(progress_line(i, total, result), file=stream, flush=True)

    results = run_suite(default_registry(), args.workflow, on_result=show)
    for line in table(results):
        print(line)
    summary = summarise(results)
    print()
    for line in summary_lines(summary):
        print(line)
    return 0 if summary.ok else EXIT_MISSED
