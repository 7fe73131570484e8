"""The one fake chat model every test of an LLM brain or judge uses. It never calls a network.

It is a langchain-core ``BaseChatModel`` (built like ``GenericFakeChatModel``) that also
supports ``bind_tools``, so the real ``with_structured_output`` of langchain-core runs on it:
answers go through the same tool-call parsing and contract validation as a provider's would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

Answer = dict[str, Any] | str | Exception
"""A dict: a tool call with these arguments; a str: a plain-text reply (no tool call); an
exception: the call fails with it."""

Responder = Callable[[list[BaseMessage], str], Answer]
"""Computes an answer from the prompt and the name of the tool the caller bound."""


class FakeChatModel(BaseChatModel):
    """A scripted chat model: answers in order, then ``responder`` (if any) for the rest.

    Every call is recorded in ``calls`` (the prompt and the tool it was asked to call), so a
    test can count model calls and read what the model was shown.
    """

    answers: list[Answer | Responder] = Field(default_factory=list)
    responder: Responder | None = None
    tokens_per_call: int = 7
    calls: list[tuple[list[BaseMessage], str]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "waybill-fake"

    @property
    def model_name(self) -> str:
        return "fake"

    def bind_tools(
        self,
        tools: Sequence[Any],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        names = [convert_to_openai_tool(t)["function"]["name"] for t in tools]
        return self.bind(tool_names=names)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tool = (kwargs.get("tool_names") or [""])[0]
        self.calls.append((list(messages), tool))
        if self.answers:
            answer = self.answers.pop(0)
        elif self.responder is not None:
            answer = self.responder
        else:
            raise AssertionError(f"FakeChatModel has no answer left for call {len(self.calls)}")
        if callable(answer) and not isinstance(answer, Exception):
            answer = answer(messages, tool)
        if isinstance(answer, Exception):
            raise answer
        usage = {
            "input_tokens": self.tokens_per_call,
            "output_tokens": 0,
            "total_tokens": self.tokens_per_call,
        }
        if isinstance(answer, str):
            message = AIMessage(content=answer, usage_metadata=usage)
        else:
            call = {"name": tool, "args": answer, "id": f"call_{len(self.calls)}"}
            message = AIMessage(content="", tool_calls=[call], usage_metadata=usage)
        return ChatResult(generations=[ChatGeneration(message=message)])


def prompt_document(messages: list[BaseMessage]) -> dict[str, Any]:
    """The JSON document an LLM brain sends as its last message (input, context, feedback)."""
    content = messages[-1].content
    assert isinstance(content, str)
    data: dict[str, Any] = json.loads(content)
    return data
