"""Append-only lists stored once: a new version that extends the previous one keeps only the
elements it added.

A reducer like ``operator.add`` or ``add_messages`` gives every step a new version of the whole
list, and a ``DeltaChannel`` snapshot repeats everything before it. Storing each version whole
makes a thread of n steps cost O(n^2). Here the serialized value is looked at as msgpack: an
array (or a msgpack ext wrapping one, as LangGraph's delta snapshots are) is a header plus the
elements' bytes, concatenated. When the elements' bytes of the new version start with exactly
the bytes of the version this saver stored last for that channel, only the rest is stored,
with a pointer to that version (``codec.extension_blob``). Reading follows the pointers (in one
Lua script) and rebuilds the msgpack bytes, which then go through the strict serializer like
any other value: the saver never constructs an object itself.

The comparison is on bytes, so an element changed in place, removed or reordered simply makes
the next version a whole blob. Pointers only go to older, existing fields, so they never loop.
"""

from __future__ import annotations

import struct
import threading
from collections import OrderedDict
from dataclasses import dataclass

from state.checkpoint.errors import UnsafeCheckpointDataError

# cached tails per saver: enough for every list channel of many concurrent threads, within a
# memory budget (a tail holds the list's serialized elements)
CACHE_ENTRIES = 512
CACHE_BYTES = 64 * 1024 * 1024
_FIXEXT = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}
_EXT = {0xC7: ">B", 0xC8: ">H", 0xC9: ">I"}


@dataclass(frozen=True)
class ListBytes:
    """A serialized list split into its wrapper, element count and element bytes."""

    ext_code: int | None  # the msgpack ext type code wrapping the array, if any
    count: int
    elements: bytes


def _array_header(data: bytes, pos: int) -> tuple[int, int] | None:
    first = data[pos] if pos < len(data) else -1
    if 0x90 <= first <= 0x9F:
        return first & 0x0F, pos + 1
    if first in (0xDC, 0xDD):
        fmt = ">H" if first == 0xDC else ">I"
        (count,) = struct.unpack_from(fmt, data, pos + 1)
        return int(count), pos + 1 + struct.calcsize(fmt)
    return None


def _ext_header(data: bytes) -> tuple[int, int, int] | None:
    """``(code, payload start, payload size)`` when ``data`` is one msgpack ext value."""
    first = data[0] if data else -1
    if first in _FIXEXT:
        size, pos = _FIXEXT[first], 1
    elif first in _EXT:
        (size,) = struct.unpack_from(_EXT[first], data, 1)
        pos = 1 + struct.calcsize(_EXT[first])
    else:
        return None
    (code,) = struct.unpack_from(">b", data, pos)
    return int(code), pos + 1, int(size)


def split(data: bytes) -> ListBytes | None:
    """The list inside a msgpack value, or ``None`` when it is not a (wrapped) array."""
    try:
        ext = _ext_header(data)
        if ext is not None:
            code, start, size = ext
            if start + size != len(data):
                return None
            inner = _array_header(data, start)
            return None if inner is None else ListBytes(code, inner[0], data[inner[1] :])
        plain = _array_header(data, 0)
        return None if plain is None else ListBytes(None, plain[0], data[plain[1] :])
    except struct.error:
        return None


def join(value: ListBytes) -> bytes:
    """Inverse of ``split``: valid msgpack bytes for the list (and its wrapper).

    Raises:
        UnsafeCheckpointDataError: The count does not fit a msgpack array.
    """
    if value.count < 16:
        header = bytes([0x90 | value.count])
    elif value.count < 1 << 16:
        header = b"\xdc" + struct.pack(">H", value.count)
    elif value.count < 1 << 32:
        header = b"\xdd" + struct.pack(">I", value.count)
    else:
        raise UnsafeCheckpointDataError("stored list is too long")
    body = header + value.elements
    if value.ext_code is None:
        return body
    size = len(body)
    if size < 1 << 8:
        prefix = b"\xc7" + struct.pack(">B", size)
    elif size < 1 << 16:
        prefix = b"\xc8" + struct.pack(">H", size)
    else:
        prefix = b"\xc9" + struct.pack(">I", size)
    return prefix + struct.pack(">b", value.ext_code) + body


@dataclass(frozen=True)
class Tail:
    """What this saver stored last for one channel: its blob field and list bytes."""

    field: bytes
    value: ListBytes


class AppendCache:
    """The last list value stored per (thread, namespace, channel), bounded LRU, thread-safe.

    Only a hint: the write script checks that the base field still exists and the saver falls
    back to a whole blob when it does not (another process may have pruned it).
    """

    def __init__(self, entries: int = CACHE_ENTRIES, budget: int = CACHE_BYTES) -> None:
        self._entries = entries
        self._budget = budget
        self._bytes = 0
        self._tails: OrderedDict[tuple[str, str, str], Tail] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str]) -> Tail | None:
        """The cached tail, if any."""
        with self._lock:
            tail = self._tails.get(key)
            if tail is not None:
                self._tails.move_to_end(key)
            return tail

    def put(self, key: tuple[str, str, str], tail: Tail) -> None:
        """Remember ``tail`` as the channel's latest stored list."""
        with self._lock:
            old = self._tails.pop(key, None)
            self._bytes -= len(old.value.elements) if old else 0
            if len(tail.value.elements) > self._budget // 4:
                return  # too big to keep: the next version is stored whole
            self._tails[key] = tail
            self._bytes += len(tail.value.elements)
            while len(self._tails) > self._entries or self._bytes > self._budget:
                _, evicted = self._tails.popitem(last=False)
                self._bytes -= len(evicted.value.elements)

    def forget(self, thread_id: str) -> None:
        """Drop every tail of a thread (it was deleted or pruned)."""
        with self._lock:
            for key in [k for k in self._tails if k[0] == thread_id]:
                self._bytes -= len(self._tails.pop(key).value.elements)


def extends(new: ListBytes, old: ListBytes) -> bool:
    """True when ``new`` is ``old`` with at least one element appended."""
    return (
        new.ext_code == old.ext_code
        and new.count > old.count
        and new.elements.startswith(old.elements)
    )
