"""Where the checkpointer keeps a thread's data in Redis (built on ``state.keys``).

All keys of thread ``t`` live under ``wb:{t}:ck`` and so share the run's Cluster hash tag; each
Lua script touches one thread's keys only. ``ns`` is the checkpoint namespace ("" for the root
graph, ``"child:<id>"`` for a subgraph); every component is escaped by ``state.keys``, so no
thread id or namespace can make two keys collide.

=============================  ======  =====================================================
key                            type    content
=============================  ======  =====================================================
``wb:{t}:ck:ns``               hash    namespace -> its key base ``wb:{t}:ck:<ns>``
``wb:{t}:ck:runs``             set     LangGraph run ids that wrote a checkpoint here
``wb:{t}:ck:<ns>:idx``         zset    checkpoint ids, all score 0 (ordered by id, lexically)
``wb:{t}:ck:<ns>:rec``         hash    checkpoint id -> compact record (``codec``)
``wb:{t}:ck:<ns>:bl``          hash    blob field -> one channel value, written once per new
                                       version; an append-only list is stored as the elements
                                       it added to an earlier version (``lists``)
``wb:{t}:ck:<ns>:w``           hash    checkpoint id -> all its pending writes, framed
=============================  ======  =====================================================

One more key lies outside the thread's tag: ``wb:ckrun:<run id>``, a set of the threads a
LangGraph run wrote to, so that ``delete_for_runs`` finds them without scanning the keyspace.
It is written next to a script, never inside one.

Checkpoint ids are LangGraph's uuid6 strings, which sort lexically in creation order, so the
``idx`` sorted set answers "latest", ``before`` and ``limit`` with one ``ZREVRANGEBYLEX``.
A blob field is ``<2-byte length><channel><tagged version>``: injective, and built alike by
the Lua scripts from a record's header.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from state.keys import fence_key, global_key, run_key

# the per-namespace key suffixes, in the order the scripts expect them
NS_SUFFIXES = ("idx", "rec", "bl", "w")


@dataclass(frozen=True)
class ThreadKeys:
    """Key names of one thread's checkpoint data."""

    thread_id: str

    @property
    def fence(self) -> str:
        """The run's fencing-token key (owned by the lease module)."""
        return fence_key(self.thread_id)

    @property
    def namespaces(self) -> str:
        """Hash of the namespaces this thread has data in."""
        return run_key(self.thread_id, "ck", "ns")

    @property
    def runs(self) -> str:
        """Set of the LangGraph run ids that stored checkpoints in this thread."""
        return run_key(self.thread_id, "ck", "runs")

    def base(self, ns: str) -> str:
        """Common prefix of a namespace's keys; Lua scripts derive the keys from it."""
        return run_key(self.thread_id, "ck", ns)

    def ns_keys(self, ns: str) -> list[str]:
        """The namespace's ``idx``, ``rec``, ``bl`` and ``w`` keys, in that order."""
        base = self.base(ns)
        return [f"{base}:{suffix}" for suffix in NS_SUFFIXES]

    def index(self, ns: str) -> str:
        """Sorted set of the namespace's checkpoint ids."""
        return f"{self.base(ns)}:idx"

    def records(self, ns: str) -> str:
        """Hash of checkpoint records by id."""
        return f"{self.base(ns)}:rec"

    def blobs(self, ns: str) -> str:
        """Hash of channel values by blob field."""
        return f"{self.base(ns)}:bl"

    def writes(self, ns: str) -> str:
        """Hash of each checkpoint's pending writes by checkpoint id."""
        return f"{self.base(ns)}:w"


def run_index_key(run_id: str) -> str:
    """The global set of threads a LangGraph run id stored checkpoints in."""
    return global_key("ckrun", run_id)


def blob_field(channel: str, version: str) -> bytes:
    """Field of one channel version in the ``bl`` hash (see the module docstring)."""
    name = channel.encode()
    return struct.pack(">H", len(name)) + name + version.encode()
