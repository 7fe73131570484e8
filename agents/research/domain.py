"""The research workflow's world: a small document library shipped in ``docs/``, and the text
rules its agents and gates share (relevance of a document, support of a claim by notes).

A document is a short markdown file: ``title:`` and ``tags:`` lines, a blank line, sentences.
"""

from __future__ import annotations

import re
from pathlib import Path

from graph import Json, Source
from state.clock import utcnow
from state.contracts import Fact

DOCS = Path(__file__).resolve().parent / "docs"
INDEX = "index"
"""Key under which the library lists its documents."""

_STOP = frozenset(
    """
    a an and are as at be by did do does for from had has how in is it its of on or the
    their them then there these they this to was were what when which who why will with
    much each most more than that over into
    """.split()  # noqa: SIM905 - a word list reads better as text
)
_WORD = re.compile(r"[a-z][a-z'-]*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def words(text: str) -> list[str]:
    """Lower-case words of ``text``, a trailing plural ``s`` dropped (trips -> trip)."""
    out = []
    for w in _WORD.findall(text.lower()):
        out.append(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w)
    return out


def keywords(text: str) -> set[str]:
    """The content words of ``text`` (no stop words, at least three letters)."""
    return {w for w in words(text) if len(w) >= 3 and w not in _STOP}


def numbers(text: str) -> set[str]:
    """Numbers written in ``text`` (``182,000``, ``2.4``, ``14``)."""
    return {n.rstrip(".,") for n in _NUMBER.findall(text)}


def sentences(body: str) -> list[str]:
    """Sentences of a document body (split after ``.``, ``!`` or ``?`` and a space)."""
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", body.strip()) if s.strip()]


def unsupported(claim: str, evidence: list[str]) -> str | None:
    """Why ``evidence`` (note texts) does not support ``claim``, or None when it does.

    Every number of the claim must appear in the evidence, and at least 80% of its content
    words: a condensed sentence passes, a bent figure or an added statement does not.
    """
    if not evidence:
        return "it cites no note"
    text = " ".join(evidence)
    missing_numbers = sorted(numbers(claim) - numbers(text))
    if missing_numbers:
        return f"its figures {missing_numbers} are in none of the notes it cites"
    claim_words = keywords(claim)
    missing = sorted(claim_words - keywords(text))
    if claim_words and len(missing) > 0.2 * len(claim_words):
        return f"its words {missing} are not in the notes it cites"
    return None


def parse_doc(text: str) -> Json:
    """A document's ``title``, ``tags`` and ``sentences``."""
    head, _, body = text.partition("\n\n")
    meta = dict(
        (k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in head.splitlines())
    )
    return {
        "title": meta.get("title", ""),
        "tags": sorted(keywords(meta.get("tags", "").replace(",", " "))),
        "sentences": sentences(body),
    }


def relevant(doc: Json, question: str) -> bool:
    """A document serves a question when one of its tags is a keyword of the question."""
    return bool(set(doc["tags"]) & keywords(question))


class Library:
    """The shipped documents; each read is stamped with the document's version."""

    name = "library"

    def __init__(self, root: Path = DOCS) -> None:
        self._docs = {p.name: parse_doc(p.read_text()) for p in sorted(root.glob("*.md"))}
        self._versions = dict.fromkeys(self._docs, 1)

    def read(self, key: str) -> Fact:
        """Document ``key`` parsed (or, for :data:`INDEX`, the list of documents)."""
        if key == INDEX:
            value: object = sorted(self._docs)
            version = sum(self._versions.values())
        else:
            value = self._docs.get(key)
            version = self._versions.get(key, 0)
        return Fact(value=value, source=self.name, key=key, version=version, as_of=utcnow())

    def revise(self, key: str, sentences_: list[str]) -> None:
        """Someone edited document ``key``: new sentences, new version."""
        self._docs[key] = {**self._docs[key], "sentences": list(sentences_)}
        self._versions[key] += 1


def new_sources() -> dict[str, Source]:
    """A run's sources of truth: the shipped library, freshly read from disk."""
    return {"library": Library()}
