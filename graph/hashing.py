"""Canonical hashing of payloads (loop detection)."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: equal data gives equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def payload_hash(value: Any) -> str:
    """sha256 hex of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def _decided(value: Any) -> Any:
    if isinstance(value, dict):
        looks_like_fact = {"source", "key", "version", "value", "as_of"} <= value.keys()
        return {k: _decided(v) for k, v in value.items() if not (looks_like_fact and k == "as_of")}
    if isinstance(value, list):
        return [_decided(v) for v in value]
    return value


def decision_hash(payload: Any) -> str:
    """Hash of what an agent decided: the payload with the read times of its facts left out.

    Reading the same version of a fact again, later, and handing off the same thing is the same
    decision: the loop detector must see it as a repeat.
    """
    return payload_hash(_decided(payload))


def fact_versions(payload: Any) -> frozenset[tuple[str, str, int]]:
    """``(source, key, version)`` of every fact in a JSON payload."""
    found: set[tuple[str, str, int]] = set()
    todo = [payload]
    while todo:
        value = todo.pop()
        if isinstance(value, dict):
            if {"source", "key", "version", "value", "as_of"} <= value.keys():
                found.add((str(value["source"]), str(value["key"]), int(value["version"])))
            todo.extend(value.values())
        elif isinstance(value, list):
            todo.extend(value)
    return frozenset(found)


_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1
"""What a checkpoint (msgpack) and an event (JSON) can hold."""


def unstorable(value: Any, path: str = "") -> str | None:
    """Why ``value`` (JSON-like) cannot be checkpointed and evented, or None when it can.

    Integers beyond 64 bits and non-finite floats (``1e5000`` parses as infinity) are refused
    where they enter a run (the input, an agent's output, a human's edit), never at the write.
    """
    where = path or "<root>"
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    if isinstance(value, int):
        return None if _INT_MIN <= value <= _INT_MAX else f"{where}: integer out of 64-bit range"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where}: {value} is not a finite number"
    if isinstance(value, dict):
        for key, item in value.items():
            problem = unstorable(item, f"{path}.{key}" if path else str(key))
            if problem:
                return problem
        return None
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            problem = unstorable(item, f"{path}.{i}" if path else str(i))
            if problem:
                return problem
    return None
