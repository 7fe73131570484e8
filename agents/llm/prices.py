"""What a model call costs: a price per model, turned into dollars from the tokens it used.

The built-in table holds list prices of a few well-known models; ``WAYBILL_MODEL_PRICES`` (read
through :mod:`state.settings`) adds models or overrides these, e.g. a negotiated rate, a
fine-tuned model or an Azure deployment name. Prices are USD per million tokens.

A dated snapshot (``gpt-4o-mini-2024-07-18``, ``claude-3-5-haiku-20241022``) or a ``-latest``
alias is priced as the model it names when it has no price of its own.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass

from state.settings import get_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Price:
    """USD per million input (prompt) tokens and per million output (answer) tokens."""

    input: float
    output: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """The dollars of a call that used these tokens."""
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000


LIST_PRICES_AS_OF = "2025-10"
"""List prices change: check your provider's pricing page, and override in settings."""

LIST_PRICES: dict[str, Price] = {
    # OpenAI, standard tier (list prices as of LIST_PRICES_AS_OF; override in settings)
    "gpt-5": Price(1.25, 10.00),
    "gpt-5-mini": Price(0.25, 2.00),
    "gpt-5-nano": Price(0.05, 0.40),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-mini": Price(0.15, 0.60),
    "o4-mini": Price(1.10, 4.40),
    # Anthropic (list prices as of LIST_PRICES_AS_OF; override in settings)
    "claude-opus-4-1": Price(15.00, 75.00),
    "claude-sonnet-4-5": Price(3.00, 15.00),
    "claude-sonnet-4": Price(3.00, 15.00),
    "claude-sonnet-4-0": Price(3.00, 15.00),
    "claude-3-7-sonnet": Price(3.00, 15.00),
    "claude-haiku-4-5": Price(1.00, 5.00),
    "claude-3-5-haiku": Price(0.80, 4.00),
}

# `-2024-07-18` (OpenAI), `-20241022` (Anthropic), `-latest`: the same model's price.
_SNAPSHOT = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|latest)$")


def _names(model: str) -> list[str]:
    base = _SNAPSHOT.sub("", model)
    return [model] if base == model else [model, base]


def price_of(model: str) -> Price | None:
    """The price of ``model``: from ``WAYBILL_MODEL_PRICES`` first, else the list; None if unknown.

    Read when called (settings are never read at import).
    """
    overrides = get_settings().model_prices
    for name in _names(model):
        if name in overrides:
            return Price(*overrides[name])
        if name in LIST_PRICES:
            return LIST_PRICES[name]
    return None


@functools.cache
def warn_unpriced(model: str) -> None:
    """Log once per model per process that its calls are recorded at $0."""
    log.warning(
        "no price known for model %r: its calls are recorded at $0 (add it to "
        "WAYBILL_MODEL_PRICES; a run with a cost budget refuses to call it)",
        model,
    )


def call_cost(model: str, input_tokens: int, output_tokens: int) -> float:
    """The dollars of one call of ``model``; 0 (and a one-time warning) when it has no price."""
    price = price_of(model)
    if price is None:
        warn_unpriced(model)
        return 0.0
    return price.cost(input_tokens, output_tokens)
