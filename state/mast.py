"""MAST failure-mode codes (Cemri et al., "Why Do Multi-Agent LLM Systems Fail?", NeurIPS 2025).

Every gate verdict is tagged with the codes its failed checks indicate, so that operators can
see *which kind* of multi-agent failure was caught, and where.
"""

from __future__ import annotations

from typing import Literal, get_args

MastCode = Literal[
    "FM-1.1",
    "FM-1.2",
    "FM-1.3",
    "FM-1.4",
    "FM-1.5",
    "FM-2.1",
    "FM-2.2",
    "FM-2.3",
    "FM-2.4",
    "FM-2.5",
    "FM-2.6",
    "FM-3.1",
    "FM-3.2",
    "FM-3.3",
]

MAST_CODES: tuple[MastCode, ...] = get_args(MastCode)

MAST_TITLES: dict[MastCode, str] = {
    "FM-1.1": "disobey task specification",
    "FM-1.2": "disobey role specification",
    "FM-1.3": "step repetition",
    "FM-1.4": "loss of conversation history",
    "FM-1.5": "unaware of termination conditions",
    "FM-2.1": "conversation reset",
    "FM-2.2": "fail to ask for clarification",
    "FM-2.3": "task derailment",
    "FM-2.4": "information withholding",
    "FM-2.5": "ignored other agent's input",
    "FM-2.6": "reasoning-action mismatch",
    "FM-3.1": "premature termination",
    "FM-3.2": "no or incomplete verification",
    "FM-3.3": "incorrect verification",
}
