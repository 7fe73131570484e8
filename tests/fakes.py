"""The one fake chat model every test of an LLM brain or judge uses. It never calls a network.

It is a langchain-core ``BaseChatModel`` (built like ``GenericFakeChatModel``) that also
supports ``bind_tools``, so the real ``with_structured_output`` of langchain-core runs on it:
answers go through the same tool-call parsing and contract validation as a provider's would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from graph.agent import AgentContext
from graph.chain import Chain
from state.sources import Source

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
    """Input tokens each answer reports."""
    output_tokens_per_call: int = 0
    """Output tokens each answer reports (priced at a model's output rate)."""
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
            "output_tokens": self.output_tokens_per_call,
            "total_tokens": self.tokens_per_call + self.output_tokens_per_call,
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


def rules_mirror(chain: Chain, sources: Mapping[str, Source]) -> Responder:
    """A responder that answers like each agent's rules brain would.

    It reads the input back from the prompt, finds the stage whose output contract is the
    bound tool, and runs that stage's rules brain on it: a run on this fake exercises every
    LLM brain's prompt and structured output, and should end as the rules-only run does.
    """
    contracts = {s.produces for s in chain.stages} | {chain.stage(chain.entry).consumes}

    def respond(messages: list[BaseMessage], tool: str) -> Answer:
        document = prompt_document(messages)
        keys = set(document["input"])
        # The prompt carries the whole input contract, so its keys name its class.
        contract = next(c for c in contracts if set(c.model_fields) == keys)
        stage = next(s for s in chain.stages if s.produces.__name__ == tool)
        rules = stage.agent.__wrapped__  # type: ignore[attr-defined]
        ctx = AgentContext(
            run_id="mirror", stage=stage.name, attempt=document["attempt"], sources=sources
        )
        result = rules(contract.model_validate(document["input"]), ctx)
        answer: dict[str, Any] = result.output.model_dump(mode="json")
        return answer

    return respond
