"""Suggesting a limit from decided escalations (pure): the numbers behind each suggestion."""

from __future__ import annotations

from agents.procurement.chain import amount_over_limit
from graph.runtime.insights import Evidence, suggest


def _ev(*decided: tuple[float, bool]) -> list[Evidence]:
    return [
        Evidence(run_id=f"r{n}", value=value, approved=ok, user="u")
        for n, (value, ok) in enumerate(decided)
    ]


def test_the_highest_well_approved_value_is_proposed() -> None:
    history = _ev((5100, True), (5500, True), (6000, True), (9000, False), (6500, True))
    made = suggest("procurement", amount_over_limit, history, 5000, min_decisions=3)
    assert made is not None
    assert (made.proposed, made.asked, made.approved, made.low) == (6500, 4, 4, 5100)
    assert made.runs == ["r0", "r1", "r2", "r4"]  # ordered by value, the rejected one left out


def test_too_few_decisions_or_too_many_rejections_suggest_nothing() -> None:
    assert suggest("p", amount_over_limit, _ev((5100, True), (5200, True)), 5000) is None
    mixed = _ev(*[(5000 + n * 100, n % 2 == 0) for n in range(1, 21)])
    assert suggest("p", amount_over_limit, mixed, 5000, min_rate=0.9) is None


def test_values_under_the_limit_and_ties_are_not_split() -> None:
    history = _ev((4000, True), (6000, True), (6000, False), (7000, True))
    assert suggest("p", amount_over_limit, history, 5000, min_decisions=1, min_rate=1.0) is None
    made = suggest("p", amount_over_limit, history, 5000, min_decisions=1, min_rate=0.6)
    assert made is not None
    assert (made.proposed, made.asked) == (7000, 3)  # 4,000 was never above the limit
