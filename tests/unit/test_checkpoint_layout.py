"""Key and field names of the checkpointer: injective, and one hash tag per thread."""

from __future__ import annotations

import itertools

from state.checkpoint.layout import ThreadKeys, blob_field, write_field

ODD = ["", "a", "a:b", "a%3Ab", "{a}", "}", "a}b", "ü日本", ":", "%", "w:x"]


def _tag(key: str) -> str:
    # Redis Cluster hashes the text between the first "{" and the next "}"
    start = key.index("{") + 1
    return key[start : key.index("}", start)]


def test_every_key_of_a_thread_has_the_threads_hash_tag() -> None:
    for thread, ns in itertools.product(ODD, ODD):
        keys = ThreadKeys(thread)
        names = [
            keys.fence,
            keys.namespaces,
            keys.index(ns),
            keys.checkpoints(ns),
            keys.blobs(ns),
            keys.writes_keys(ns),
            keys.writes(ns, "1f0-id"),
        ]
        assert {_tag(n) for n in names} == {_tag(keys.namespaces)}


def test_keys_never_collide_across_threads_namespaces_and_ids() -> None:
    seen: dict[str, tuple[str, ...]] = {}
    for thread, ns, cid in itertools.product(ODD, ODD, ["x", "x:w", "idx", "ck"]):
        keys = ThreadKeys(thread)
        for kind, name in [
            ("ns", keys.namespaces),
            ("idx", keys.index(ns)),
            ("ck", keys.checkpoints(ns)),
            ("blobs", keys.blobs(ns)),
            ("wkeys", keys.writes_keys(ns)),
            ("w", keys.writes(ns, cid)),
        ]:
            owner = (thread, kind) if kind == "ns" else (thread, ns, kind, cid)
            owner = owner if kind == "w" else owner[:3]
            assert seen.setdefault(name, owner) == owner, name


def test_fields_are_injective() -> None:
    versions = ["1", "2", "00000000000000000000000000000001.0.5"]
    blob_fields = {(c, v): blob_field(c, v) for c in ODD for v in versions}
    assert len(set(blob_fields.values())) == len(blob_fields)
    write_fields = {(t, i): write_field(t, i) for t in ODD for i in (-4, -1, 0, 1, 12)}
    assert len(set(write_fields.values())) == len(write_fields)
