"""Run registry: one hash per run (``wb:{<run>}:run``) plus sorted-set indexes for the console.

The run hash is the truth. Status changes go through one Lua script on the run's own keys: it
checks the fencing token (when given), refuses any change to a run whose status is terminal,
validates the transition against ``models.TRANSITIONS``, writes the hash and appends a
``status`` event to the run's stream, all atomically. The global indexes (``run_index``) are
updated right after, in a separate pipeline: a script may not touch keys of two slots. Under
concurrent status writers of one run an index can lag the hash; ``reindex`` repairs a run's
entries, and ``list`` always returns what the hashes say. The scripts are in ``run_scripts``.
New runs need an id from the safe alphabet ``state.keys.RUN_ID_PATTERN``.
"""

from __future__ import annotations

import builtins
import json
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import redis

from state.cluster import clustered
from state.control import run_index
from state.control.connection import text, texts
from state.control.errors import InvalidArgument, InvalidRunId, RunExists, UnknownRun
from state.control.events import events_key
from state.control.inputs import inputs_key
from state.control.models import NewRun, RunPage, RunRecord, to_epoch
from state.control.outbox import Intent, outbox_key
from state.control.run_records import new_mapping, read_record, read_records, record_of
from state.control.run_scripts import CREATE_RUN, SUBMIT_RUN, UPDATE_RUN
from state.control.run_updates import moved, outcome_of, update_of
from state.control.run_updates import run_hash_key as run_hash_key
from state.keys import valid_run_id
from state.status import RUN_STATUSES, TERMINAL_STATUSES, RunStatus

MAX_PAGE = 10_000
"""Most runs one ``list`` call returns (a page is fetched in one pipeline)."""
MAX_OFFSET = 10**12
"""Keeps ``offset + limit`` inside Redis's 64-bit range arguments."""


class RunRegistry:
    """Create, read, update and list runs.

    Args:
        client: A client from ``connect`` (``decode_responses=True``).
        events_maxlen: Cap passed to the event stream for ``status`` events (``0``: none).
        retention_s: How long a run is kept once finished (``0``: forever; see ``retention``).
        on_end: Told of every run that ``update`` moved to ``failed`` or ``killed`` (its
            notifications); it must not raise.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        events_maxlen: int = 0,
        retention_s: float = 0.0,
        on_end: Callable[[RunRecord], None] | None = None,
    ) -> None:
        self._r = client
        self._on_end = on_end
        self._maxlen = str(events_maxlen)
        self.retention_s = retention_s
        self._create = client.register_script(CREATE_RUN)
        self._submit = client.register_script(SUBMIT_RUN)
        self._update = client.register_script(UPDATE_RUN)

    def create(
        self,
        run_id: str,
        workflow: str,
        *,
        input_summary: str = "",
        user: str | None = None,
        created_at: datetime | None = None,
    ) -> RunRecord:
        """Register a new run with status ``queued``.

        Raises:
            InvalidRunId: ``run_id`` is outside ``state.keys.RUN_ID_PATTERN``.
            RunExists: A run with this id is already registered.
        """
        spec = NewRun(
            run_id=run_id,
            workflow=workflow,
            input_summary=input_summary,
            user=user,
            created_at=created_at,
        )
        return self.create_many([spec])[0]

    def submit(
        self, spec: NewRun, request: dict[str, Any], inject: str | None, intent: Intent
    ) -> RunRecord:
        """Register a new run ``queued`` with its input and its intent, in one script.

        Raises:
            InvalidRunId: ``run_id`` is outside ``state.keys.RUN_ID_PATTERN``.
            RunExists: A run with this id is already registered.
        """
        if not valid_run_id(spec.run_id):
            raise InvalidRunId(spec.run_id)
        mapping = new_mapping(spec)
        args = [self._maxlen, mapping["created_at"], json.dumps({"from": "", "to": "queued"})]
        args += [json.dumps(request, allow_nan=False), inject or "", *intent.args()]
        for key, value in mapping.items():
            args += [key, value]
        keys = [
            run_hash_key(spec.run_id),
            events_key(spec.run_id),
            inputs_key(spec.run_id),
            outbox_key(spec.run_id),
        ]
        # Indexed first: a process that dies right after the script leaves a run the sweepers
        # and the console can find (an index entry without a run is skipped when listed).
        pipe = self._r.pipeline(transaction=False)
        run_index.add(pipe, spec.run_id, spec.workflow, "queued", float(mapping["created_at"]))
        pipe.execute()
        if not int(self._submit(keys=keys, args=args)):
            raise RunExists(f"run(s) already exist: {spec.run_id!r}")
        return record_of(mapping)

    def expect(self, run_id: str, status: RunStatus) -> None:
        """List the run under ``status`` before a transition that may move it there (one more
        index entry; ``reindex`` or a sweeper drops it when the transition did not happen)."""
        run = self.get(run_id)
        if run.status in TERMINAL_STATUSES:
            return  # it moves no more: an entry now would list it under ``status`` for good
        pipe = self._r.pipeline(transaction=False)
        run_index.add(pipe, run_id, run.workflow, status, to_epoch(run.created_at))
        pipe.execute()

    def create_many(self, runs: Iterable[NewRun]) -> builtins.list[RunRecord]:
        """Register many runs in two round trips (imports, seeding, tests; on a Redis Cluster,
        one per run and one).

        Each run is created by its own script, so one duplicate does not block the others.

        Raises:
            InvalidRunId: An id is outside the safe alphabet (nothing is created).
            RunExists: Some run ids were already registered (named; the others are created).
        """
        runs = builtins.list(runs)
        for spec in runs:
            if not valid_run_id(spec.run_id):
                raise InvalidRunId(spec.run_id)
        # One pipeline of scripts on one server; on a Redis Cluster (whose pipelines take no
        # scripts) one script per run.
        pipe = None if clustered(self._r) else self._r.pipeline(transaction=False)
        records: builtins.list[dict[str, str]] = []
        created: builtins.list[Any] = []
        for spec in runs:
            mapping = new_mapping(spec)
            ts = mapping["created_at"]
            args = [self._maxlen, ts, json.dumps({"from": "", "to": "queued"})]
            for key, value in mapping.items():
                args += [key, value]
            keys = [run_hash_key(spec.run_id), events_key(spec.run_id)]
            created.append(self._create(keys=keys, args=args, client=pipe))
            records.append(mapping)
        if pipe is not None:
            created = pipe.execute() if records else []
        pipe = self._r.pipeline(transaction=False)
        duplicates = []
        for mapping, ok in zip(records, created, strict=True):
            if int(ok):
                score = float(mapping["created_at"])
                run_index.add(pipe, mapping["run_id"], mapping["workflow"], "queued", score)
            else:
                duplicates.append(mapping["run_id"])
        pipe.execute()
        if duplicates:
            raise RunExists(f"run(s) already exist: {', '.join(map(repr, duplicates[:5]))}")
        return [record_of(m) for m in records]

    def get(self, run_id: str) -> RunRecord:
        """The run's record.

        Raises:
            UnknownRun: No run with this id.
            DamagedRun: Its record cannot be read (a field missing or invalid).
        """
        try:
            reply: object = self._r.hgetall(run_hash_key(run_id))
        except redis.ResponseError as exc:  # a key of another type: ``read_record`` says so
            reply = exc
        record = read_record(run_id, reply)
        if record is None:
            raise UnknownRun(run_id)
        return record

    def update(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        stage: str | None = None,
        worker: str | None = None,
        reason: str | None = None,
        fence: int | None = None,
    ) -> RunRecord:
        """Change a run's status and/or its stage, worker or reason (``None``: unchanged).

        A worker passes its lease token as ``fence``: the write happens only if that token is
        still the run's current one. An empty string clears a text field.

        Returns:
            The record as written.

        Raises:
            UnknownRun: No run with this id.
            RunFinished: The run's status is terminal; nothing about it changes any more.
            InvalidTransition: ``models.TRANSITIONS`` does not allow the status change.
            LeaseLost: ``fence`` is not the current token.
        """
        change = update_of(
            run_id,
            status=status,
            stage=stage,
            worker=worker,
            reason=reason,
            fence=fence,
            maxlen=self._maxlen,
        )
        updated = outcome_of(change, self._update(keys=change.keys, args=change.args))
        if updated.record.status != updated.old:
            pipe = self._r.pipeline(transaction=False)
            run_index.apply(pipe, moved(updated, self.retention_s))
            pipe.execute()
            if self._on_end is not None:
                self._on_end(updated.record)  # announces a run that failed or was killed
        return updated.record

    def reindex(self, run_id: str) -> None:
        """Make the run's index entries agree with its hash (repair after a lagging update)."""
        run = self.get(run_id)
        pipe = self._r.pipeline(transaction=False)
        run_index.repair(pipe, run_id, run.workflow, run.status, to_epoch(run.created_at))
        pipe.execute()

    def list(
        self,
        *,
        status: RunStatus | None = None,
        workflow: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> RunPage:
        """One page of runs, newest first, filtered by status and/or workflow.

        Two round trips whatever the number of runs: the index page with its total, then one
        pipeline of ``HGETALL`` for the page (a third drops stale entries: ``run_index.sift``).
        Runs with equal creation times are ordered by id, descending. A run whose record cannot
        be read is left out of ``items`` and named in ``damaged`` (one damaged run must not hide
        the others).
        """
        if not (0 <= offset <= MAX_OFFSET and 0 <= limit <= MAX_PAGE):
            raise InvalidArgument(
                f"a page needs 0 <= offset <= {MAX_OFFSET} and 0 <= limit <= {MAX_PAGE} "
                f"(got offset {offset}, limit {limit})"
            )
        index = run_index.index_key(workflow=workflow, status=status)
        pipe = self._r.pipeline(transaction=False)
        pipe.zcard(index)
        if limit:
            pipe.zrevrange(index, offset, offset + limit - 1, withscores=True)
        total, *page = pipe.execute()
        listed = [(text(m), float(score)) for m, score in page[0]] if page else []
        pipe = self._r.pipeline(transaction=False)
        for run_id, _ in listed:
            pipe.hgetall(run_hash_key(run_id))
        items, damaged = read_records([r for r, _ in listed], pipe.execute(raise_on_error=False))
        unread = {d.run_id for d in damaged}
        items, left_out, fixes = run_index.sift(listed, items, status=status, workflow=workflow,
                                                unread=unread, now=time.time())  # fmt: skip
        if fixes:
            pipe = self._r.pipeline(transaction=False)
            run_index.apply(pipe, fixes)
            pipe.execute()
        total = max(int(total) - left_out, len(items))
        return RunPage(items=items, total=total, offset=offset, limit=limit, damaged=damaged)

    def counts(self, *, workflow: str | None = None) -> dict[RunStatus, int]:
        """Number of runs per status (every status present, zeros included), one round trip."""
        pipe = self._r.pipeline(transaction=False)
        for status in RUN_STATUSES:
            pipe.zcard(run_index.index_key(workflow=workflow, status=status))
        return dict(zip(RUN_STATUSES, (int(n) for n in pipe.execute()), strict=True))

    def workflows(self) -> builtins.list[str]:
        """Names of every workflow that has had a run, sorted."""
        return sorted(texts(self._r.smembers(run_index.WORKFLOWS_KEY)))
