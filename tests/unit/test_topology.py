"""Topology snapshots: a change to a reference workflow's graph must be deliberate.

Regenerate a snapshot with ``WAYBILL_UPDATE_SNAPSHOTS=1 pytest tests/unit/test_topology.py``
and update the README's diagram with it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from graph.draw import dot, mermaid
from graph.runtime.registry import Registry

SNAPSHOTS = Path(__file__).parent / "snapshots"
README = Path(__file__).resolve().parents[2] / "README.md"
WORKFLOWS = Registry().names()


@pytest.mark.parametrize("name", WORKFLOWS)
def test_topology_matches_snapshot(name: str) -> None:
    text = mermaid(Registry().get(name))
    snapshot = SNAPSHOTS / f"{name}.mmd"
    if os.environ.get("WAYBILL_UPDATE_SNAPSHOTS") == "1":
        snapshot.write_text(text)
    assert snapshot.exists(), f"no snapshot for {name}: run with WAYBILL_UPDATE_SNAPSHOTS=1"
    assert text == snapshot.read_text()


def test_readme_shows_the_procurement_diagram() -> None:
    assert (SNAPSHOTS / "procurement.mmd").read_text() in README.read_text()


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
    assert '"intake" [label="intake", shape=box, fillcolor="#86efac"]' in text
    assert '"inventory" [label="inventory", shape=box, fillcolor="#fca5a5"]' in text
    assert '"gate intake->inventory" -> "inventory" [style=dashed, label="pass"' in text
    assert '"gate intake->inventory" -> "__end__"' not in text  # ways to stop: not drawn
    failed = dot(chain, {"gate intake->inventory": "failed"})
    assert '"gate intake->inventory" -> "__end__" [style=dashed, color="#ef4444"]' in failed
