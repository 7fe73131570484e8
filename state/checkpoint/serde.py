"""Strict deserialization and the byte framing of what the checkpointer stores.

Redis is shared with other processes, so anything read back from it is treated as untrusted:
loading a checkpoint must never import or construct an arbitrary class. ``StrictSerializer``
is LangGraph's ``JsonPlusSerializer`` locked down:

- ``allowed_msgpack_modules=None``: msgpack extension objects are only revived when their
  ``(module, name)`` is in LangGraph's built-in ``SAFE_MSGPACK_TYPES`` (datetime, UUID, Send,
  Interrupt, Command, langchain-core messages, ...) or in ``allowed_types``. Any other class is
  not imported; its serialized payload (a plain dict/list/str) is returned instead.
- ``pickle_fallback=False`` and the ``"pickle"`` and legacy ``"json"`` encodings are refused
  outright (``"json"`` would go through langchain-core's constructor reviver). This saver only
  ever writes ``msgpack``, ``null``, ``bytes`` and ``bytearray``.

Framing: records are msgpack arrays of plain str/bytes/int/None, decoded without an extension
hook, so the framing itself cannot smuggle objects either.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import ormsgpack
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from state.checkpoint.errors import UnsafeCheckpointDataError

# Encodings JsonPlusSerializer.dumps_typed produces without a pickle fallback.
SAFE_ENCODINGS = frozenset({"msgpack", "null", "bytes", "bytearray"})

# Marker for a channel that exists in ``new_versions`` but has no value (LangGraph's convention).
EMPTY = "empty"


class StrictSerializer(JsonPlusSerializer):
    """A ``JsonPlusSerializer`` that revives only allowlisted types and never unpickles.

    Args:
        allowed_types: Extra classes (or ``(module, name)`` pairs) that may be revived on top of
            LangGraph's safe built-ins, e.g. the pydantic contracts a graph keeps in its state.
            LangGraph also extends this list itself through ``with_allowlist`` when
            ``LANGGRAPH_STRICT_MSGPACK=true``.
    """

    def __init__(self, allowed_types: Iterable[tuple[str, ...] | type] = ()) -> None:
        extra = tuple(allowed_types)
        super().__init__(
            pickle_fallback=False,
            allowed_json_modules=None,
            allowed_msgpack_modules=extra or None,
        )

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        """Load one typed value, refusing any encoding outside ``SAFE_ENCODINGS``.

        Raises:
            UnsafeCheckpointDataError: The value is pickled or uses the legacy json encoding.
        """
        if data[0] not in SAFE_ENCODINGS:
            raise UnsafeCheckpointDataError(
                f"refusing to load a checkpoint value encoded as {data[0]!r}"
            )
        return super().loads_typed(data)


def pack(*fields: str | bytes | int | None) -> bytes:
    """Frame plain fields as one msgpack array (the stored form of records and writes)."""
    return ormsgpack.packb(list(fields))


def unpack(raw: bytes) -> list[Any]:
    """Inverse of ``pack``; refuses anything but an array of plain values.

    Raises:
        UnsafeCheckpointDataError: ``raw`` is not a record this module wrote.
    """
    try:
        value = ormsgpack.unpackb(raw)
    except ormsgpack.MsgpackDecodeError as exc:
        raise UnsafeCheckpointDataError("stored record is not valid msgpack") from exc
    if not isinstance(value, list) or not all(
        v is None or isinstance(v, str | bytes | int) for v in value
    ):
        raise UnsafeCheckpointDataError("stored record is not an array of plain fields")
    return value
