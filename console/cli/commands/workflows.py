"""``waybill workflows``: list the registered workflows."""

from __future__ import annotations

import argparse
from typing import Any

from graph.runtime.registry import default_registry


def add_parser(sub: Any) -> None:
    """Register ``waybill workflows`` on the subcommands ``sub`` (an argparse subparsers action)."""
    p = sub.add_parser(
        "workflows",
        help="list the registered workflows (exit 1 if any is broken)",
        description="List the registered workflows, then any broken one (BROKEN, with its "
        "error). Exits 1 when a workflow is broken, 0 otherwise.",
    )
    p.set_defaults(func=cmd_workflows)


def cmd_workflows(args: argparse.Namespace) -> int:
    """Print every registered workflow (stages, faults, examples) and every broken one.

    Returns 1 when a workflow is broken (the healthy ones are still listed), else 0.
    """
    registry = default_registry()
    for name in registry.names():
        chain = registry.get(name)
        stages = " -> ".join(s.name for s in chain.stages)
        print(f"{name}: {chain.description}")
        print(f"  stages: {stages}")
        if chain.faults:
            print(f"  faults: {', '.join(f.name for f in chain.faults)}")
        if chain.examples:
            print(f"  examples: {', '.join(str(p) for p in chain.examples.values())}")
    broken = registry.broken()
    for name, error in broken.items():
        print(f"{name}: BROKEN - {error}")
    return 1 if broken else 0
