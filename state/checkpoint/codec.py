"""Byte framing of records, blobs and writes: compact, and readable by the Lua scripts.

The scripts must find a record's parent, run id and blob fields, a blob's base and a write's
(task, idx) without a msgpack decoder, so those parts are framed with ``struct`` (big endian,
``>H`` or ``>I`` length prefixes), which Redis' Lua reads with ``struct.unpack``. Everything
else is LangGraph's own serialization, loaded through the strict serializer.

Record::

    'R' | >H parent | >H run id | >H n, n x (>B version text) | >H n, n x (>H channel, >H ref)
        | payload (rest: msgpack [checkpoint type, bytes, metadata type, bytes])

A version text is a type tag (``s`` str, ``i`` int, ``f`` float) and the version. Each
distinct version is written once; ``versions_seen`` refers to them by index, so a record holds
no repeated version strings. ``ref`` is the index of the channel's version, plus ``STORED``
when the checkpoint has a value for the channel (the scripts fetch those blobs only).

Blob: ``'F' | >H type | bytes`` (a whole value) or ``'X' | >H base field | >I n | elements``
(``n`` list elements appended to the value of ``base``; see ``lists``).

Writes of one checkpoint: entries ``>I length | >H task | >i idx | >H channel | >H path
| >H type | bytes``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import ormsgpack

from state.checkpoint.errors import UnsafeCheckpointDataError

STORED = 0x8000
RECORD, FULL, EXTENSION = b"R", b"F", b"X"
_TAGS: dict[type, bytes] = {str: b"s", int: b"i", float: b"f"}


def _framed(data: bytes, width: str = ">H") -> bytes:
    return struct.pack(width, len(data)) + data


class Reader:
    """Reads framed fields from bytes, refusing truncated or malformed input."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def number(self, fmt: str) -> int:
        """One big-endian integer (``fmt`` like ``>H``)."""
        try:
            (value,) = struct.unpack_from(fmt, self.data, self.pos)
        except struct.error as exc:
            raise UnsafeCheckpointDataError("truncated checkpoint data") from exc
        self.pos += struct.calcsize(fmt)
        return int(value)

    def framed(self, width: str = ">H") -> bytes:
        """One length-prefixed byte string."""
        size = self.number(width)
        if self.pos + size > len(self.data):
            raise UnsafeCheckpointDataError("truncated checkpoint data")
        self.pos += size
        return self.data[self.pos - size : self.pos]

    def rest(self) -> bytes:
        """Everything not read yet."""
        return self.data[self.pos :]


def version_text(version: str | int | float) -> bytes:
    """The tagged text of a version (its type survives the round trip)."""
    tag = _TAGS.get(type(version))
    if tag is None:
        raise TypeError(f"unsupported channel version {version!r}")
    return tag + str(version).encode()


def version_of(text: bytes) -> str | int | float:
    """Inverse of ``version_text``."""
    tag, body = text[:1], text[1:].decode()
    if tag == b"s":
        return body
    if tag == b"i":
        return int(body)
    if tag == b"f":
        return float(body)
    raise UnsafeCheckpointDataError(f"unknown version tag {tag!r}")


@dataclass(frozen=True)
class Header:
    """The Lua-readable part of a record."""

    parent_id: str | None
    run_id: str
    versions: list[str | int | float]
    refs: dict[str, tuple[int, bool]]  # channel -> (version index, has a stored value)


def encode_record(
    header: Header, checkpoint: tuple[str, bytes], metadata: tuple[str, bytes]
) -> bytes:
    """Frame a record from its header and the serialized checkpoint and metadata."""
    parts = [RECORD, _framed((header.parent_id or "").encode()), _framed(header.run_id.encode())]
    parts.append(struct.pack(">H", len(header.versions)))
    parts += [_framed(version_text(v), ">B") for v in header.versions]
    parts.append(struct.pack(">H", len(header.refs)))
    for channel, (index, stored) in header.refs.items():
        parts += [_framed(channel.encode()), struct.pack(">H", index | (STORED if stored else 0))]
    parts.append(ormsgpack.packb([checkpoint[0], checkpoint[1], metadata[0], metadata[1]]))
    return b"".join(parts)


def decode_record(raw: bytes) -> tuple[Header, tuple[str, bytes], tuple[str, bytes]]:
    """Inverse of ``encode_record``.

    Raises:
        UnsafeCheckpointDataError: ``raw`` is not a record this module wrote.
    """
    if raw[:1] != RECORD:
        raise UnsafeCheckpointDataError("stored record has an unknown format")
    r = Reader(raw, 1)
    parent, run_id = r.framed().decode(), r.framed().decode()
    versions = [version_of(r.framed(">B")) for _ in range(r.number(">H"))]
    refs: dict[str, tuple[int, bool]] = {}
    for _ in range(r.number(">H")):
        channel, ref = r.framed().decode(), r.number(">H")
        refs[channel] = (ref & ~STORED, bool(ref & STORED))
    try:
        ck_type, ck_bytes, md_type, md_bytes = ormsgpack.unpackb(r.rest())
    except (ormsgpack.MsgpackDecodeError, ValueError, TypeError) as exc:
        raise UnsafeCheckpointDataError("stored record payload is malformed") from exc
    if not all(isinstance(x, str) for x in (ck_type, md_type)) or not all(
        isinstance(x, bytes) for x in (ck_bytes, md_bytes)
    ):
        raise UnsafeCheckpointDataError("stored record payload is malformed")
    return Header(parent or None, run_id, versions, refs), (ck_type, ck_bytes), (md_type, md_bytes)


def full_blob(typed: tuple[str, bytes]) -> bytes:
    """A blob holding a whole serialized value."""
    return FULL + _framed(typed[0].encode()) + typed[1]


def extension_blob(base_field: bytes, added: int, elements: bytes) -> bytes:
    """A blob holding ``added`` list elements appended to the value at ``base_field``."""
    return EXTENSION + _framed(base_field) + struct.pack(">I", added) + elements


def parse_blob(raw: bytes) -> tuple[bytes | None, str, int, bytes]:
    """``(base field or None, type, added count, data)`` of a stored blob."""
    r = Reader(raw, 1)
    if raw[:1] == FULL:
        value_type = r.framed().decode()
        return None, value_type, 0, r.rest()
    if raw[:1] == EXTENSION:
        base = r.framed()
        added = r.number(">I")
        return base, "msgpack", added, r.rest()
    raise UnsafeCheckpointDataError("stored blob has an unknown format")


@dataclass(frozen=True)
class WriteEntry:
    """One pending write as stored."""

    task_id: str
    idx: int
    channel: str
    task_path: str
    typed: tuple[str, bytes]


def encode_write(entry: WriteEntry) -> bytes:
    """Frame one pending write (the scripts dedupe on its leading task id and idx)."""
    body = b"".join(
        [
            _framed(entry.task_id.encode()),
            struct.pack(">i", entry.idx),
            _framed(entry.channel.encode()),
            _framed(entry.task_path.encode()),
            _framed(entry.typed[0].encode()),
            entry.typed[1],
        ]
    )
    return _framed(body, ">I")


def decode_writes(raw: bytes | None) -> Iterator[WriteEntry]:
    """The entries of one checkpoint's writes blob, in stored order."""
    outer = Reader(raw or b"")
    while outer.pos < len(outer.data):
        r = Reader(outer.framed(">I"))
        task, idx = r.framed().decode(), r.number(">i")
        channel, path, value_type = r.framed().decode(), r.framed().decode(), r.framed().decode()
        yield WriteEntry(task, idx, channel, path, (value_type, r.rest()))


def intern_versions(
    channel_versions: Mapping[str, Any], versions_seen: Mapping[str, Mapping[str, Any]]
) -> tuple[list[str | int | float], dict[str, int], dict[str, dict[str, int]]]:
    """Distinct versions once, and both maps rewritten as indices into that list."""
    table: dict[tuple[type, Any], int] = {}

    def index(version: Any) -> int:
        return table.setdefault((type(version), version), len(table))

    refs = {ch: index(v) for ch, v in channel_versions.items()}
    seen = {
        node: {ch: index(v) for ch, v in chans.items()} for node, chans in versions_seen.items()
    }
    if len(table) >= STORED:
        raise ValueError("a checkpoint with 32768 distinct channel versions cannot be stored")
    return [v for _, v in table], refs, seen
