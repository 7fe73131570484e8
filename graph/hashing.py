"""Canonical hashing of payloads (loop detection)."""

from __future__ import annotations

import hashlib
import json
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
