"""Drawings of a compiled chain: mermaid (README, snapshots) and DOT (the console).

``draw_mermaid_png()`` calls a web service and ``draw_png()`` needs pygraphviz; both fail
offline. DOT text rendered by ``st.graphviz_chart`` needs neither.

The DOT drawing is made in two steps so that a live view does not compile the graph on every
refresh: :func:`topology` (compiles once; cache it per workflow) and :func:`dot` (a string from
a topology, the nodes' statuses, the run's path and the selected node: cheap).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from graph.chain import Chain
from graph.compiler import build_chain_graph
from state.nodes import END, act_node

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


def _edges(chain: Chain, graph: Any) -> list[Any]:
    """The compiled graph's edges ``(source, target, label, conditional)``, with each stage's
    gates drawn as the nodes they are to a reader: a stage's step ends with the verdict of the
    gate of the edge it chose (``graph.handoff``), so its routes (``A->B:pass``, ...) are
    drawn as one arrow into ``gate A->B`` (labelled with ``B``), and the gate's own arrows
    (the same routes, from the gate's node) show where each verdict leads."""
    out: dict[tuple[str, str, str | None, bool], None] = {}
    for edge in graph.edges:
        label = str(edge.data) if edge.data else None
        into = next(
            (e for e in chain.out_edges(edge.source) if label and label.startswith(f"{e.id}:")),
            None,
        )
        if into is None:
            out[(edge.source, edge.target, label, bool(edge.conditional))] = None
        else:
            out[(edge.source, into.gate, into.target, True)] = None
    for stage in chain.stages:  # a run that ended in the stage (a budget, a kill) stops there
        out[(stage.name, END, "stop", True)] = None
    return list(out)


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
    for source, target, data, conditional in sorted(
        _edges(chain, graph), key=lambda e: (e[0], e[1], str(e[2]))
    ):
        label = f"|{data}|" if data else ""
        arrow = "-.->" if conditional else "-->"
        lines.append(f"  {ids[source]} {arrow}{label} {ids[target]}")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class DrawnEdge:
    """One edge of the compiled graph; ``label`` is the route's name on conditional edges."""

    source: str
    target: str
    label: str | None
    conditional: bool


@dataclass(frozen=True)
class Topology:
    """The compiled graph's nodes and edges, and its rows (a stage with its gates, reviews and
    act node), which keep the drawing compact enough to read."""

    nodes: tuple[str, ...]
    edges: tuple[DrawnEdge, ...]
    rows: tuple[tuple[str, ...], ...] = ()


def topology(chain: Chain) -> Topology:
    """Compile ``chain`` once and keep what the drawing needs."""
    graph: Any = build_chain_graph(chain).compile().get_graph()
    nodes = tuple(graph.nodes)
    edges = tuple(DrawnEdge(*edge) for edge in _edges(chain, graph))
    rows = []
    for stage in chain.stages:
        row = [stage.name]
        for edge in chain.edges:
            if edge.source == stage.name:
                row += [edge.gate, edge.review]
        row.append(act_node(stage.name).name)
        rows.append(tuple(n for n in row if n in nodes))
    return Topology(nodes, edges, tuple(rows))


def _shape(node_id: str) -> tuple[str, str]:
    if node_id.startswith("gate "):
        return "diamond", "gate"
    if node_id.startswith("review "):
        return "octagon", "human"
    if node_id.startswith("act "):
        return "hexagon", node_id
    if node_id in ("__start__", "__end__"):
        return "circle", node_id.strip("_")
    return "box", node_id


def _path_edges(path: Iterable[str]) -> set[tuple[str, str]]:
    steps = list(path)
    return set(itertools.pairwise(steps))


def _node_line(
    node_id: str,
    status: Mapping[str, str],
    selected: str | None,
    href: Callable[[str], str] | None,
) -> str:
    shape, label = _shape(node_id)
    colour = STATUS_COLOURS.get(status.get(node_id, "pending"), STATUS_COLOURS["pending"])
    attrs = f"label={_quote(label)}, shape={shape}, fillcolor={_quote(colour)}"
    if shape in ("box", "circle"):
        attrs += ", group=spine"
    if node_id == selected:
        attrs += ', penwidth=3, color="#111827"'
    if href is not None:
        attrs += f', URL={_quote(href(node_id))}, target="_self", tooltip={_quote(node_id)}'
    return f"  {_quote(node_id)} [{attrs}];"


def _layout_lines(topo: Topology) -> list[str]:
    lines = ["  { rank=same; " + " ".join(_quote(n) for n in row) + " }" for row in topo.rows]
    # The stages one under the other, at the left of their rows: the spine of the drawing.
    spine = ["__start__", *(row[0] for row in topo.rows), "__end__"]
    for upper, lower in itertools.pairwise(spine):
        lines.append(f"  {_quote(upper)} -> {_quote(lower)} [style=invis, weight=20];")
    return lines


def _edge_line(
    edge: DrawnEdge,
    status: Mapping[str, str],
    place: Mapping[str, tuple[int, int]],
    walked: set[tuple[str, str]],
) -> str | None:
    style = "dashed" if edge.conditional else "solid"
    attrs = f"style={style}"
    if edge.label in ("block", "stop", "reject") and edge.target == "__end__":
        # Every gate, stage and review can end the run (block, kill, reject): drawing all
        # of those edges buries the chain's own path, so they are left out (the legend
        # says so) unless the run actually ended that way.
        if status.get(edge.source) != "failed":
            return None
        attrs += ', color="#ef4444"'
    elif edge.label:
        attrs += f", label={_quote(edge.label)}"
    if place.get(edge.target, (0, 0)) < place.get(edge.source, (0, 0)):
        # A way back (revise, refresh): drawn lighter, and kept out of the ranking so the
        # rows stay in the chain's order.
        attrs += ', constraint=false, color="#cbd5e1", fontcolor="#94a3b8"'
    if (edge.source, edge.target) in walked:
        attrs += ', penwidth=2.5, color="#1d4ed8"'
    return f"  {_quote(edge.source)} -> {_quote(edge.target)} [{attrs}];"


def dot(
    chain: Chain | Topology,
    node_status: Mapping[str, str] | None = None,
    *,
    path: Iterable[str] = (),
    selected: str | None = None,
    href: Callable[[str], str] | None = None,
) -> str:
    """DOT text of the chain's graph.

    Args:
        chain: The chain, or its :func:`topology` (cached by the caller).
        node_status: Fills (see ``STATUS_COLOURS``); absent nodes are pending.
        path: The nodes the run went through, in order: the edges between them are drawn bold.
        selected: A node to outline.
        href: A link per node (a node then opens it when clicked).
    """
    topo = chain if isinstance(chain, Topology) else topology(chain)
    status = node_status or {}
    walked = _path_edges(path)
    # Where each node sits (row, position in row): an edge to an earlier place is a way back.
    place = {node: (i, j) for i, row in enumerate(topo.rows) for j, node in enumerate(row)}
    place["__start__"], place["__end__"] = (-1, 0), (len(topo.rows), 0)
    lines = [
        "digraph chain {",
        "  rankdir=TB; nodesep=0.25; ranksep=0.35; newrank=true;",
        '  node [style="rounded,filled", fontsize=12, fontname="Helvetica", margin="0.1,0.04"];',
        '  edge [fontsize=10, fontname="Helvetica", color="#6b7280", fontcolor="#4b5563"];',
    ]
    lines += [_node_line(node_id, status, selected, href) for node_id in topo.nodes]
    lines += _layout_lines(topo)
    for edge in topo.edges:
        line = _edge_line(edge, status, place, walked)
        if line is not None:
            lines.append(line)
    lines.append("}")
    return "\n".join(lines)
