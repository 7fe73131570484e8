"""What a model call may spend (checked before it is made) and what it spent (after).

Before: the prompt (estimated) plus the longest answer allowed must fit the tokens left, and
their price must fit the dollars left. After: the tokens the provider reported, priced by
:mod:`agents.llm.prices`, go on the agent's decision record, and the stage adds them to the
run's ``usage``, which every gate's budget check reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from agents.llm.prices import call_cost, price_of
from graph.agent import AgentContext
from graph.budget import BudgetExhausted
from state.settings import get_settings


def model_label(model: BaseChatModel) -> str:
    """The model's name as its provider knows it (``gpt-4o-mini``), for records and prices."""
    for attr in ("model_name", "model"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__


@dataclass(frozen=True)
class Spent:
    """What one model call used, as the provider reported it, and its price in dollars."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cost: float = 0.0


def spent_by(model: str, raw: Any) -> Spent:
    """What the answer ``raw`` (an ``AIMessage``) reports it used; zeros when it reports none."""
    usage = getattr(raw, "usage_metadata", None) or {}
    inp, out = int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
    total = int(usage.get("total_tokens", inp + out))
    return Spent(inp, out, total, call_cost(model, inp, out) if inp or out else 0.0)


def prompt_tokens(messages: list[BaseMessage]) -> int:
    """A rough token count of a prompt (4 characters a token, as providers' rules of thumb).

    The tool schema sent with the messages is not counted (the answer ceiling dominates).
    """
    return sum(len(str(m.content)) for m in messages) // 4 + 4 * len(messages)


def answer_ceiling(model: BaseChatModel) -> int:
    """The longest answer a call may bring: the model's ``max_tokens``, else the setting."""
    ceiling = getattr(model, "max_tokens", None)
    if isinstance(ceiling, int) and ceiling > 0:
        return ceiling
    return get_settings().llm_max_output_tokens


def check_budget(
    model: BaseChatModel,
    messages: list[BaseMessage],
    ctx: AgentContext,
    agent: str,
) -> None:
    """Refuse a call that would go past the run's token or cost budget, before it is made.

    With a cost budget, a model without a known price is refused too: a budget that cannot be
    measured is not enforced silently (add the model to ``WAYBILL_MODEL_PRICES``).

    Raises:
        BudgetExhausted: the prompt plus the longest answer allowed does not fit what is left.
    """
    left = ctx.budget
    if left.cost is not None and left.cost <= 0:
        raise BudgetExhausted(
            f"budget:cost exhausted before '{agent}' could call its model: "
            f"${(left.cost_limit or 0) - left.cost:,.4f} spent of ${left.cost_limit:,.4f}"
        )
    if left.tokens is None and left.cost is None:
        return
    answer = answer_ceiling(model)
    prompt = prompt_tokens(messages)
    if left.tokens is not None and prompt + answer > left.tokens:
        spent = (left.tokens_limit or 0) - left.tokens
        raise BudgetExhausted(
            f"budget:tokens would be exceeded by the next call of '{agent}': it needs up to "
            f"{prompt + answer:,} tokens (prompt ~{prompt:,} + answer up to {answer:,}); "
            f"{spent:,} of {left.tokens_limit:,} spent, {left.tokens:,} left"
        )
    if left.cost is None:
        return
    label = model_label(model)
    price = price_of(label)
    if price is None:
        raise BudgetExhausted(
            f"budget:cost cannot be checked before the next call of '{agent}': no price is "
            f"known for model '{label}' (add it to WAYBILL_MODEL_PRICES)"
        )
    ceiling = price.cost(prompt, answer)
    if ceiling > left.cost:
        spent_cost = (left.cost_limit or 0) - left.cost
        raise BudgetExhausted(
            f"budget:cost would be exceeded by the next call of '{agent}': it may cost up to "
            f"${ceiling:,.4f} (prompt ~{prompt:,} + answer up to {answer:,} tokens of "
            f"{label}); ${spent_cost:,.4f} of ${left.cost_limit:,.4f} spent, "
            f"${left.cost:,.4f} left"
        )
