"""Which chat model an agent uses: a per-run override, else ``WAYBILL_MODEL``, else none.

``WAYBILL_MODEL`` is read through ``state.settings.get_settings()`` when an agent runs, never at
import. The provider's LangChain package is an optional extra: when it is missing, the error is
one line naming the package to install.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable
from pydantic import BaseModel

from graph.runtime.runner import InputError
from state.settings import get_settings

PROVIDERS: dict[str, tuple[str, str, str]] = {
    # provider: (module, chat model class, package to install)
    "openai": ("langchain_openai", "ChatOpenAI", "langchain-openai"),
    "azure_openai": ("langchain_openai", "AzureChatOpenAI", "langchain-openai"),
    "anthropic": ("langchain_anthropic", "ChatAnthropic", "langchain-anthropic"),
    "google_genai": ("langchain_google_genai", "ChatGoogleGenerativeAI", "langchain-google-genai"),
    "mistralai": ("langchain_mistralai", "ChatMistralAI", "langchain-mistralai"),
    "groq": ("langchain_groq", "ChatGroq", "langchain-groq"),
    "ollama": ("langchain_ollama", "ChatOllama", "langchain-ollama"),
}
"""Providers built without the ``langchain`` package; with it, ``init_chat_model`` is used."""

CLIENT_LIMITS = frozenset({"openai", "azure_openai", "anthropic"})
"""Providers whose clients take ``timeout`` and ``max_retries`` (set from the settings)."""


class ModelConfigError(InputError):
    """``WAYBILL_MODEL`` names a model that cannot be built here (one line, names the fix)."""


def parse_spec(spec: str) -> tuple[str, str]:
    """Split ``provider:model``; a one-line :class:`ModelConfigError` when it is not that."""
    provider, sep, name = spec.strip().partition(":")
    if not sep or not provider or not name:
        raise ModelConfigError(
            f"WAYBILL_MODEL={spec!r} is not of the form provider:model (e.g. openai:gpt-4o-mini)"
        )
    return provider.lower(), name


def _langchain_init() -> Any:
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:
        return None
    return init_chat_model


@lru_cache(maxsize=8)
def init_model(
    spec: str, timeout_s: float | None = None, max_retries: int | None = None
) -> BaseChatModel:
    """Build the chat model ``spec`` names (cached: one client per spec per process).

    Uses ``langchain``'s ``init_chat_model`` when that package is installed, else the provider
    package from :data:`PROVIDERS`. The client reads its own environment (API key, and
    ``OPENAI_BASE_URL`` for any OpenAI-compatible server).

    Args:
        spec: ``provider:model``.
        timeout_s: seconds one request may take (providers in :data:`CLIENT_LIMITS`).
        max_retries: retries of a 429, 5xx or timed-out request (same providers).

    Raises:
        ModelConfigError: bad spec, unknown provider, or its package is not installed.
    """
    provider, name = parse_spec(spec)
    limits: dict[str, Any] = {}
    if provider in CLIENT_LIMITS:
        if timeout_s is not None:
            limits["timeout"] = timeout_s
        if max_retries is not None:
            limits["max_retries"] = max_retries
    init_chat_model = _langchain_init()
    if init_chat_model is not None:
        try:
            model: BaseChatModel = init_chat_model(name, model_provider=provider, **limits)
        except ImportError as exc:
            missing = getattr(exc, "name", None) or str(exc)
            raise ModelConfigError(
                f"WAYBILL_MODEL={spec} needs the optional provider package for '{provider}' "
                f"({missing} is not installed)"
            ) from None
        except ValueError as exc:
            raise ModelConfigError(f"WAYBILL_MODEL={spec}: {str(exc).splitlines()[0]}") from None
        return model
    if provider not in PROVIDERS:
        raise ModelConfigError(
            f"WAYBILL_MODEL={spec}: unknown provider '{provider}' (known without the langchain "
            f"package: {', '.join(sorted(PROVIDERS))})"
        )
    module_name, class_name, package = PROVIDERS[provider]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise ModelConfigError(
            f"WAYBILL_MODEL={spec} needs the optional package {package}: pip install {package}"
        ) from None
    built: BaseChatModel = getattr(module, class_name)(model=name, **limits)
    return built


def configured_model() -> BaseChatModel | None:
    """The model ``WAYBILL_MODEL`` names, or None for the rules brains (read now)."""
    settings = get_settings()
    if not settings.model:
        return None
    return init_model(settings.model, settings.llm_timeout_s, settings.llm_max_retries)


def check_configured_model() -> None:
    """Build the model ``WAYBILL_MODEL`` names now, so a process that runs agents (a worker,
    ``up``, ``run --local``) refuses one it cannot build before it takes a run, instead of
    every run escalating at its first gate.

    Raises:
        ModelConfigError: one line: a bad spec, unknown provider, missing package, or the
            provider's client refusing to be built (e.g. no API key in the environment).
    """
    settings = get_settings()
    if not settings.model:
        return
    try:
        init_model(settings.model, settings.llm_timeout_s, settings.llm_max_retries)
    except ModelConfigError:
        raise
    except Exception as exc:  # the provider's own error type: any refusal to build the client
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelConfigError(f"WAYBILL_MODEL={settings.model} cannot be used: {first}") from None


def structured(model: BaseChatModel, schema: type[BaseModel]) -> Runnable[Any, Any]:
    """``model`` answering ``schema`` by a tool call, with the raw answer kept.

    A tool call is asked for explicitly where the client offers a choice: ``ChatOpenAI``'s
    default (``json_schema``) validates inside the client and raises on a malformed answer,
    losing the answer the gate should judge and the tokens it cost; a tool call's arguments
    come back as given, with their usage.
    """
    if "method" in inspect.signature(model.with_structured_output).parameters:
        return model.with_structured_output(schema, include_raw=True, method="function_calling")
    return model.with_structured_output(schema, include_raw=True)


@dataclass(frozen=True)
class _Override:
    model: BaseChatModel | None
    agents: frozenset[str] | None


# A context variable, so an override covers exactly the runs started inside `use_brain` (LangGraph
# runs sync nodes in a copy of the caller's context) and never leaks into another thread's runs.
_override: ContextVar[_Override | None] = ContextVar("waybill_brain_override", default=None)


@contextmanager
def use_brain(model: BaseChatModel | None, agents: Iterable[str] | None = None) -> Iterator[None]:
    """Choose the brain of the agents run inside this block, whatever ``WAYBILL_MODEL`` says.

    Args:
        model: the chat model to use, or None to force the rules brains.
        agents: only these agents (by name, e.g. ``"intake"``) use ``model``; the others use
            their rules. None means every agent.
    """
    token = _override.set(_Override(model, frozenset(agents) if agents is not None else None))
    try:
        yield
    finally:
        _override.reset(token)


def model_for(agent: str) -> BaseChatModel | None:
    """The model ``agent`` runs on now, or None when it runs on its rules."""
    override = _override.get()
    if override is not None:
        if override.agents is None or agent in override.agents:
            return override.model
        return None
    return configured_model()
