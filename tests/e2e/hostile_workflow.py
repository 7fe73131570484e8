"""``hostile``: a one-stage test workflow whose agent output is hostile markup.

Its payload and decision record carry a ``<script>``, an ``<img>`` pointing off-host and
markdown links: the console must show them as text, run no script and fetch nothing.
"""

from __future__ import annotations

from pydantic import Field

from graph.agent import AgentContext, AgentResult
from graph.chain import Chain, Edge, Stage
from state.budgets import Budgets
from state.contracts import Contract
from state.decisions import DecisionRecord
from state.nodes import END

EVIL_HOST = "203.0.113.7"  # TEST-NET-3: never routable
HOSTILE = (
    "<script>window.__pwned = 1; document.title = 'pwned'</script>"
    f'<img src="http://{EVIL_HOST}/pixel.png" onerror="window.__pwned = 2">'
    f" [click me](http://{EVIL_HOST}/phish) ![logo](http://{EVIL_HOST}/logo.png) **bold**"
)


class Note(Contract):
    text: str = Field(min_length=1)


class Echo(Contract):
    text: str
    summary: str


def _echo(inp: Contract, ctx: AgentContext) -> AgentResult[Echo]:
    assert isinstance(inp, Note)
    return AgentResult(
        Echo(text=inp.text, summary=HOSTILE),
        DecisionRecord(chosen=HOSTILE, rationale=f"echoing {inp.text}", alternatives=[HOSTILE]),
    )


def build_chain() -> Chain:
    return Chain(
        name="hostile",
        description="An agent whose output is hostile markup (for rendering tests).",
        entry="echo",
        stages=(Stage("echo", _echo, Note, Echo, owner="tests"),),
        edges=(Edge("echo", END),),
        budgets=Budgets(max_steps=5, max_wall_s=60),
    )
