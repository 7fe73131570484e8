"""Notices in Redis: written once per event, delivered by the workers' notifier, logged.

``wb:{notices}:notice:<id>`` holds the notice (``notice``: JSON) and, per sink, ``status:<sink>``
and ``attempts:<sink>``; ``wb:{notices}:notice:<id>:log`` lists every delivery attempt (JSON).
``wb:{notices}:index`` indexes notices by time (newest kept: ``KEEP``), and ``wb:{notices}:due``
holds what is due for delivery, by when: a notice id (not yet given to its sinks), or
``<id>|<sink>``. A notifier *claims* due entries by pushing them a lease ahead (one script), so two
workers never deliver the same attempt at once and a notifier that dies leaves its entries to
another after the lease. Notices expire after ``TTL_S``.

The keys share the ``{notices}`` hash tag, so on a Redis Cluster one script or transaction may
touch several of them. Writing a notice never fails its caller: an error is logged and the run goes
on.
"""

from __future__ import annotations

import logging
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
-- KEYS: due. ARGV: now, lease until, limit.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, member in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], member) end
return due
"""


def notice_key(notice_id: str) -> str:
    """The hash of one notice."""
    return family_key("notices", "notice", notice_id)


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

    def claim(self, now: datetime, lease_s: float, limit: int = 20) -> list[str]:
        """Due entries (``<id>`` or ``<id>|<sink>``), leased to the caller for ``lease_s``."""
        start = to_epoch(now)
        args = [repr(start), repr(start + lease_s), str(limit)]
        return texts(self._claim(keys=[DUE], args=args))

    def fan_out(self, notice_id: str, sinks: list[str]) -> None:
        """Give a claimed notice to each sink (pending, due now)."""
        now = to_epoch(utcnow())
        pipe = self._r.pipeline(transaction=True)
        for sink in sinks:
            pipe.hsetnx(notice_key(notice_id), f"status:{sink}", "pending")
            pipe.zadd(DUE, {f"{notice_id}|{sink}": now})
        pipe.zrem(DUE, notice_id)
        pipe.execute()

    def record(self, notice_id: str, attempt: DeliveryAttempt) -> None:
        """Log an attempt, and either finish the delivery or make it due again."""
        member = f"{notice_id}|{attempt.sink}"
        status: DeliveryStatus = "delivered" if attempt.ok else "pending"
        if not attempt.ok and attempt.next_at is None:
            status = "failed"
        pipe = self._r.pipeline(transaction=True)
        pipe.rpush(_log_key(notice_id), attempt.model_dump_json())
        pipe.expire(_log_key(notice_id), TTL_S)
        pipe.hset(notice_key(notice_id), f"status:{attempt.sink}", status)
        pipe.hset(notice_key(notice_id), f"attempts:{attempt.sink}", str(attempt.attempt))
        if attempt.next_at is not None:
            pipe.zadd(DUE, {member: to_epoch(attempt.next_at)})
        else:
            pipe.zrem(DUE, member)
        pipe.execute()

    def attempts_made(self, notice_id: str, sink: str) -> int:
        """How many attempts to deliver to ``sink`` were made so far."""
        value = self._r.hget(notice_key(notice_id), f"attempts:{sink}")
        return int(text(value)) if value is not None else 0

    def drop(self, member: str) -> None:
        """Forget a due entry (its notice expired)."""
        self._r.zrem(DUE, member)

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
