"""Topology snapshots: a change to a workflow's graph must be deliberate.

Each workflow's snapshot is ``topology.mmd`` beside the module that builds it (for the reference
workflows, ``agents/<name>/topology.mmd``). Create or regenerate them with
``WAYBILL_UPDATE_SNAPSHOTS=1 pytest tests/unit/test_topology.py`` (a new workflow found through
``WAYBILL_WORKFLOW_MODULES`` gets its own the same way) and update the README's diagram.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from graph.draw import dot, mermaid, topology
from graph.runtime.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
WORKFLOWS = Registry().names()


@pytest.mark.parametrize("name", WORKFLOWS)
def test_topology_matches_snapshot(name: str) -> None:
    registry = Registry()
    text = mermaid(registry.get(name))
    snapshot = registry.folder(name) / "topology.mmd"
    if os.environ.get("WAYBILL_UPDATE_SNAPSHOTS") == "1":
        snapshot.write_text(text)
    assert snapshot.exists(), f"no snapshot for {name}: run with WAYBILL_UPDATE_SNAPSHOTS=1"
    assert text == snapshot.read_text()


def test_readme_shows_the_procurement_diagram() -> None:
    assert (ROOT / "agents" / "procurement" / "topology.mmd").read_text() in README.read_text()


def test_every_edge_has_a_gate_and_a_review() -> None:
    chain = Registry().get("procurement")
    text = mermaid(chain)
    for edge in chain.edges:
        assert f'"{edge.gate}"' in text
        assert f'"{edge.review}"' in text


def test_dot_colours_nodes_by_status() -> None:
    chain = Registry().get("procurement")
    text = dot(chain, {"intake": "passed", "inventory": "failed"})
    assert text.startswith("digraph chain {")
    assert '"intake" [label="intake", shape=box, fillcolor="#86efac", group=spine]' in text
    assert '"inventory" [label="inventory", shape=box, fillcolor="#fca5a5", group=spine]' in text
    assert '"gate intake->inventory" -> "inventory" [style=dashed, label="pass"' in text
    assert '"gate intake->inventory" -> "__end__"' not in text  # ways to stop: not drawn
    failed = dot(chain, {"gate intake->inventory": "failed"})
    assert '"gate intake->inventory" -> "__end__" [style=dashed, color="#ef4444"]' in failed


def test_dot_rows_path_selection_and_links() -> None:
    chain = Registry().get("procurement")
    topo = topology(chain)
    # A stage, its gates and reviews, its act node: one row, in the chain's order.
    assert topo.rows[0] == ("intake", "gate intake->inventory", "review intake->inventory")
    assert topo.rows[-1][0] == "place_order"
    assert "act place_order" in topo.rows[-1]
    assert dot(topo) == dot(chain)  # a cached topology draws the same
    text = dot(
        topo,
        path=["__start__", "intake", "gate intake->inventory", "inventory"],
        selected="inventory",
        href=lambda node: f"/run_detail?run=r1&node={node}",
    )
    assert '"__start__" -> "intake" [style=solid, penwidth=2.5, color="#1d4ed8"]' in text
    bold = '"gate intake->inventory" -> "inventory" [style=dashed, label="pass", penwidth=2.5'
    assert bold in text
    assert '"inventory" -> "gate inventory->sourcing" [style=dashed, label="sourcing"];' in text
    assert 'group=spine, penwidth=3, color="#111827", URL="/run_detail?run=r1&node=inventory"' in (
        text
    )
    assert '{ rank=same; "intake" "gate intake->inventory" "review intake->inventory" }' in text
    # Ways back (a revise) do not rank the rows: drawn light, without constraint.
    back = '"gate intake->inventory" -> "intake" [style=dashed, label="revise", constraint=false'
    assert back in text


def test_dot_quotes_what_it_links() -> None:
    chain = Registry().get("procurement")
    text = dot(chain, href=lambda node: f'/x?node={node}"]; evil [label="x')
    assert 'evil [label="x"' not in text
    assert '\\"]; evil [label=\\"x' in text
