"""Key and field names of the checkpointer: injective, and one hash tag per thread."""

from __future__ import annotations

import itertools

from state.checkpoint.codec import version_text
from state.checkpoint.layout import ThreadKeys, blob_field

ODD = ["", "a", "a:b", "a%3Ab", "{a}", "}", "a}b", "ü日本", ":", "%", "w:x"]


def _tag(key: str) -> str:
    # Redis Cluster hashes the text between the first "{" and the next "}"
    start = key.index("{") + 1
    return key[start : key.index("}", start)]


def test_every_key_of_a_thread_has_the_threads_hash_tag() -> None:
    for thread, ns in itertools.product(ODD, ODD):
        keys = ThreadKeys(thread)
        names = [keys.fence, keys.namespaces, keys.runs, *keys.ns_keys(ns)]
        assert {_tag(n) for n in names} == {_tag(keys.namespaces)}


def test_keys_never_collide_across_threads_and_namespaces() -> None:
    seen: dict[str, tuple[str, ...]] = {}
    for thread, ns in itertools.product(ODD, ODD):
        keys = ThreadKeys(thread)
        named = [("ns", keys.namespaces), ("runs", keys.runs)]
        named += list(zip(("idx", "rec", "bl", "w"), keys.ns_keys(ns), strict=True))
        for kind, name in named:
            owner = (thread, kind) if kind in ("ns", "runs") else (thread, ns, kind)
            assert seen.setdefault(name, owner) == owner, name


def test_blob_fields_are_injective_and_keep_the_version_type() -> None:
    versions: list[str | int | float] = ["1", 1, 1.0, "2", "00000001.0a", 12]
    fields = {
        (c, type(v), v): blob_field(c, version_text(v).decode()) for c in ODD for v in versions
    }
    assert len(set(fields.values())) == len(fields)
