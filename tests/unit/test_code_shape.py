"""The code's shape (CONVENTIONS.md 1): no module over 300 lines anywhere, and no function over
50 lines in graph/ and state/, so that a fork can read the project a screen at a time.

A function's length runs from its ``def`` line to its last line; nested functions (a node built
inside its factory) count on their own too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import TypeAlias

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 50
Function: TypeAlias = ast.FunctionDef | ast.AsyncFunctionDef


def modules(package: str) -> list[tuple[str, str, ast.Module]]:
    """``(path from the root, source, tree)`` of every module under ``package``."""
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        found.append((path.relative_to(ROOT).as_posix(), source, ast.parse(source, str(path))))
    return found


def functions(node: ast.AST, prefix: str = "") -> Iterator[tuple[str, Function]]:
    """Every function under ``node`` with its dotted name (``make_stage_node.node``)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            name = f"{prefix}{child.name}"
            if not isinstance(child, ast.ClassDef):
                yield name, child
            yield from functions(child, f"{name}.")
        else:
            yield from functions(child, prefix)


def length(fn: Function) -> int:
    end = fn.end_lineno if fn.end_lineno is not None else fn.lineno
    return end - fn.lineno + 1


@pytest.mark.parametrize("package", ["graph", "state", "agents", "console", "bench", "tests"])
def test_no_module_over_300_lines(package: str) -> None:
    too_long = [
        f"{path} ({len(source.splitlines())} lines)"
        for path, source, _ in modules(package)
        if len(source.splitlines()) > MAX_MODULE_LINES
    ]
    assert not too_long, (
        f"modules over {MAX_MODULE_LINES} lines (split them by concern): " + "; ".join(too_long)
    )


@pytest.mark.parametrize("package", ["graph", "state"])
def test_no_function_over_50_lines(package: str) -> None:
    too_long = [
        f"{path}:{fn.lineno} {name} ({length(fn)} lines)"
        for path, _, tree in modules(package)
        for name, fn in functions(tree)
        if length(fn) > MAX_FUNCTION_LINES
    ]
    assert not too_long, (
        f"functions over {MAX_FUNCTION_LINES} lines (extract helpers): " + "; ".join(too_long)
    )


def test_the_checks_see_what_they_measure() -> None:
    tree = ast.parse("def outer():\n    def inner():\n        pass\n    return inner\n")
    assert [(name, length(fn)) for name, fn in functions(tree)] == [
        ("outer", 4),
        ("outer.inner", 2),
    ]
    assert {path for path, _, _ in modules("graph")} >= {"graph/stage.py", "graph/draw.py"}
