"""The autonomy policy of an action: which envelope rule governs, who decides, by when."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agents.procurement.chain import ORDER_DEADLINE, PLACE_ORDER
from agents.procurement.contracts import OrderPlaced
from graph.actions import resolve_policy, tier_request
from graph.chain import Stage
from graph.context import RunContext
from state.decisions import DecisionDeadline
from tests.workflows.approvals import HANDOVER, TRANSFER, Payment


def _payment(amount: float, note: str = "") -> Payment:
    return Payment(payee="p", amount=amount, note=note)


def test_the_strictest_rule_that_holds_governs() -> None:
    assert resolve_policy(TRANSFER, _payment(10)).tier == "auto"
    one = resolve_policy(TRANSFER, _payment(5_000))
    assert (one.tier, one.approvals, one.group) == ("approve", 1, None)
    assert one.rule is not None
    assert one.rule.name == "above_limit"
    two = resolve_policy(TRANSFER, _payment(60_000))
    assert (two.tier, two.approvals, two.group) == ("approve", 2, "finance")
    assert two.rule is not None
    assert two.rule.name == "very_large"


def test_a_rules_deadline_applies_only_to_a_question_it_governs() -> None:
    late = resolve_policy(TRANSFER, _payment(300, "handover"))
    assert late.deadline == HANDOVER
    # above 1,000 the limit rule governs (first of equals): its deadline (none) applies
    assert resolve_policy(TRANSFER, _payment(5_000, "handover")).deadline is None


def _order(total: float) -> OrderPlaced:
    return OrderPlaced(
        request_id="R",
        po_number="PO-1",
        supplier="S",
        sku="SKU-DESK-02",
        order_quantity=1,
        total=total,
        status="placed",
    )


def test_the_reference_order_rules() -> None:
    assert resolve_policy(PLACE_ORDER, _order(100)).tier == "auto"
    large = resolve_policy(PLACE_ORDER, _order(20_000))
    assert (large.approvals, large.group, large.deadline) == (1, None, ORDER_DEADLINE)
    huge = resolve_policy(PLACE_ORDER, _order(88_500))
    assert (huge.approvals, huge.group, huge.deadline) == (2, "finance", ORDER_DEADLINE)


def test_the_question_carries_group_approvals_four_eyes_and_deadline() -> None:
    stage = Stage("pay", lambda i, c: None, Payment, Payment, owner="payments")  # type: ignore[arg-type,return-value]
    ctx = RunContext(run_id="r1")
    policy = resolve_policy(TRANSFER, _payment(60_000))
    request = tier_request(stage, TRANSFER, {}, policy, ctx, "pay|1")
    assert (request.group, request.approvals, request.four_eyes) == ("finance", 2, True)
    assert "(2 approvals of finance)" in request.what
    limit = tier_request(stage, TRANSFER, {}, resolve_policy(TRANSFER, _payment(5_000)), ctx, "s")
    assert (limit.group, limit.approvals) == ("payments", 1)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"after_s": 60, "then": "handover"}, "a handover deadline needs backup_group"),
        ({"after_s": 60, "then": "approve"}, "Input should be 'reject', 'hold' or 'handover'"),
        ({"after_s": 60, "remind_before_s": 60}, "remind_before_s must be shorter than after_s"),
        ({"after_s": 0}, "greater than 0"),
        ({"after_s": 60, "remind_before_s": -1}, "greater than or equal to 0"),
    ],
)
def test_a_deadline_never_approves_and_is_checked(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DecisionDeadline.model_validate(fields)


def test_a_reminder_goes_out_by_default() -> None:
    assert DecisionDeadline(after_s=100).reminder_s == 20
    assert DecisionDeadline(after_s=100, remind_before_s=0).reminder_s == 0
    assert DecisionDeadline(after_s=100, remind_before_s=30).reminder_s == 30
