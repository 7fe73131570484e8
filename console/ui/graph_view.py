"""The run's workflow drawing: cached per workflow, coloured by status, path in bold, nodes
that open their own details (handoffs, verdicts, decision records, the state each step wrote).

A node is clicked in the drawing (each node links to ``/run_detail?run=ID&node=NAME``, a
shareable address) or picked in the selector under it; both select the same node.
"""

from __future__ import annotations

import streamlit as st

from console.ui.views import md_escape, show_event
from console.web.links import run_url
from graph.draw import Topology, dot, topology
from graph.runtime.registry import Registry
from state.control.models import RunEvent, RunRecord
from state.run_events import NodeUpdate, parse_node_update
from state.status import TERMINAL_STATUSES

LEGEND = (
    "grey: pending · yellow: running · green: passed · orange: revised · blue: waiting for a "
    "human · red: failed · bold blue arrows: the path this run took. Diamonds are gates, "
    "octagons human reviews, hexagons the act nodes that commit and run actions; lighter arrows "
    "lead back (revise, refresh). Any node can also end the run (block, reject, kill): drawn "
    "only when it did. Click a node to see what it did."
)
NODE_KEY = "detail.node"


@st.cache_resource(show_spinner=False, max_entries=64)
def cached_topology(workflow: str, _registry: Registry) -> Topology:
    """The workflow's compiled graph, built once per workflow for this process."""
    return topology(_registry.get(workflow))


def run_path(updates: list[NodeUpdate], run: RunRecord) -> list[str]:
    """The nodes the run went through, in order (from start, to end once it is over)."""
    path = ["__start__", *(u.node.name for u in updates)]
    return [*path, "__end__"] if run.status in TERMINAL_STATUSES else path


def draw(
    topo: Topology,
    run: RunRecord,
    status: dict[str, str],
    updates: list[NodeUpdate],
    selected: str | None,
) -> None:
    """The drawing, full width (legible at 1,400 px), and its legend."""
    text = dot(
        topo,
        status,
        path=run_path(updates, run),
        selected=selected,
        href=lambda node: run_url(run.run_id, node),
    )
    st.graphviz_chart(text, width="stretch")
    st.caption(LEGEND)


def selected_node(topo: Topology) -> str | None:
    """The node named by the address (``?node=``), if it is one of this workflow's."""
    node = st.query_params.get("node")
    return node if node in topo.nodes else None


def _on_pick() -> None:
    node = st.session_state.get(NODE_KEY)
    if node:
        st.query_params["node"] = str(node)
    else:
        st.query_params.pop("node", None)


def node_picker(topo: Topology) -> str | None:
    """The node selector (outside the live parts, so a refresh never closes it)."""
    current = selected_node(topo) or ""
    if st.session_state.get(NODE_KEY) != current:
        st.session_state[NODE_KEY] = current  # follow a click in the drawing (a new address)
    node = st.selectbox(
        "Node (or click it in the drawing)",
        ["", *topo.nodes],
        format_func=lambda n: n or "(pick a node)",
        key=NODE_KEY,
        on_change=_on_pick,
    )
    return str(node) if node else None


def node_panel(node: str, events: list[RunEvent], status: dict[str, str]) -> None:
    """What ``node`` did in this run: each step's handoffs, verdicts, decisions and state."""
    steps = [e for e in events if (u := parse_node_update(e.data)) and u.node.name == node]
    st.text(f"{node}: {status.get(node, 'pending')}, ran {len(steps)} time(s) in this run")
    if not steps:
        st.caption("This node has not run in this run (yet).")
    for n, event in enumerate(steps, start=1):
        with st.container(border=True, key=f"node-step-{n}"):
            show_event(event)
            with st.expander(f"events of step {n} of {md_escape(node)}"):
                st.json(event.data, expanded=True)
