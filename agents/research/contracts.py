"""The research workflow's handoff contracts: what travels between its agents.

Notes travel with every handoff (``Carried``) so that each gate can check a claim against the
notes it cites.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from state.contracts import Carried, Contract, Fact


class Item(BaseModel):
    """Base of the records inside a contract's lists."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Note(Item):
    """One sentence quoted from a library document, for one question."""

    id: str
    doc: str
    question: int = Field(ge=0, description="Index of the question the note serves.")
    text: str


class Claim(Item):
    """A condensed statement for one question, citing the notes it rests on."""

    id: str
    question: int = Field(ge=0)
    text: str
    cites: list[str] = Field(description="Ids of the notes that support the claim.")


class Finding(Item):
    """The answer to one question, merged from claims, citing the notes it rests on."""

    question: int = Field(ge=0)
    text: str
    cites: list[str]


class FindingCheck(Item):
    """The fact-checker's verdict on the finding for one question."""

    question: int = Field(ge=0)
    supported: bool
    detail: str


class Section(Item):
    """The brief's answer to one question, citing its notes."""

    question: str
    answer: str
    cites: list[str]


class ResearchRequest(Contract):
    """What the brief must answer."""

    brief_id: str = Field(min_length=1)
    topic: str = Field(min_length=1)
    questions: list[str] = Field(min_length=1)
    follow_up: list[str] = Field(default_factory=list, description="Extra queries for gather.")
    hop: int = Field(default=0, ge=0, description="Rounds of gathering so far.")


class Notes(ResearchRequest):
    """Notes gathered from the library: sentences quoted from documents, one per note."""

    brief_id: Annotated[str, Carried()]
    topic: Annotated[str, Carried()]
    questions: Annotated[list[str], Carried()]
    library: Fact
    notes: list[Note] = Field(min_length=1)


class Digest(Notes):
    """Hop 1: one condensed claim per note, citing it."""

    library: Annotated[Fact, Carried()]
    notes: Annotated[list[Note], Carried()]
    hop: Annotated[int, Carried()]
    claims: list[Claim]


class Synthesis(Digest):
    """Hop 2: one finding per question, merged from the claims; may ask for more notes."""

    claims: Annotated[list[Claim], Carried()]
    findings: list[Finding]
    needs_more: bool = False


class CheckedSummary(Synthesis):
    """The synthesis with the fact-checker's verdict on every finding."""

    findings: Annotated[list[Finding], Carried()]
    checks: list[FindingCheck]
    all_supported: bool


class Brief(Contract):
    """The written brief: a section per question, from supported findings only."""

    brief_id: Annotated[str, Carried()]
    topic: Annotated[str, Carried()]
    questions: Annotated[list[str], Carried()]
    sections: list[Section]
    sources: list[str]
    text: str = Field(min_length=1)
