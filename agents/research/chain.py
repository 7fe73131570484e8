"""The research chain: gather notes from the shipped library, summarise over two hops,
fact-check the summary against the notes, write the brief.

gather -> digest -> synthesise -> fact_check -> write, with a budgeted back edge
synthesise -> gather (ask for more notes). Notes travel with every handoff (``Carried``), so
each gate can check that a claim still says what the notes it cites say: the lossy-summary
problem caught at the hop where it happens.
"""

from __future__ import annotations

import re
from typing import Literal

from agents.research import agents
from agents.research.contracts import (
    Brief,
    CheckedSummary,
    Digest,
    Notes,
    ResearchRequest,
    Synthesis,
)
from agents.research.domain import new_sources, relevant, unsupported
from graph import (
    END,
    Budgets,
    Chain,
    Edge,
    FaultContext,
    InvariantContext,
    Json,
    Stage,
    examples_of,
    fault,
    gate_node,
    invariant,
)

# --- domain invariants -----------------------------------------------------------------------


@invariant("FM-2.3")
def notes_on_topic(out: Notes, ictx: InvariantContext) -> str | None:
    """Every note comes from a library document tagged for the question it serves."""
    library = ictx.sources["library"]
    for note in out.notes:
        doc = library.read(note.doc).value
        question = out.questions[note.question] if note.question < len(out.questions) else ""
        if doc is None or not relevant(doc, question):
            return f"note {note.id} from {note.doc} does not serve question {question!r}"
    return None


def _texts(out: Notes, cites: list[str]) -> list[str]:
    by_id = {n.id: n.text for n in out.notes}
    return [by_id[c] for c in cites if c in by_id]


@invariant("FM-1.4")
def claims_supported(out: Digest, ictx: InvariantContext) -> str | None:
    """Every claim says what the notes it cites say (figures and content words)."""
    for claim in out.claims:
        problem = unsupported(claim.text, _texts(out, claim.cites))
        if problem:
            return f"claim {claim.id} is not supported by its notes: {problem}"
    return None


@invariant("FM-2.4")
def every_note_covered(out: Digest, ictx: InvariantContext) -> str | None:
    """Every note is cited by some claim, so none is withheld from the next hop."""
    # A note no claim carries on is information the next hop never sees (e.g. a caveat).
    cited = {c for claim in out.claims for c in claim.cites}
    dropped = [n.id for n in out.notes if n.id not in cited]
    return f"notes {dropped} are carried by no claim: withheld downstream" if dropped else None


@invariant("FM-1.4")
def findings_supported(out: Synthesis, ictx: InvariantContext) -> str | None:
    """Every finding says what the notes it cites say (figures and content words)."""
    for finding in out.findings:
        problem = unsupported(finding.text, _texts(out, finding.cites))
        if problem:
            return f"the finding for question {finding.question} is not supported: {problem}"
    return None


@invariant("FM-3.2")
def checks_complete(out: CheckedSummary, ictx: InvariantContext) -> str | None:
    """Every finding was fact-checked."""
    unchecked = {f.question for f in out.findings} - {c.question for c in out.checks}
    return f"findings for questions {sorted(unchecked)} were not checked" if unchecked else None


@invariant("FM-3.3")
def checks_correct(out: CheckedSummary, ictx: InvariantContext) -> str | None:
    """Each fact-check agrees with the notes, and ``all_supported`` with the checks."""
    findings = {f.question: f for f in out.findings}
    for check in out.checks:
        finding = findings.get(check.question)
        truly = (
            finding is not None and unsupported(finding.text, _texts(out, finding.cites)) is None
        )
        if check.supported != truly:
            return (
                f"the fact-check calls the finding for question {check.question} "
                f"{'supported' if check.supported else 'unsupported'}; the notes say otherwise"
            )
    if out.all_supported != all(c.supported for c in out.checks):
        return "all_supported contradicts the individual checks"
    return None


@invariant("FM-3.1")
def every_question_answered(out: Brief, ictx: InvariantContext) -> str | None:
    """The brief answers every question it was asked."""
    answered = [s.question for s in out.sections if s.answer.strip()]
    missing = [q for q in out.questions if q not in answered]
    return f"the brief ends without answering {missing}" if missing else None


# --- faults ----------------------------------------------------------------------------------


@fault("gather", "silent_error", gate_node("gather", "digest"), "FM-2.3")
def off_topic(payload: Json, fctx: FaultContext) -> Json:
    """gather adds a note from an unrelated document (the canteen menu)"""
    stray = {"id": "N99", "doc": "canteen.md", "question": 0,
             "text": "The town hall canteen will serve a new lunch menu from May."}  # fmt: skip
    return {**payload, "notes": [*payload["notes"], stray]}


@fault("digest", "lossy_summary", gate_node("digest", "synthesise"), "FM-2.4")
def dropped_caveat(payload: Json, fctx: FaultContext) -> Json:
    """digest drops the claim of the last note: the safety data's caveat"""
    return {**payload, "claims": payload["claims"][:-1]}


@fault("synthesise", "lossy_summary", gate_node("synthesise", "fact_check"), "FM-1.4")
def bent_figure(payload: Json, fctx: FaultContext) -> Json:
    """synthesise triples a figure while citing the same notes"""
    findings = [dict(f) for f in payload["findings"]]
    text = findings[0]["text"]
    figure = re.search(r"\d+(?=%)", text) or re.search(r"\d+", text)
    if figure:
        bent = str(int(figure.group(0)) * 3)
        findings[0]["text"] = text[: figure.start()] + bent + text[figure.end() :]
    return {**payload, "findings": findings}


@fault("synthesise", "handoff_loop", gate_node("synthesise", "gather"), "FM-1.5", persistent=True)
def endless_digging(payload: Json, fctx: FaultContext) -> Json:
    """synthesise always asks for more notes, each time a new query"""
    hop = payload.get("hop", 0)
    return {**payload, "needs_more": True, "follow_up": [f"more on {payload['topic']} #{hop}"]}


@fault("fact_check", "silent_error", gate_node("fact_check", "write"), "FM-3.3")
def wrong_verdict(payload: Json, fctx: FaultContext) -> Json:
    """the fact-checker calls a supported finding unsupported"""
    checks = [dict(c) for c in payload["checks"]]
    checks[0] = {**checks[0], "supported": False, "detail": "not in the notes"}
    return {**payload, "checks": checks, "all_supported": False}


@fault("write", "silent_error", gate_node("write", END), "FM-3.1")
def early_finish(payload: Json, fctx: FaultContext) -> Json:
    """the writer stops before the last question"""
    return {**payload, "sections": payload["sections"][:-1]}


FAULTS = (off_topic, dropped_caveat, bent_figure, endless_digging, wrong_verdict, early_finish)

# --- the chain -------------------------------------------------------------------------------


def _route_synthesis(out: Synthesis) -> Literal["gather", "fact_check"]:
    return "gather" if out.needs_more else "fact_check"


def build_chain() -> Chain:
    """The research chain."""
    return Chain(
        name="research",
        description="Gather notes from shipped documents, summarise, fact-check, write a brief.",
        entry="gather",
        stages=(
            Stage("gather", agents.gather, ResearchRequest, Notes, owner="research-desk"),
            Stage("digest", agents.digest, Notes, Digest, owner="research-desk"),
            Stage(
                "synthesise",
                agents.synthesise,
                Digest,
                Synthesis,
                owner="analysts",
                route=_route_synthesis,
            ),
            Stage(
                "fact_check", agents.fact_check, Synthesis, CheckedSummary, owner="fact-checkers"
            ),
            Stage("write", agents.write, CheckedSummary, Brief, owner="editors"),
        ),
        edges=(
            Edge("gather", "digest", invariants=(notes_on_topic,)),
            Edge("digest", "synthesise", invariants=(claims_supported, every_note_covered)),
            Edge("synthesise", "gather", max_traversals=2),
            Edge("synthesise", "fact_check", invariants=(findings_supported,)),
            Edge("fact_check", "write", invariants=(checks_complete, checks_correct)),
            Edge("write", END, invariants=(every_question_answered,)),
        ),
        budgets=Budgets(max_steps=24, max_revisions_per_edge=2, max_wall_s=300),
        faults=FAULTS,
        sources=new_sources,
        examples=examples_of(
            __package__ or "agents.research", first=("pilot_brief", "rider_views")
        ),
    )
