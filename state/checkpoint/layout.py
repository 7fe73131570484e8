"""Where the checkpointer keeps a thread's data in Redis (built on ``state.keys``).

All keys of thread ``t`` live under ``wb:{t}:cp`` and so share the run's Cluster hash tag; each
Lua script touches one thread's keys only. ``ns`` is the checkpoint namespace ("" for the root
graph, ``"child:<id>"`` for a subgraph) and every component is escaped by ``state.keys``, so no
thread id, namespace, channel or task id can make two keys or fields collide.

=============================  ======  =====================================================
key                            type    content
=============================  ======  =====================================================
``wb:{t}:cp:ns``               hash    namespace -> its key base ``wb:{t}:cp:<ns>``
``wb:{t}:cp:<ns>:idx``         zset    checkpoint ids, all score 0 (ordered by id, lexically)
``wb:{t}:cp:<ns>:ck``          hash    checkpoint id -> record (checkpoint without values,
                                       metadata, parent id)
``wb:{t}:cp:<ns>:blobs``       hash    ``<channel>:<version>`` -> one channel value; written
                                       once per new version, shared by every checkpoint that
                                       references it
``wb:{t}:cp:<ns>:wkeys``       hash    checkpoint id -> its writes key (to find them all)
``wb:{t}:cp:<ns>:w:<id>``      hash    ``<task id>:<idx>`` -> one pending write
=============================  ======  =====================================================

Checkpoint ids are LangGraph's uuid6 strings, which sort lexically in creation order, so the
``idx`` sorted set answers "latest", ``before`` and ``limit`` with one ``ZREVRANGEBYLEX``.
"""

from __future__ import annotations

from dataclasses import dataclass

from state.keys import escape, fence_key, run_key


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
        return run_key(self.thread_id, "cp", "ns")

    def base(self, ns: str) -> str:
        """Common prefix of a namespace's keys; Lua scripts derive the keys from it."""
        return run_key(self.thread_id, "cp", ns)

    def index(self, ns: str) -> str:
        """Sorted set of the namespace's checkpoint ids."""
        return run_key(self.thread_id, "cp", ns, "idx")

    def checkpoints(self, ns: str) -> str:
        """Hash of checkpoint records by id."""
        return run_key(self.thread_id, "cp", ns, "ck")

    def blobs(self, ns: str) -> str:
        """Hash of channel values by ``<channel>:<version>``."""
        return run_key(self.thread_id, "cp", ns, "blobs")

    def writes_keys(self, ns: str) -> str:
        """Hash of checkpoint id -> writes key, for every checkpoint that has writes."""
        return run_key(self.thread_id, "cp", ns, "wkeys")

    def writes(self, ns: str, checkpoint_id: str) -> str:
        """Hash of the pending writes of one checkpoint."""
        return run_key(self.thread_id, "cp", ns, "w", checkpoint_id)


def blob_field(channel: str, version: str | int | float) -> str:
    """Field of one channel version in the ``blobs`` hash (``:`` only as the separator)."""
    return f"{escape(channel)}:{version}"


def write_field(task_id: str, idx: int) -> str:
    """Field of one write in a ``writes`` hash; same (task, idx) -> same field (idempotent)."""
    return f"{escape(task_id)}:{idx}"
