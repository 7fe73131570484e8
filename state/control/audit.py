"""Append-only audit log with a hash chain: who did what, when, and what they saw.

The whole log is one hash, ``wb:audit``, so its script touches a single key (cluster-safe):
field ``<seq>`` (1, 2, ...) holds an entry as canonical JSON, and field ``head`` holds
``{"seq": n, "hash": h}`` of the last entry. Each entry's ``hash`` is the SHA-256 of the
canonical JSON of all its other fields, ``prev_hash`` (the previous entry's hash; 64 zeros for
the first) included, so every entry commits to the whole history before it.

Appending is optimistic: the client reads the head, builds and hashes the entry, and a Lua
script stores it only if the head is still the one it read (otherwise the client retries). Two
appenders can therefore never fork the chain. ``verify`` walks the chain and reports the first
position where it does not hold: an edited, inserted, deleted, reordered or truncated entry.
What no chain kept in the same store can catch is a rewrite of every entry after the change plus
the head: anchor ``head()`` somewhere else (a ticket, a log line) if you need that.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Iterator
from typing import Any

import redis

from state.clock import utcnow
from state.control.connection import text
from state.control.errors import AuditContention, ControlPlaneError
from state.control.models import AuditEntry, AuditVerification
from state.keys import global_key

AUDIT_KEY = global_key("audit")
GENESIS = "0" * 64

_APPEND = """
-- KEYS: audit hash. ARGV: expected head ('' = empty log), seq, entry json, new head json,
-- intent field ('' = none).
if ARGV[5] ~= '' and redis.call('HEXISTS', KEYS[1], ARGV[5]) == 1 then return 2 end
local head = redis.call('HGET', KEYS[1], 'head') or ''
if head ~= ARGV[1] then return 0 end
if redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3]) == 0 then return -1 end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], ARGV[5], ARGV[2]) end
redis.call('HSET', KEYS[1], 'head', ARGV[4])
return 1
"""
_INTENT = "intent:"
"""Field prefix of the intents already appended (``intent:<id>`` -> seq): an intent recorded
with a run's transition is appended once, however often its completion is retried."""
_JITTER = random.Random()
"""A back-off's jitter, from its own generator: the global ``random`` stays the application's."""


def canonical(obj: Any) -> str:
    """The canonical JSON used for hashing: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def entry_hash(entry: dict[str, Any]) -> str:
    """SHA-256 (hex) of an entry's canonical JSON without its ``hash`` field."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(canonical(body).encode()).hexdigest()


class AuditLog:
    """Append to, list and verify the audit log.

    Args:
        client: A client from ``connect``.
        max_attempts: How often ``append`` retries when other appenders win the head first.
    """

    def __init__(self, client: redis.Redis, *, max_attempts: int = 200) -> None:
        self._r = client
        self._append = client.register_script(_APPEND)
        self.max_attempts = max_attempts

    def append(
        self,
        actor: str,
        action: str,
        target: str,
        details: dict[str, Any] | None = None,
        *,
        intent: str | None = None,
    ) -> AuditEntry:
        """Add one entry at the end of the chain and return it.

        ``details`` must be JSON-serializable (keep what the actor saw when deciding). With
        ``intent`` (the id of an audit intent recorded with a transition), the entry is appended
        once: a second call returns the entry already there.

        Raises:
            AuditContention: Lost the head to other appenders ``max_attempts`` times.
            ControlPlaneError: The log holds an entry beyond its head (run ``verify``).
        """
        field = f"{_INTENT}{intent}" if intent else ""
        for attempt in range(self.max_attempts):
            raw_head = self._r.hget(AUDIT_KEY, "head")
            seq, prev_hash, intents = _parse_head(text(raw_head)) if raw_head else (0, GENESIS, 0)
            entry: dict[str, Any] = {
                "seq": seq + 1,
                "ts": utcnow().isoformat(),
                "actor": actor,
                "action": action,
                "target": target,
                "details": details or {},
                "prev_hash": prev_hash,
            }
            entry["hash"] = entry_hash(entry)
            head: dict[str, Any] = {"seq": entry["seq"], "hash": entry["hash"]}
            if intents or field:
                head["intents"] = intents + (1 if field else 0)
            args = [text(raw_head), str(entry["seq"]), canonical(entry), canonical(head), field]
            stored = int(self._append(keys=[AUDIT_KEY], args=args))
            if stored == 1:
                return AuditEntry.model_validate(entry)
            if stored == 2:
                return self._entry_of(field)
            if stored == -1:
                raise ControlPlaneError(
                    f"audit log holds an entry {entry['seq']} beyond its head; run verify()"
                )
            time.sleep(_JITTER.uniform(0, 0.002 * min(attempt + 1, 10)))
        raise AuditContention(f"audit append lost the head {self.max_attempts} times")

    def _entry_of(self, field: str) -> AuditEntry:
        seq = text(self._r.hget(AUDIT_KEY, field))
        return AuditEntry.model_validate(json.loads(text(self._r.hget(AUDIT_KEY, seq))))

    def head(self) -> tuple[int, str]:
        """``(seq, hash)`` of the last entry (``(0, GENESIS)`` when empty): anchor it elsewhere."""
        raw = self._r.hget(AUDIT_KEY, "head")
        return _parse_head(text(raw))[:2] if raw else (0, GENESIS)

    def count(self) -> int:
        """Number of entries (the head's seq)."""
        return self.head()[0]

    def list(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        offset: int = 0,
        limit: int = 50,
        batch: int = 500,
    ) -> list[AuditEntry]:
        """Entries newest first, filtered by exact actor/action/target, paged.

        Filters are applied while scanning back from the head in batches of ``batch``, so the
        cost grows with how far back the page lies, not with the size of the log.
        """
        wanted = {"actor": actor, "action": action, "target": target}
        out: list[AuditEntry] = []
        skipped = 0
        for entry in self._scan_back(batch):
            if any(v is not None and entry.get(k) != v for k, v in wanted.items()):
                continue
            if skipped < offset:
                skipped += 1
                continue
            out.append(AuditEntry.model_validate(entry))
            if len(out) >= limit:
                break
        return out

    def _scan_back(self, batch: int) -> Iterator[dict[str, Any]]:
        top = self.count()
        while top > 0:
            seqs = list(range(top, max(top - batch, 0), -1))
            for raw in self._r.hmget(AUDIT_KEY, [str(s) for s in seqs]):
                if raw is not None:
                    yield json.loads(text(raw))
            top -= batch

    def verify(self, *, batch: int = 1000) -> AuditVerification:
        """Walk the whole chain; report the first seq where it does not hold."""
        pipe = self._r.pipeline(transaction=False)
        pipe.hget(AUDIT_KEY, "head")
        pipe.hlen(AUDIT_KEY)
        raw_head, n_fields = pipe.execute()
        if not raw_head:
            if int(n_fields) == 0:
                return AuditVerification(ok=True, checked=0, head_seq=0)
            return _bad(0, 0, 1, "entries exist but the head pointer is missing")
        head_seq, head_hash, intents = _parse_head(text(raw_head))
        prev = GENESIS
        for start in range(1, head_seq + 1, batch):
            seqs = list(range(start, min(start + batch, head_seq + 1)))
            for seq, raw in zip(
                seqs, self._r.hmget(AUDIT_KEY, [str(s) for s in seqs]), strict=True
            ):
                problem = _check_entry(seq, raw, prev)
                if problem:
                    return _bad(seq - 1, head_seq, seq, problem)
                prev = json.loads(text(raw))["hash"]
        if prev != head_hash:
            return _bad(head_seq, head_seq, head_seq, "the head does not point at the last entry")
        if int(n_fields) != head_seq + 1 + intents:
            return _bad(head_seq, head_seq, head_seq + 1, "entries exist beyond the head")
        return AuditVerification(ok=True, checked=head_seq, head_seq=head_seq)


def _check_entry(seq: int, raw: bytes | str | None, prev: str) -> str | None:
    if raw is None:
        return "entry is missing (deleted or truncated)"
    try:
        entry = json.loads(text(raw))
        stored_seq, prev_hash, stored_hash = entry["seq"], entry["prev_hash"], entry["hash"]
    except (ValueError, KeyError, TypeError):
        return "entry is unreadable"
    if stored_seq != seq:
        return f"holds entry {stored_seq} (entries were reordered, inserted or deleted)"
    if prev_hash != prev:
        return "does not link to the previous entry (an entry was inserted, deleted or rewritten)"
    if entry_hash(entry) != stored_hash:
        return "content does not match its hash (edited)"
    return None


def _parse_head(raw: str) -> tuple[int, str, int]:
    head = json.loads(raw)
    return int(head["seq"]), str(head["hash"]), int(head.get("intents", 0))


def _bad(checked: int, head_seq: int, seq: int, problem: str) -> AuditVerification:
    return AuditVerification(
        ok=False,
        checked=checked,
        head_seq=head_seq,
        first_bad_seq=seq,
        problem=f"entry {seq}: {problem}",
    )
