"""The research specialists: deterministic rule brains (default) and LLM brains (``WAYBILL_MODEL``).

Agents are pure: gather only reads the library; nothing here writes anywhere.
"""

from __future__ import annotations

import re

from agents.llm import llm_brain
from agents.research.contracts import (
    Brief,
    CheckedSummary,
    Claim,
    Digest,
    Finding,
    FindingCheck,
    Note,
    Notes,
    ResearchRequest,
    Section,
    Synthesis,
)
from agents.research.domain import INDEX, keywords, relevant, unsupported
from graph import AgentContext, AgentResult, Json, decided

MAX_HOPS = 1
"""Follow-up gathering rounds synthesise may ask for when a question has no claim."""

_ASIDE = re.compile(r",\s+(?:because|which|and)\b.*$")


def _matches(doc: Json, question: str, broad: bool) -> bool:
    # A follow-up search also looks at titles: the second hop casts a wider net.
    return relevant(doc, question) or (
        broad and relevant({"tags": keywords(doc["title"])}, question)
    )


def _library(inp: ResearchRequest, ctx: AgentContext) -> Json:
    library = ctx.sources["library"]
    index = library.read(INDEX)
    return {"index": index, "documents": {d: library.read(d).value for d in index.value}}


_CITE = "Every claim and finding must cite the ids of notes whose text supports it."


@llm_brain(
    "Quote, as notes, the sentences of the documents in the context that answer the "
    "questions; copy the library index fact into `library`.",
    context=_library,
)
def gather(inp: ResearchRequest, ctx: AgentContext) -> AgentResult[Notes]:
    """Quote each sentence of the documents that serve a question; follow-ups search wider."""
    library = ctx.sources["library"]
    index = library.read(INDEX)
    notes: list[Note] = list(inp.notes) if isinstance(inp, Notes) else []
    seen = {(n.doc, n.text) for n in notes}
    searches = [(qi, q, False) for qi, q in enumerate(inp.questions)]
    searches += [(inp.questions.index(f), f, True) for f in inp.follow_up if f in inp.questions]
    for qi, question, broad in searches:
        for name in index.value:
            doc = library.read(name).value
            if not _matches(doc, question, broad):
                continue
            for sentence in doc["sentences"]:
                if (name, sentence) not in seen:
                    seen.add((name, sentence))
                    notes.append(
                        Note(id=f"N{len(notes) + 1}", doc=name, question=qi, text=sentence)
                    )
    request = {k: getattr(inp, k) for k in ("brief_id", "topic", "questions")}
    hop = inp.hop + 1 if isinstance(inp, Notes) else inp.hop
    out = Notes(**request, hop=hop, library=index, notes=notes)
    docs = sorted({n.doc for n in notes})
    return decided(
        out,
        f"{len(notes)} notes from {', '.join(docs) or 'no document'}",
        "documents whose tags match a question's keywords"
        + (f"; follow-ups {inp.follow_up}" if inp.follow_up else ""),
        agent="librarian",
        alternatives=[d for d in index.value if d not in docs],
        inputs_used=["questions", "follow_up", f"library/{INDEX}"],
    )


def _condense(sentence: str) -> str:
    """Drop a trailing aside (", because ...") and keep the main clause."""
    main = _ASIDE.sub("", sentence.rstrip(".")).strip()
    return main + "."


@llm_brain(
    f"Condense each note into one claim, without adding anything. {_CITE}",
)
def digest(inp: Notes, ctx: AgentContext) -> AgentResult[Digest]:
    """Hop 1: one condensed claim per note, citing the note."""
    claims = [
        Claim(id=f"C{i}", question=n.question, text=_condense(n.text), cites=[n.id])
        for i, n in enumerate(inp.notes, start=1)
    ]
    out = Digest(**inp.model_dump(), claims=claims)
    return decided(
        out,
        f"{len(claims)} claims",
        "each note condensed to its main clause",
        agent="digester",
        inputs_used=["notes"],
    )


@llm_brain(
    "Merge the claims into one finding per question (by index); set needs_more and "
    f"follow_up only if a question has no claim. {_CITE}",
)
def synthesise(inp: Digest, ctx: AgentContext) -> AgentResult[Synthesis]:
    """Hop 2: merge each question's claims into one finding; ask for more if one has none."""
    findings = []
    for qi in range(len(inp.questions)):
        mine = [c for c in inp.claims if c.question == qi]
        if mine:
            cites = sorted({n for c in mine for n in c.cites}, key=lambda n: int(n[1:]))
            findings.append(Finding(question=qi, text=" ".join(c.text for c in mine), cites=cites))
    covered = {f.question for f in findings}
    missing = [q for qi, q in enumerate(inp.questions) if qi not in covered]
    needs_more = bool(missing) and inp.hop < MAX_HOPS
    out = Synthesis(
        **inp.model_dump(exclude={"follow_up"}),
        follow_up=missing if needs_more else [],
        findings=findings,
        needs_more=needs_more,
    )
    return decided(
        out,
        "gather more" if needs_more else f"{len(findings)} findings",
        f"questions without claims: {missing}" if missing else "every question has claims",
        agent="synthesiser",
        alternatives=["fact_check"] if needs_more else [],
        inputs_used=["claims", "questions"],
    )


@llm_brain(
    "Check each finding against the notes it cites: supported only if the notes state it, "
    "figures included.",
)
def fact_check(inp: Synthesis, ctx: AgentContext) -> AgentResult[CheckedSummary]:
    """Check every finding against the notes it cites."""
    by_id = {n.id: n.text for n in inp.notes}
    checks = []
    for f in inp.findings:
        problem = unsupported(f.text, [by_id[c] for c in f.cites if c in by_id])
        checks.append(
            FindingCheck(
                question=f.question, supported=problem is None, detail=problem or "supported"
            )
        )
    out = CheckedSummary(
        **inp.model_dump(), checks=checks, all_supported=all(c.supported for c in checks)
    )
    return decided(
        out,
        "all supported" if out.all_supported else "unsupported findings",
        f"{sum(c.supported for c in checks)} of {len(checks)} findings supported",
        agent="fact-checker",
        inputs_used=["findings", "notes"],
    )


@llm_brain(
    "Write the brief: one section per question, in order, from supported findings only, "
    "with their citations; `text` is the brief as markdown.",
)
def write(inp: CheckedSummary, ctx: AgentContext) -> AgentResult[Brief]:
    """Write a section per question from the supported findings only."""
    ok = {c.question for c in inp.checks if c.supported}
    docs = {n.id: n.doc for n in inp.notes}
    sections = []
    for qi, question in enumerate(inp.questions):
        finding = next((f for f in inp.findings if f.question == qi and qi in ok), None)
        answer = finding.text if finding else "No supported finding in the documents."
        sections.append(
            Section(question=question, answer=answer, cites=finding.cites if finding else [])
        )
    sources = sorted({docs[c] for s in sections for c in s.cites if c in docs})
    text = f"# {inp.topic}\n\n" + "\n\n".join(
        f"## {s.question}\n\n{s.answer} [{', '.join(s.cites)}]" for s in sections
    )
    out = Brief(
        brief_id=inp.brief_id,
        topic=inp.topic,
        questions=inp.questions,
        sections=sections,
        sources=sources,
        text=text,
    )
    return decided(
        out,
        f"{len(sections)} sections from {len(sources)} documents",
        "supported findings only, each with its citations",
        agent="writer",
        inputs_used=["findings", "checks"],
    )
