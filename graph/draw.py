"""Drawings of a compiled chain: mermaid (README, snapshots) and DOT (the console).

``draw_mermaid_png()`` calls a web service and ``draw_png()`` needs pygraphviz; both fail
offline. DOT text rendered by ``st.graphviz_chart`` needs neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graph.chain import Chain
from graph.compiler import build_chain_graph

STATUS_COLOURS: dict[str, str] = {
    "pending": "#e5e7eb",
    "running": "#fde68a",
    "passed": "#86efac",
    "revised": "#fdba74",
    "waiting": "#93c5fd",
    "failed": "#fca5a5",
}


def _ids(nodes: Any) -> dict[str, str]:
    # LangGraph's own draw_mermaid() escapes spaces and '>' in node ids into a form GitHub's
    # mermaid does not parse; plain ids with the real name as the label render everywhere.
    return {name: f"n{i}" for i, name in enumerate(nodes)}


def mermaid(chain: Chain) -> str:
    """The chain's compiled LangGraph topology as mermaid text (stages, gates, human reviews,
    and the ``act`` nodes where a passed proposal is committed and its actions run).

    Solid arrows are fixed edges; dotted ones are conditional, labelled with the route taken.
    """
    graph: Any = build_chain_graph(chain).compile().get_graph()
    ids = _ids(graph.nodes)
    lines = ["flowchart TD"]
    for name, nid in ids.items():
        if name in ("__start__", "__end__"):
            lines.append(f'  {nid}(["{name.strip("_")}"])')
        elif name.startswith("gate "):
            lines.append(f'  {nid}{{"{name}"}}')
        elif name.startswith("review "):
            lines.append(f'  {nid}[/"{name}"/]')
        elif name.startswith("act "):
            lines.append(f'  {nid}{{{{"{name}"}}}}')
        else:
            lines.append(f'  {nid}["{name}"]')
    for edge in sorted(graph.edges, key=lambda e: (e.source, e.target, str(e.data))):
        label = f"|{edge.data}|" if edge.data else ""
        arrow = "-.->" if edge.conditional else "-->"
        lines.append(f"  {ids[edge.source]} {arrow}{label} {ids[edge.target]}")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(chain: Chain, node_status: Mapping[str, str] | None = None) -> str:
    """DOT text of the chain's graph; nodes filled by ``node_status`` (see STATUS_COLOURS)."""
    graph: Any = build_chain_graph(chain).compile().get_graph()
    status = node_status or {}
    lines = ["digraph chain {", "  rankdir=LR;", '  node [style="rounded,filled", fontsize=10];']
    for node_id in graph.nodes:
        label = {"__start__": "start", "__end__": "end"}.get(node_id, node_id)
        shape = "box"
        if node_id.startswith("gate "):
            shape, label = "diamond", "gate"
        elif node_id.startswith("review "):
            shape, label = "octagon", "human"
        elif node_id.startswith("act "):
            shape, label = "hexagon", node_id
        elif node_id in ("__start__", "__end__"):
            shape = "circle"
        colour = STATUS_COLOURS.get(status.get(node_id, "pending"), STATUS_COLOURS["pending"])
        attrs = f"label={_quote(label)}, shape={shape}, fillcolor={_quote(colour)}"
        lines.append(f"  {_quote(node_id)} [{attrs}];")
    for edge in graph.edges:
        style = "dashed" if edge.conditional else "solid"
        attrs = f"style={style}"
        if edge.data in ("block", "stop", "reject") and edge.target == "__end__":
            # Every gate, stage and review can end the run (block, kill, reject): drawing all
            # of those edges buries the chain's own path, so they are left out (the legend
            # says so) unless the run actually ended that way.
            if status.get(edge.source) != "failed":
                continue
            attrs += ', color="#ef4444"'
        elif edge.data:
            attrs += f", label={_quote(str(edge.data))}, fontsize=8"
        lines.append(f"  {_quote(edge.source)} -> {_quote(edge.target)} [{attrs}];")
    lines.append("}")
    return "\n".join(lines)
