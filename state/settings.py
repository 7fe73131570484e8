"""Process configuration: the one place that reads the environment.

Per-run knobs go through LangGraph's ``context_schema`` (see ``graph.context``), not here.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    SecretStr,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from state.notices import NoticeKind


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "waybill"


class WebhookSink(BaseModel):
    """Where notifications go: a generic JSON webhook (signed) or a Slack incoming webhook.

    The URL is a secret too (a Slack webhook URL is its own credential): logs and pages show
    only the sink's name and host.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    url: SecretStr
    format: Literal["generic", "slack"] = "generic"
    secret: SecretStr | None = Field(
        default=None,
        description="HMAC-SHA256 key: each request then carries X-Waybill-Signature "
        "(sha256=<hex of HMAC(key, '<X-Waybill-Timestamp>.<body>')>).",
    )
    events: list[NoticeKind] = Field(
        default_factory=list, description="Only these kinds of notice (empty: all)."
    )

    @field_validator("url")
    @classmethod
    def _http_only(cls, value: SecretStr) -> SecretStr:
        # The message names the scheme only: the URL itself may be a credential.
        parts = urlsplit(value.get_secret_value())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"a sink's url must be http(s)://host/... (got scheme {parts.scheme!r})"
            )
        return value


class Settings(BaseSettings):
    """Settings of a Waybill process, read from ``WAYBILL_*`` variables (and ``REDIS_URL``)."""

    model_config = SettingsConfigDict(env_prefix="WAYBILL_", extra="ignore")

    redis_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_URL", "WAYBILL_REDIS_URL"),
        description="Redis >= 6.2 or Valkey URL; unset means the embedded Valkey.",
    )
    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Where the embedded Valkey keeps its AOF and where local state lives.",
    )
    model: str | None = Field(
        default=None,
        description="`provider:model` for LLM brains; unset means deterministic rule brains.",
    )
    llm_max_output_tokens: int = Field(
        default=1024,
        ge=1,
        description="The answer length a model call is budgeted at before it is made (when the "
        "model sets no max_tokens of its own).",
    )
    llm_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="How long one model request may take before it counts as a failed call "
        "(OpenAI, Azure OpenAI and Anthropic clients built from WAYBILL_MODEL).",
    )
    llm_max_retries: int = Field(
        default=2,
        ge=0,
        description="Retries of a rate-limited (429), failed (5xx) or timed-out model request "
        "(same clients as llm_timeout_s).",
    )
    model_prices: dict[str, tuple[NonNegativeFloat, NonNegativeFloat]] = Field(
        default_factory=dict,
        description="USD per million input and output tokens by model name, over the built-in "
        'list prices (JSON, e.g. {"my-model": [0.5, 1.5]}).',
    )
    recursion_limit: int = Field(default=200, ge=10, description="LangGraph recursion limit.")
    console_host: str = Field(default="127.0.0.1", description="Console bind address.")
    console_port: int = Field(default=8501, ge=1, le=65535)
    console_origins: list[str] = Field(
        default_factory=list,
        description="Origins (scheme://host:port) a browser may reach the console by besides "
        "the bind address, e.g. a reverse proxy's (JSON list).",
    )
    veto_window_s: float = Field(default=30.0, ge=0, description="Notify-tier veto window.")
    kill_grace_s: float = Field(default=5.0, ge=0, description="Cooperative-kill grace period.")
    queue_name: str = Field(default="waybill", description="RQ queue the runs are enqueued on.")
    lease_ttl_s: float = Field(default=10.0, gt=0, description="Run lease TTL (renewed by holder).")
    redis_outage_s: float = Field(
        default=60.0,
        ge=0,
        description="How long a run waits for a Redis that went away before it is failed; "
        "within it, the run resumes from its last checkpoint when Redis is back.",
    )
    run_retention_s: float = Field(
        default=30 * 86400,
        ge=0,
        description="How long a finished run is kept (seconds; 0 keeps it forever): then the "
        "workers delete its checkpoints, events, tape, ledger and input (`waybill prune`).",
    )
    queue_url: SecretStr | None = Field(
        default=None,
        description="Redis URL of the runs queue when it cannot live with the state (a Redis "
        "Cluster: RQ's keys have no hash tags); unset means the state's Redis.",
    )
    max_attempts: int = Field(
        default=3,
        ge=1,
        description="Executions of a run from the same checkpoint before it is recorded failed "
        "(a worker that keeps dying at the same node: a poison run).",
    )
    console_session_idle_s: int = Field(
        default=8 * 3600,
        ge=60,
        description="A console session ends after this long without a page view (seconds).",
    )
    console_session_max_s: int = Field(
        default=7 * 86400,
        ge=60,
        description="A console session ends this long after login, however active (seconds).",
    )
    login_audit_per_minute: int = Field(
        default=30, ge=1, description="Failed console logins written to the audit log per minute."
    )
    metrics: bool = Field(
        default=True,
        description="Count gate verdicts, MAST codes, actions and human decisions in Redis for "
        "the metrics endpoint (`waybill metrics`); written as an execution stops (or each "
        "second).",
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT"),
        description="OTLP/HTTP endpoint of a trace collector; unset means no tracing at all "
        "(the exporter reads the other standard OTEL_EXPORTER_OTLP_* variables itself).",
    )
    max_input_bytes: int = Field(
        default=1024 * 1024,
        ge=1,
        description="Largest run input, edited payload or fork's set values accepted, in bytes "
        "of compact JSON (each is stored and copied into every checkpoint of the run).",
    )
    admin_fallback: bool = Field(
        default=True,
        description="Admins outside an escalation's group may decide it (audited as a fallback).",
    )
    token: SecretStr | None = Field(
        default=None,
        description="The API token the command line, `waybill mcp` and `waybill a2a` act with "
        "(`waybill user token NAME`).",
    )
    console_url: str | None = Field(
        default=None,
        description="The console's base URL for links in notifications (default: "
        "http://<console_host>:<console_port>).",
    )
    webhooks: list[WebhookSink] = Field(
        default_factory=list,
        description='Notification sinks (JSON list: [{"name": "ops", "url": "https://...", '
        '"secret": "...", "format": "generic"|"slack", "events": [...]}]).',
    )
    notify_attempts: int = Field(
        default=6,
        ge=1,
        le=20,
        description="Delivery attempts per notification and sink, the first one included.",
    )
    notify_backoff_s: float = Field(
        default=2.0, gt=0, description="Wait before the first retry; doubles per attempt."
    )
    notify_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description="How long one delivery attempt may take in all (connecting, sending, the "
        "reply's headers and body); a claimed delivery is leased for 30 s more than this.",
    )
    debug: bool = Field(
        default=False, description="Show tracebacks of unexpected errors in the CLI."
    )
    workflow_modules: list[str] = Field(
        default_factory=list,
        description="Extra modules whose build_chain() registers a workflow (JSON list).",
    )

    @field_validator("webhooks")
    @classmethod
    def _unique_sinks(cls, value: list[WebhookSink]) -> list[WebhookSink]:
        names = [sink.name for sink in value]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"sink names must be unique ({', '.join(twice)} more than once)")
        return value

    @field_validator("data_dir", mode="before")
    @classmethod
    def _empty_data_dir_is_unset(cls, value: object) -> object:
        # `WAYBILL_DATA_DIR=` would be Path(""), the current directory: a store that silently
        # changes with where the command is typed. Empty means unset, the default directory,
        # as the XDG spec says of $XDG_DATA_HOME ("not set or empty"), which that default is in.
        if isinstance(value, str) and not value.strip():
            return _default_data_dir()
        if isinstance(value, str | Path):  # '~/x' as a shell leaves it when quoted
            return Path(value).expanduser()
        return value


_built: tuple[tuple[str | None, ...], Settings] | None = None
_lock = threading.Lock()


def _names() -> tuple[str, ...]:
    """The variables the settings read (and ``HOME``, the data directory's default)."""
    names = ["HOME"]
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names += [str(choice) for choice in alias.choices]
        else:
            names.append(f"WAYBILL_{name.upper()}")
    return tuple(names)


_NAMES: tuple[str, ...] = ()


def _environment() -> tuple[str | None, ...]:
    """The values of the variables the settings read (upper-case names)."""
    global _NAMES
    if not _NAMES:
        _NAMES = _names()
    return tuple(map(os.environ.get, _NAMES))


def console_base_url(s: Settings) -> str:
    """Where the console is reached, for links (``WAYBILL_CONSOLE_URL`` or the bind address)."""
    host = f"[{s.console_host}]" if ":" in s.console_host else s.console_host  # IPv6
    return s.console_url or f"http://{host}:{s.console_port}"


def get_settings() -> Settings:
    """The process's settings, read from the environment on first use (never at import time).

    Building them costs milliseconds, so they are built once and again only when a variable
    they read changed (a test that sets one sees it at once; names in upper case, as
    documented). Treat the result as read-only.
    """
    global _built
    env = _environment()
    with _lock:
        if _built is None or _built[0] != env:
            _built = (env, Settings())
        return _built[1]
