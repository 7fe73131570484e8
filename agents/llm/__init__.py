"""LLM brains for the reference agents, and an LLM judge for gates.

Every reference agent has a deterministic rules brain (the default, offline) and can run on a
chat model through langchain-core with structured output into its contract, chosen by one
setting, ``WAYBILL_MODEL=provider:model``. Nothing here creates a model client at import time.
"""

from agents.llm.brain import LlmSpec, with_llm_brain
from agents.llm.judge import JudgeVerdict, llm_judge
from agents.llm.models import (
    ModelConfigError,
    configured_model,
    init_model,
    model_for,
    use_brain,
)

__all__ = [
    "JudgeVerdict",
    "LlmSpec",
    "ModelConfigError",
    "configured_model",
    "init_model",
    "llm_judge",
    "model_for",
    "use_brain",
    "with_llm_brain",
]
