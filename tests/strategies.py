"""Hypothesis strategies for bad input: JSON values of every awkward kind, and workflow inputs
that are mostly right with one field made wrong (so a run gets past its first gate)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from graph.chain import Chain

AWKWARD_NUMBERS = st.sampled_from(
    [0, -1, 2**63, 2**64, 10**30, -(10**30), 1e308, float("inf"), float("nan"), 1e-320, -0.0]
)
TEXTS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "\x00", "😀" * 10, "<b>x</b>", "{", "x" * 5000]),
)
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), AWKWARD_NUMBERS, TEXTS)
JSON_VALUES = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXTS, inner, max_size=4),
    max_leaves=12,
)


def example_of(chain: Chain) -> dict[str, Any]:
    """The chain's first example input."""
    path = next(iter(chain.examples.values()))
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _procurement_text() -> st.SearchStrategy[str]:
    skus = st.sampled_from(["SKU-CHAIR-01", "SKU-DESK-02", "SKU-NOPE-9", "SKU-", "chairs"])
    qty = st.one_of(st.integers(min_value=-5, max_value=200), AWKWARD_NUMBERS.map(str))
    when = st.sampled_from(["", " by 2099-01-15", " by 1999-13-45", " by tomorrow"])
    return st.builds(lambda q, s, w: f"Need {q} units of {s}{w}.", qty, skus, when)


def _like(field: str, value: Any) -> st.SearchStrategy[Any]:
    """Values of the same kind as ``value`` (so the input often gets past its contract)."""
    if field == "text":
        return _procurement_text() | TEXTS
    if isinstance(value, str):
        return TEXTS
    if isinstance(value, list):
        return st.lists(TEXTS, max_size=4)
    if isinstance(value, int | float):
        return st.integers() | st.floats() | AWKWARD_NUMBERS
    return JSON_VALUES


def inputs(chain: Chain) -> st.SearchStrategy[Any]:
    """Inputs for ``chain``: its example with one field replaced (often plausibly), a field
    dropped or added, or anything at all."""
    base = example_of(chain)
    fields = sorted(base)
    one_field = st.sampled_from(fields).flatmap(
        lambda f: (_like(f, base[f]) | JSON_VALUES).map(lambda v: {**base, f: v})
    )
    dropped = st.sampled_from(fields).map(lambda f: {k: v for k, v in base.items() if k != f})
    added = JSON_VALUES.map(lambda v: {**base, "extra": v})
    return st.one_of(one_field, one_field, dropped, added, JSON_VALUES)


def edits(proposed: dict[str, Any]) -> st.SearchStrategy[Any]:
    """An edited payload a human might send for ``proposed``: one field changed, or junk."""
    fields = sorted(proposed) or ["x"]
    one_field = st.sampled_from(fields).flatmap(
        lambda f: JSON_VALUES.map(lambda v: {**proposed, f: v})
    )
    return st.one_of(one_field, one_field, JSON_VALUES)
