"""Strict serializer: safe types round-trip, anything else stays inert data or is refused."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from uuid import uuid4

import ormsgpack
import pytest
from langgraph.checkpoint.serde.jsonplus import (
    EXT_CONSTRUCTOR_KW_ARGS,
    EXT_CONSTRUCTOR_POS_ARGS,
    EXT_CONSTRUCTOR_SINGLE_ARG,
    EXT_PYDANTIC_V2,
)
from langgraph.types import Command, Interrupt, Send
from pydantic import BaseModel

from state.checkpoint import StrictSerializer, UnsafeCheckpointDataError
from state.checkpoint.serde import pack, unpack

TRIPPED: list[object] = []


class Contract(BaseModel):
    """A pydantic model a graph may keep in its state."""

    sku: str


class Tripwire:
    def __init__(self, *args: object, **kwargs: object) -> None:
        TRIPPED.append((args, kwargs))


def _ext(code: int, payload: tuple[object, ...]) -> tuple[str, bytes]:
    return "msgpack", ormsgpack.packb(ormsgpack.Ext(code, ormsgpack.packb(payload)))


@pytest.mark.parametrize(
    "value",
    [
        {"a": [1, 2.5, None, "x", True]},
        Interrupt(value={"ask": 1}, id="abc"),
        [Interrupt(value="x", id="i")],
        Send("work", {"item": 3}),
        Command(resume="yes", goto=[]),  # msgpack has no tuples: goto comes back a list
        datetime(2025, 1, 2, tzinfo=UTC),
        uuid4(),
        b"raw",
        None,
    ],
)
def test_run_state_and_langgraph_types_round_trip(value: object) -> None:
    serde = StrictSerializer()
    assert serde.loads_typed(serde.dumps_typed(value)) == value


@pytest.mark.parametrize("code", [EXT_CONSTRUCTOR_SINGLE_ARG, EXT_CONSTRUCTOR_POS_ARGS])
def test_unlisted_class_is_not_constructed(code: int) -> None:
    TRIPPED.clear()
    args: object = ("x",) if code == EXT_CONSTRUCTOR_POS_ARGS else "x"
    loaded = StrictSerializer().loads_typed(_ext(code, (__name__, "Tripwire", args)))
    assert TRIPPED == []
    assert loaded in ("x", ["x"])


def test_dangerous_callable_is_not_called() -> None:
    loaded = StrictSerializer().loads_typed(
        _ext(EXT_CONSTRUCTOR_KW_ARGS, ("os", "system", {"command": "false"}))
    )
    assert loaded == {"command": "false"}


def test_pydantic_models_need_an_explicit_allowlist() -> None:
    blob = StrictSerializer().dumps_typed(Contract(sku="A1"))
    assert StrictSerializer().loads_typed(blob) == {"sku": "A1"}
    assert StrictSerializer(allowed_types=[Contract]).loads_typed(blob) == Contract(sku="A1")
    # LangGraph's own allowlist hook (used when LANGGRAPH_STRICT_MSGPACK=true) keeps us strict
    extended = StrictSerializer().with_msgpack_allowlist([Contract])
    assert isinstance(extended, StrictSerializer)
    assert extended.loads_typed(blob) == Contract(sku="A1")
    raw = _ext(EXT_PYDANTIC_V2, (__name__, "Tripwire", {"a": 1}, None))
    assert extended.loads_typed(raw) == {"a": 1}


@pytest.mark.parametrize("encoding", ["pickle", "json", "whatever"])
def test_other_encodings_are_refused(encoding: str) -> None:
    pickled = pickle.dumps(Tripwire())
    TRIPPED.clear()
    with pytest.raises(UnsafeCheckpointDataError, match=encoding):
        StrictSerializer().loads_typed((encoding, pickled))
    assert TRIPPED == []


def test_framing_round_trips_and_rejects_anything_else() -> None:
    assert unpack(pack("msgpack", b"\x01", 3, None)) == ["msgpack", b"\x01", 3, None]
    with pytest.raises(UnsafeCheckpointDataError):
        unpack(b"\xc1")  # not msgpack
    with pytest.raises(UnsafeCheckpointDataError):
        unpack(ormsgpack.packb({"not": "a list"}))
    with pytest.raises(UnsafeCheckpointDataError):
        unpack(ormsgpack.packb([ormsgpack.Ext(1, b"x")]))
