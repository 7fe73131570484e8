"""LLM brains for the reference agents, and an LLM judge for gates.

Every reference agent has a deterministic rules brain (the default, offline) and can run on a
chat model through langchain-core with structured output into its contract, chosen by one
setting, ``WAYBILL_MODEL=provider:model``. Every call's reported tokens are priced
(:mod:`agents.llm.prices`) onto its decision record. Nothing here creates a model client at
import time.

The names below load their module on first use: importing ``agents.llm.usage`` (the console and
the command line print usage with it) does not load LangGraph and the model stack.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agents.llm.brain import LlmSpec, llm_brain, with_llm_brain
    from agents.llm.judge import JudgeVerdict, llm_judge
    from agents.llm.models import (
        ModelConfigError,
        configured_model,
        init_model,
        model_for,
        use_brain,
    )
    from agents.llm.prices import Price, price_of
    from agents.llm.usage import StageUsage, usage_by_stage, usage_lines, usage_text

_MODULE_OF = {
    "LlmSpec": "brain",
    "llm_brain": "brain",
    "with_llm_brain": "brain",
    "JudgeVerdict": "judge",
    "llm_judge": "judge",
    "ModelConfigError": "models",
    "configured_model": "models",
    "init_model": "models",
    "model_for": "models",
    "use_brain": "models",
    "Price": "prices",
    "price_of": "prices",
    "StageUsage": "usage",
    "usage_by_stage": "usage",
    "usage_lines": "usage",
    "usage_text": "usage",
}

__all__ = [
    "JudgeVerdict",
    "LlmSpec",
    "ModelConfigError",
    "Price",
    "StageUsage",
    "configured_model",
    "init_model",
    "llm_brain",
    "llm_judge",
    "model_for",
    "price_of",
    "usage_by_stage",
    "usage_lines",
    "usage_text",
    "use_brain",
    "with_llm_brain",
]


def __getattr__(name: str) -> Any:
    """``name`` from the submodule that defines it (imported now, once)."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
