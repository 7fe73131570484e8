"""Notices in Redis: written once per event, delivered by the workers' notifier, logged.

``wb:{notices}:notice:<id>`` holds the notice (``notice``: JSON) and, per sink, ``status:<sink>``
and ``attempts:<sink>``; ``wb:{notices}:notice:<id>:log`` lists every delivery attempt (JSON).
``wb:{notices}:index`` indexes notices by time (newest kept: ``KEEP``). ``wb:{notices}:due``
holds the notices not yet given to their sinks, by when; ``wb:{notices}:due:<sink>`` the
deliveries due to one sink (``<id>|<sink>``). A notifier *claims* due entries by pushing them a
lease ahead (one script), so two workers never deliver the same attempt at once and a notifier
that dies leaves its entries to another after the lease. It claims only from the due sets of
the sinks it has: a delivery to a sink no worker has stays pending (and shown) until one that
has it comes. ``wb:{notices}:sinks`` lists the sinks the notifiers have (each announces its
own), so a notice is given to every sink some worker has, whichever worker fans it out.
Notices expire after ``TTL_S``.

The keys share the ``{notices}`` hash tag, so on a Redis Cluster one script or transaction may
touch several of them. Writing a notice never fails its caller: an error is logged and the run goes
on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime

import redis

from state.clock import utcnow
from state.control.connection import text, texts
from state.control.models import RunRecord, to_epoch
from state.control.outage import log_failure
from state.keys import family_key
from state.links import run_url
from state.notices import DeliveryAttempt, DeliveryStatus, Notice, NoticeRecord

log = logging.getLogger(__name__)

TTL_S = 7 * 86400
KEEP = 10_000
INDEX = family_key("notices", "index")
DUE = family_key("notices", "due")
SINKS = family_key("notices", "sinks")
SINK_SEEN_S = 86400.0
"""A sink that no notifier announced for this long is no longer given new notices."""

_PUBLISH = """
-- KEYS: notice, index, due. ARGV: notice json, at, ttl, keep.
if redis.call('HSETNX', KEYS[1], 'notice', ARGV[1]) == 0 then return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[5])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -tonumber(ARGV[4]) - 1)
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[5])
return 1
"""

_CLAIM = """
-- KEYS: due sets (new notices, then the caller's sinks'). ARGV: now, lease until, limit.
local out = {}
for _, key in ipairs(KEYS) do
  local due = redis.call('ZRANGEBYSCORE', key, '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
  for _, member in ipairs(due) do
    redis.call('ZADD', key, ARGV[2], member)
    table.insert(out, member)
  end
end
return out
"""


def notice_key(notice_id: str) -> str:
    """The hash of one notice."""
    return family_key("notices", "notice", notice_id)


def due_key(sink: str) -> str:
    """The due deliveries to one sink (``<id>|<sink>``, by when)."""
    return family_key("notices", "due", sink)


def _due_of(member: str) -> str:
    _, _, sink = member.partition("|")
    return due_key(sink) if sink else DUE


def _log_key(notice_id: str) -> str:
    return family_key("notices", "notice", notice_id, "log")


def run_ended_notice(record: RunRecord) -> Notice:
    """The notice of a run that failed or was killed."""
    return Notice(
        id=f"run:{record.run_id}:{record.status}",
        kind="run_killed" if record.status == "killed" else "run_failed",
        at=record.updated_at,
        title=f"Run {record.run_id} of {record.workflow} {record.status}",
        lines=[f"reason: {record.reason}"] if record.reason else [],
        link=run_url(record.run_id),
        run_id=record.run_id,
        workflow=record.workflow,
        stage=record.stage,
    )


class NoticeStore:
    """Publish notices, hand due deliveries to notifiers, keep their log."""

    def __init__(self, client: redis.Redis) -> None:
        self._r = client
        self._publish = client.register_script(_PUBLISH)
        self._claim = client.register_script(_CLAIM)

    def publish(self, notice: Notice) -> bool:
        """Store ``notice`` and make it due now; False when its id was stored before.

        Never raises: a notice that cannot be written is logged (delivery never fails a run).
        """
        try:
            keys = [notice_key(notice.id), INDEX, DUE]
            at = repr(to_epoch(notice.at))
            args = [notice.model_dump_json(), at, str(TTL_S), str(KEEP), notice.id]
            return bool(int(self._publish(keys=keys, args=args)))
        except Exception as exc:
            log_failure(log, exc, "could not record notice %s", notice.id)
            return False

    def run_ended(self, record: RunRecord) -> None:
        """Publish the notice of a run that just failed or was killed (never raises)."""
        if record.status not in ("failed", "killed"):
            return
        try:
            notice = run_ended_notice(record)
        except Exception:
            log.exception("could not build the notice of run %s", record.run_id)
            return
        self.publish(notice)

    def claim(
        self, now: datetime, lease_s: float, sinks: Iterable[str], limit: int = 20
    ) -> list[str]:
        """Due entries, leased to the caller for ``lease_s``: new notices (``<id>``) and
        deliveries to the caller's ``sinks`` (``<id>|<sink>``), never to other sinks."""
        start = to_epoch(now)
        args = [repr(start), repr(start + lease_s), str(limit)]
        keys = [DUE, *(due_key(s) for s in sinks)]
        return texts(self._claim(keys=keys, args=args))

    def fan_out(self, notice_id: str, sinks: list[str]) -> None:
        """Give a claimed notice to each sink (pending, due now)."""
        now = to_epoch(utcnow())
        pipe = self._r.pipeline(transaction=True)
        for sink in sinks:
            pipe.hsetnx(notice_key(notice_id), f"status:{sink}", "pending")
            pipe.zadd(due_key(sink), {f"{notice_id}|{sink}": now})
            pipe.expire(due_key(sink), TTL_S)
        pipe.zrem(DUE, notice_id)
        pipe.execute()

    def pass_on(self, member: str) -> None:
        """Hand a delivery found among the new notices (written by an older version) to its
        sink's due set, for a worker that has the sink."""
        _, _, sink = member.partition("|")
        pipe = self._r.pipeline(transaction=True)
        pipe.zadd(due_key(sink), {member: to_epoch(utcnow())})
        pipe.expire(due_key(sink), TTL_S)
        pipe.zrem(DUE, member)
        pipe.execute()

    def announce(self, sinks: dict[str, list[str]]) -> None:
        """Say that a notifier has these sinks (name: the kinds it takes, empty for all)."""
        if not sinks:
            return
        seen = to_epoch(utcnow())
        pipe = self._r.pipeline(transaction=False)
        for name, events in sinks.items():
            pipe.hset(SINKS, name, json.dumps({"events": events, "seen": seen}))
        pipe.execute()

    def known_sinks(self) -> dict[str, list[str]]:
        """The sinks some notifier announced within ``SINK_SEEN_S``, with the kinds they take."""
        oldest = to_epoch(utcnow()) - SINK_SEEN_S
        known: dict[str, list[str]] = {}
        for name, value in self._r.hgetall(SINKS).items():
            entry = json.loads(text(value))
            if float(entry.get("seen", 0)) >= oldest:
                known[text(name)] = [str(e) for e in entry.get("events") or []]
        return known

    def record(self, notice_id: str, attempt: DeliveryAttempt) -> None:
        """Log an attempt, and either finish the delivery or make it due again."""
        member = f"{notice_id}|{attempt.sink}"
        due = due_key(attempt.sink)
        status: DeliveryStatus = "delivered" if attempt.ok else "pending"
        if not attempt.ok and attempt.next_at is None:
            status = "failed"
        pipe = self._r.pipeline(transaction=True)
        pipe.rpush(_log_key(notice_id), attempt.model_dump_json())
        pipe.expire(_log_key(notice_id), TTL_S)
        pipe.hset(notice_key(notice_id), f"status:{attempt.sink}", status)
        pipe.hset(notice_key(notice_id), f"attempts:{attempt.sink}", str(attempt.attempt))
        if attempt.next_at is not None:
            pipe.zadd(due, {member: to_epoch(attempt.next_at)})
            pipe.expire(due, TTL_S)
        else:
            pipe.zrem(due, member)
        pipe.execute()

    def attempts_made(self, notice_id: str, sink: str) -> int:
        """How many attempts to deliver to ``sink`` were made so far."""
        value = self._r.hget(notice_key(notice_id), f"attempts:{sink}")
        return int(text(value)) if value is not None else 0

    def drop(self, member: str) -> None:
        """Forget a due entry (its notice expired)."""
        self._r.zrem(_due_of(member), member)

    def get(self, notice_id: str) -> NoticeRecord | None:
        """A notice with its delivery status and log, or ``None`` (unknown or expired)."""
        [found] = self._records([notice_id])
        return found

    def recent(self, limit: int = 50) -> list[NoticeRecord]:
        """The newest notices first, with their deliveries."""
        ids = texts(self._r.zrevrange(INDEX, 0, max(limit, 1) - 1))
        return [r for r in self._records(ids) if r is not None]

    def _records(self, ids: list[str]) -> list[NoticeRecord | None]:
        pipe = self._r.pipeline(transaction=False)
        for notice_id in ids:
            pipe.hgetall(notice_key(notice_id))
            pipe.lrange(_log_key(notice_id), 0, -1)
        replies = pipe.execute() if ids else []
        return [_record(h, log_) for h, log_ in zip(replies[::2], replies[1::2], strict=True)]


def _record(fields: dict[str, str], entries: list[str]) -> NoticeRecord | None:
    if not fields.get("notice"):
        return None
    status: dict[str, DeliveryStatus] = {
        key.removeprefix("status:"): value  # type: ignore[misc]
        for key, value in fields.items()
        if key.startswith("status:") and value in ("pending", "delivered", "failed")
    }
    return NoticeRecord(
        notice=Notice.model_validate_json(fields["notice"]),
        status=status,
        attempts=[DeliveryAttempt.model_validate_json(e) for e in entries],
    )
