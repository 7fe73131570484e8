"""LLM brains for the reference agents, and an LLM judge for gates.

Every reference agent has a deterministic rules brain (the default, offline) and can run on a
chat model through langchain-core with structured output into its contract, chosen by one
setting, ``WAYBILL_MODEL=provider:model``. Every call's reported tokens are priced
(:mod:`agents.llm.prices`) onto its decision record. Nothing here creates a model client at
import time.
"""

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
