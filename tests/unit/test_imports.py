"""The layers stay layers: no two of the project's modules import each other, directly or
through others — counting imports inside functions, which hide a cycle without removing it."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("graph", "state", "agents", "console", "bench")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _owner(name: str, modules: dict[str, Path]) -> str | None:
    """The project module ``name`` refers to (``graph.chain.Stage`` -> ``graph.chain``)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def import_graph() -> dict[str, set[str]]:
    """Each module's imports of other project modules (a package and its own modules aside:
    ``graph/__init__`` re-exports ``graph.chain`` without a cycle)."""
    modules = _modules()
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        owners = {_owner(n, modules) for n in _imported(path)}
        edges[name] = {
            o
            for o in owners
            if o and o != name and not o.startswith(f"{name}.") and not name.startswith(f"{o}.")
        }
    return edges


def test_the_graph_sees_the_project() -> None:
    edges = import_graph()
    assert "graph.runtime.executor" in edges["graph.runtime.jobs"]
    assert "state.run_events" in edges["console.timeline"]
    assert len(edges) > 150


def test_no_import_cycle() -> None:
    try:
        order = list(TopologicalSorter(import_graph()).static_order())
    except CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        raise AssertionError(f"import cycle: {cycle}") from None
    assert order.index("state.nodes") < order.index("graph.chain")  # state is below graph


def test_a_cycle_would_be_found(tmp_path: Path) -> None:
    """The check itself: two modules importing each other inside functions are a cycle."""
    graph = {"a": {"b"}, "b": {"a"}}
    with pytest.raises(CycleError) as found:
        list(TopologicalSorter(graph).static_order())
    assert set(found.value.args[1]) == {"a", "b"}
    hidden = tmp_path / "m.py"
    hidden.write_text("def f():\n    from graph.chain import Stage\n    import state.nodes\n")
    assert _imported(hidden) == {"graph.chain.Stage", "state.nodes"}


def test_agents_llm_names_each_load_from_their_module() -> None:
    """``agents.llm`` loads its names lazily: the table and ``__all__`` list the same names, and
    each one is the object its submodule defines."""
    import importlib

    import agents.llm as llm

    table = llm._MODULE_OF
    assert sorted(llm.__all__) == sorted(table)
    for name, module in table.items():
        assert getattr(llm, name) is getattr(importlib.import_module(f"agents.llm.{module}"), name)
