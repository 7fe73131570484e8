"""Redis key names: one place, one scheme, shared by the checkpointer and the control plane.

Every key that belongs to one run (its checkpoints, writes, events, escalations, lease) starts
with ``wb:{<run>}:``. The braces make ``<run>`` a Redis Cluster hash tag, so all keys of a run
live in one slot and a Lua script or MULTI may touch them together; nothing may touch the keys of
two runs in one script. Global indexes (``wb:idx:...``, ``wb:kill:...``, ``wb:audit...``) are
updated outside per-run scripts. A family of global keys written together in one transaction or
script (approver groups, API tokens, notices) shares a hash tag of its own: ``wb:{<family>}:``
(``family_key``).

New runs get ids from a safe alphabet (``RUN_ID_PATTERN``, enforced where a run is created),
so ids read the same in keys, RQ job ids, URLs and shells. Keys still escape any character
(``:``, braces, unicode) a LangGraph ``thread_id`` may hold, so that distinct ids always give
distinct keys and the hash tag is never cut short.
"""

from __future__ import annotations

import re

PREFIX = "wb"

RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What a new run's id may be: 1 to 64 letters, digits, ``_`` or ``-`` (``fullmatch``)."""


def valid_run_id(run_id: str) -> bool:
    """True when ``run_id`` may name a new run."""
    return RUN_ID_PATTERN.fullmatch(run_id) is not None


_ESCAPES = str.maketrans({"%": "%25", "{": "%7B", "}": "%7D", ":": "%3A"})


def escape(part: str) -> str:
    """Escape one key component; injective, so different inputs never collide."""
    return part.translate(_ESCAPES)


def run_tag(run_id: str) -> str:
    """The ``wb:{<run>}`` prefix of every key of one run."""
    return f"{PREFIX}:{{{escape(run_id)}}}"


def run_key(run_id: str, *parts: str) -> str:
    """A key of one run, e.g. ``run_key(r, "lease")`` -> ``wb:{r}:lease``."""
    suffix = ":".join(escape(p) for p in parts)
    return f"{run_tag(run_id)}:{suffix}" if parts else run_tag(run_id)


def fence_key(run_id: str) -> str:
    """Holds the run's current fencing token (an integer); written by ``state.control.leases``.

    Writers that hold a lease pass their token; per-run scripts compare it with this key and
    refuse a write from a stale holder.
    """
    return run_key(run_id, "fence")


def global_key(*parts: str) -> str:
    """A key not tied to one run (indexes, kill switches, audit log)."""
    return ":".join([PREFIX, *(escape(p) for p in parts)])


def family_key(family: str, *parts: str) -> str:
    """A global key of ``family``: the family's keys share one Redis Cluster slot, so one
    transaction or script may write several of them."""
    return ":".join([PREFIX, "{" + escape(family) + "}", *(escape(p) for p in parts)])
