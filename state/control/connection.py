"""Connecting to Redis: retries with exponential backoff, and one clear line when it is down.

``connect`` returns a redis-py client with ``decode_responses=True`` (the control plane reads
and writes text; the checkpointer opens its own client if it wants bytes). Connection errors and
timeouts are retried with exponential backoff and jitter, on every command, so a Redis restart
of a second or two is ridden out. When Redis stays unreachable, ``RedisUnavailable`` carries one
line that names the URL (password masked) and what to do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from state.cluster import for_url
from state.control.errors import RedisUnavailable

MIN_REDIS_VERSION = (6, 2)
_HINT = "start it, or unset REDIS_URL to use the embedded server"


def mask_url(url: str) -> str:
    """The URL with any password (in the userinfo or the query string) replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, sep, _password = userinfo.partition(":")
        netloc = f"{user}:***@{hostport}" if sep else netloc
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        masked = [(k, "***" if k.lower() == "password" else v) for k, v in pairs]
        query = urlencode(masked, safe="*")
    out = f"{parts.scheme}://{netloc}{parts.path}"
    return out + (f"?{query}" if query else "") + (f"#{parts.fragment}" if parts.fragment else "")


def _one_line(exc: BaseException) -> str:
    return re.sub(r"\s+", " ", str(exc)).strip() or type(exc).__name__


def connect(
    url: str,
    *,
    retries: int = 8,
    backoff_base: float = 0.1,
    backoff_cap: float = 2.0,
    connect_timeout: float = 2.0,
    socket_timeout: float | None = 30.0,
    check: bool = True,
    check_retries: int = 1,
    hint: str = _HINT,
) -> redis.Redis:
    """Open a client on ``url`` and (by default) check that the server answers.

    Args:
        url: ``redis://[user:password@]host:port/db``, ``rediss://...`` or ``unix://path``.
        retries: How many times a command is retried after a connection error or timeout
            (with the defaults, about 5 s of backoff: a server restart is ridden out).
        backoff_base: Base backoff in seconds; it doubles per failure (with jitter).
        backoff_cap: Longest single backoff in seconds.
        connect_timeout: Seconds to wait for a TCP connect.
        socket_timeout: Seconds to wait for a reply; must exceed any blocking read's timeout
            (``RunEvents.tail``). ``None`` waits forever.
        check: PING the server now and check its version, so a bad URL fails here, once,
            instead of at the first command.
        check_retries: Retries of that first check: keep it small, so a server that is down
            at start is reported at once rather than after the full backoff.
        hint: What to tell the user to do when the server is unreachable.

    Returns:
        A client with ``decode_responses=True`` (a ``RedisCluster`` when ``url`` is a node of
        a cluster and ``check`` is on: see ``state.cluster``).

    Raises:
        RedisUnavailable: The URL is invalid, the server is unreachable, refuses the
            credentials, or is older than Redis 6.2.
    """
    masked = mask_url(url)
    first = _retry(check_retries if check else retries, backoff_base, backoff_cap)
    client = _open(url, masked, first, connect_timeout, socket_timeout)
    if check:
        _check_or_close(client, masked, hint)
        retry = _retry(retries, backoff_base, backoff_cap)
        client.set_retry(retry)
        timeouts = {"socket_connect_timeout": connect_timeout, "socket_timeout": socket_timeout}
        client = for_url(client, url, decode_responses=True, retry=retry, **timeouts)
    return client


def _retry(times: int, base: float, cap: float) -> Retry:
    """Up to ``times`` retries of a command after a connection error or timeout, with
    exponential backoff and jitter."""
    backoff = ExponentialWithJitterBackoff(cap=cap, base=base)
    return Retry(backoff, times, supported_errors=(redis.ConnectionError, redis.TimeoutError))


def _open(
    url: str,
    masked_url: str,
    retry: Retry,
    connect_timeout: float,
    socket_timeout: float | None,
) -> redis.Redis:
    """A text client on ``url`` (no command sent yet); ``RedisUnavailable`` for a bad URL."""
    try:
        return redis.Redis.from_url(
            url,
            decode_responses=True,
            retry=retry,
            socket_connect_timeout=connect_timeout,
            socket_timeout=socket_timeout,
            health_check_interval=30,
        )
    except ValueError as exc:
        raise RedisUnavailable(f"invalid Redis URL {masked_url}: {_one_line(exc)}") from None


def _check_or_close(client: redis.Redis, masked_url: str, hint: str) -> None:
    """``check_server``; a client whose server fails the check is closed before the error."""
    try:
        check_server(client, masked_url, hint=hint)
    except RedisUnavailable:
        client.close()
        raise


def check_server(client: redis.Redis, masked_url: str, *, hint: str = _HINT) -> None:
    """PING the server and check it is Redis >= 6.2 (or Valkey); raise ``RedisUnavailable``."""
    try:
        client.ping()
        info = client.info("server")
    except redis.AuthenticationError as exc:
        raise RedisUnavailable(
            f"Redis at {masked_url} refused our credentials ({_one_line(exc)}): "
            "check the user and password in REDIS_URL"
        ) from None
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        raise RedisUnavailable(
            f"cannot reach Redis at {masked_url} ({_one_line(exc)}): {hint}"
        ) from None
    except redis.ResponseError as exc:
        raise RedisUnavailable(
            f"Redis at {masked_url} answered with an error ({_one_line(exc)}): "
            "check REDIS_URL (user, password, database)"
        ) from None
    version = str(info.get("redis_version", "0"))
    numbers = tuple(int(p) for p in re.findall(r"\d+", version)[:2])
    if numbers < MIN_REDIS_VERSION:
        raise RedisUnavailable(
            f"Redis at {masked_url} is version {version}; Waybill needs Redis >= 6.2 or Valkey"
        )


def text(value: object) -> str:
    """A reply value as text (replies are ``str`` with ``decode_responses=True``)."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


def texts(values: Iterable[object]) -> list[str]:
    """Reply values as text."""
    return [text(v) for v in values]
