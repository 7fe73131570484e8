"""Searching runs: by workflow, status, stage reached, user, date, and the text of their inputs
and payloads; with the tokens and cost each run (and each of its stages) spent.

Redis has no full-text index here (plain Redis, no RediSearch), so a search walks the run index
newest first — the indexed filters (workflow, status, date range) narrow it for free — and reads
the other fields of at most ``scan`` runs, in batches of one pipeline each. The result says how
many runs it examined and whether that was all of the candidates, so a search never pretends to
be complete when it was not.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from datetime import datetime

import redis
from pydantic import BaseModel, ConfigDict, Field

from state.control.connection import text, texts
from state.control.errors import DamagedRun
from state.control.events import events_key, parse_event
from state.control.inputs import inputs_key
from state.control.models import DamagedRecord, RunEvent, RunRecord, to_epoch
from state.control.run_index import index_key
from state.control.run_records import read_record
from state.keys import run_key
from state.run_events import AgentDecided, HandoffProposed, NodeUpdate, node_updates
from state.status import RunStatus

BATCH = 100
"""Runs read per round trip."""
EVENTS_PER_RUN = 2000
"""Events read per run (a run's stream is capped far below this by default)."""


class RunQuery(BaseModel):
    """What to look for; every filter given must match."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workflow: str | None = None
    status: RunStatus | None = None
    stage: str | None = Field(default=None, description="The run reached this stage.")
    user: str | None = Field(default=None, description="Who started the run.")
    since: datetime | None = None
    until: datetime | None = None
    text: str = Field(
        default="", description="Case-insensitive, in the run's input or any handoff's payload."
    )
    limit: int = Field(default=50, ge=1, le=500)
    scan: int = Field(default=2000, ge=1, le=50_000, description="Runs examined at most.")


class StageUsage(BaseModel):
    """What one stage's agents spent on models."""

    model_config = ConfigDict(extra="forbid")

    tokens: int = 0
    cost: float = 0.0


class Usage(BaseModel):
    """What a run's agents spent on models, in all and per stage."""

    model_config = ConfigDict(extra="forbid")

    tokens: int = 0
    cost: float = 0.0
    by_stage: dict[str, StageUsage] = Field(default_factory=dict)


class RunHit(BaseModel):
    """A run that matched, with what it spent and where the text matched."""

    model_config = ConfigDict(extra="forbid")

    record: RunRecord
    usage: Usage
    matched: str = Field(default="", description="Where the text was found, e.g. 'input'.")


class SearchResult(BaseModel):
    """The runs found, newest first, and how much of the index was looked at."""

    model_config = ConfigDict(extra="forbid")

    hits: list[RunHit]
    examined: int
    candidates: int
    """Runs the indexed filters (workflow, status, dates) left."""
    damaged: list[DamagedRecord] = Field(default_factory=list)
    """Runs examined but skipped: their records cannot be read."""

    @property
    def complete(self) -> bool:
        """True when every candidate was examined (or the limit was reached)."""
        return self.examined >= self.candidates


def usage_of(updates: list[NodeUpdate]) -> Usage:
    """Tokens and cost of a run's agent decisions, in all and per stage."""
    usage = Usage()
    for update in updates:
        for decided in update.of_kind(AgentDecided):
            record = decided.record
            stage = usage.by_stage.setdefault(record.stage or update.node.stage, StageUsage())
            stage.tokens += record.tokens
            stage.cost += record.cost
            usage.tokens += record.tokens
            usage.cost += record.cost
    return usage


def fold(value: str) -> str:
    """Text as compared by a search: case-insensitive, and one Unicode spelling of each letter
    (``ü`` typed as one code point or as ``u`` plus a combining mark)."""
    return unicodedata.normalize("NFC", value).casefold()


def strings(value: object) -> Iterator[str]:
    """Every key and scalar of a JSON value as a person wrote it: strings unescaped (a search for
    a backslash or ``u00fc`` must not match JSON's escapes), other scalars in their JSON
    spelling."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)
    elif isinstance(value, str):
        yield value
    else:
        yield json.dumps(value, default=str)


def request_strings(raw: object, summary: str) -> list[str]:
    """The searchable text of a run's input: its stored request (JSON; kept as it is when it
    does not parse) and the summary the runs table shows."""
    stored = text(raw)
    try:
        found = list(strings(json.loads(stored))) if stored else []
    except ValueError:
        found = [stored]
    return [*found, summary]


def _match(query: RunQuery, request: list[str], updates: list[NodeUpdate]) -> str | None:
    """Where the query's stage and text match the run (``""``: no text asked), else None."""
    proposed = [h for u in updates for h in u.of_kind(HandoffProposed)]
    if query.stage is not None and not any(u.node.stage == query.stage for u in updates):
        return None
    needle = fold(query.text.strip())
    if not needle:
        return ""
    if any(needle in fold(s) for s in request):
        return "input"
    for handoff in proposed:
        if any(needle in fold(s) for s in strings(handoff.payload)):
            return f"handoff #{handoff.seq} ({handoff.stage})"
    return None


def _readable(run_id: str, fields: object, damaged: list[DamagedRecord]) -> RunRecord | None:
    """The run's record; ``None`` when it is gone or damaged (then added to ``damaged``)."""
    try:
        return read_record(run_id, fields)
    except DamagedRun as exc:
        damaged.append(DamagedRecord(run_id=run_id, problem=exc.problem))
        return None


def _events(entries: list[tuple[object, dict[object, object]]]) -> list[RunEvent]:
    return [
        parse_event(text(eid), {text(k): text(v) for k, v in fields.items()})
        for eid, fields in entries
    ]


class RunSearch:
    """Run searches over one Redis (the control plane's client)."""

    def __init__(self, client: redis.Redis, *, batch: int = BATCH) -> None:
        self._r = client
        self.batch = batch

    def find(self, query: RunQuery) -> SearchResult:
        """The newest runs matching ``query``, up to its limit, examining at most ``scan``."""
        index = index_key(workflow=query.workflow, status=query.status)
        high = to_epoch(query.until) if query.until else "+inf"
        low = to_epoch(query.since) if query.since else "-inf"
        candidates = int(self._r.zcount(index, low, high))
        hits: list[RunHit] = []
        damaged: list[DamagedRecord] = []
        examined = 0
        while examined < min(candidates, query.scan) and len(hits) < query.limit:
            size = min(self.batch, query.scan - examined)
            ids = texts(self._r.zrevrangebyscore(index, high, low, start=examined, num=size))
            if not ids:
                break
            examined += len(ids)
            hits += self._matching(query, ids, damaged)
        return SearchResult(
            hits=hits[: query.limit], examined=examined, candidates=candidates, damaged=damaged
        )

    def usage(self, run_ids: list[str]) -> dict[str, Usage]:
        """Tokens and cost of each run (one round trip)."""
        pipe = self._r.pipeline(transaction=False)
        for run_id in run_ids:
            pipe.xrange(events_key(run_id), count=EVENTS_PER_RUN)
        streams = pipe.execute() if run_ids else []
        return {
            run_id: usage_of(node_updates(_events(entries)))
            for run_id, entries in zip(run_ids, streams, strict=True)
        }

    def _matching(
        self, query: RunQuery, ids: list[str], damaged: list[DamagedRecord]
    ) -> list[RunHit]:
        """The runs of ``ids`` that match; the damaged ones are added to ``damaged``."""
        pipe = self._r.pipeline(transaction=False)
        for run_id in ids:
            pipe.hgetall(run_key(run_id, "run"))
            pipe.hget(inputs_key(run_id), "request")
            pipe.xrange(events_key(run_id), count=EVENTS_PER_RUN)
        replies = pipe.execute(raise_on_error=False)  # a run's hash of another type: damaged
        hits = []
        for n, run_id in enumerate(ids):
            fields, request, entries = replies[3 * n : 3 * n + 3]
            record = _readable(run_id, fields, damaged)
            if record is None:
                continue  # expired or deleted since it was indexed, or damaged
            for reply in (request, entries):
                if isinstance(reply, redis.ResponseError):
                    raise reply
            if query.user is not None and record.user != query.user:
                continue
            updates = node_updates(_events(entries))
            where = _match(query, request_strings(request, record.input_summary), updates)
            if where is not None:
                hits.append(RunHit(record=record, usage=usage_of(updates), matched=where))
        return hits
