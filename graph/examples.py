"""A workflow's example inputs: JSON files shipped inside its package (``examples/*.json``),
found as package data so they ship in a wheel too."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def examples_of(package: str, first: tuple[str, ...] = ()) -> dict[str, Path]:
    """The ``examples/*.json`` files of ``package`` by name; ``first`` names lead, in order
    (the scenario suite injects faults into the first example)."""
    folder = Path(str(files(package).joinpath("examples")))
    found = {p.stem: p for p in sorted(folder.glob("*.json"))}
    ordered = {name: found[name] for name in first if name in found}
    return ordered | {name: path for name, path in found.items() if name not in ordered}
