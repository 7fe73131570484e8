"""Connecting to Redis: retries with exponential backoff, and one clear line when it is down.

``connect`` returns a redis-py client with ``decode_responses=True`` (the control plane reads
and writes text; the checkpointer opens its own client if it wants bytes). Connection errors and
timeouts are retried with exponential backoff and jitter, on every command, so a Redis restart
of a second or two is ridden out. When Redis stays unreachable, ``RedisUnavailable`` carries one
line that names the URL (password masked) and what to do. The check at connection waits only a
few seconds for a reply, so a server that accepts connections and never answers is reported at
once; later commands keep the long reply timeout that blocking reads need.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from state.cluster import cluster_client, is_cluster
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
    check_timeout: float = 3.0,
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
        check_retries: Retries of that first check after a refused connection: keep it
            small, so a server that is down at start is reported at once.
        check_timeout: Seconds the check waits for a reply (not retried; at most socket_timeout):
            a server that never answers is reported at once; commands keep ``socket_timeout``.
        hint: What to tell the user to do when the server is unreachable.

    Returns:
        A client with ``decode_responses=True`` (a ``RedisCluster`` when ``url`` is a node of
        a cluster and ``check`` is on: see ``state.cluster``).

    Raises:
        RedisUnavailable: The URL is invalid, the server is unreachable or does not answer,
            refuses the credentials, or is older than Redis 6.2.
    """
    masked = mask_url(url)
    retry = _retry(retries, backoff_base, backoff_cap)
    if check:
        reply_s = check_timeout if socket_timeout is None else min(check_timeout, socket_timeout)
        first = _retry(check_retries, backoff_base, backoff_cap, on_timeout=False)
        probe = _open(url, masked, first, connect_timeout, reply_s, health_check_s=0)
        if _check(probe, masked, hint, reply_s):
            timeouts = {"socket_connect_timeout": connect_timeout, "socket_timeout": socket_timeout}
            return cluster_client(url, decode_responses=True, retry=retry, **timeouts)
    return _open(url, masked, retry, connect_timeout, socket_timeout)


def _retry(times: int, base: float, cap: float, *, on_timeout: bool = True) -> Retry:
    """Up to ``times`` retries of a command after a connection error (and, ``on_timeout``, a
    timeout), with exponential backoff and jitter."""
    backoff = ExponentialWithJitterBackoff(cap=cap, base=base)
    errors = (redis.ConnectionError, redis.TimeoutError) if on_timeout else (redis.ConnectionError,)
    return Retry(backoff, times, supported_errors=errors)


def _open(
    url: str,
    masked_url: str,
    retry: Retry,
    connect_timeout: float,
    socket_timeout: float | None,
    *,
    health_check_s: int = 30,
) -> redis.Redis:
    """A text client on ``url`` (no command sent yet); ``RedisUnavailable`` for a bad URL."""
    try:
        return redis.Redis.from_url(
            url,
            decode_responses=True,
            retry=retry,
            socket_connect_timeout=connect_timeout,
            socket_timeout=socket_timeout,
            health_check_interval=health_check_s,
        )
    except ValueError as exc:
        raise RedisUnavailable(f"invalid Redis URL {masked_url}: {_one_line(exc)}") from None


def _check(probe: redis.Redis, masked_url: str, hint: str, reply_s: float) -> bool:
    """``check_server`` on ``probe``, then whether the server is a node of a cluster (one that
    does not answer that is taken for a single server); ``probe`` is closed either way.

    The check has a client of its own: its short reply timeout must not stay on the
    connections that later commands and blocking reads use. That client sends no health-check
    PING (it would wait for a black hole a second time, inside the connection's handshake).
    """
    try:
        check_server(probe, masked_url, hint=hint, reply_s=reply_s)
        try:
            return is_cluster(probe)
        except (redis.ConnectionError, redis.TimeoutError):
            return False
    finally:
        probe.close()


def check_server(
    client: redis.Redis, masked_url: str, *, hint: str = _HINT, reply_s: float | None = None
) -> None:
    """PING the server and check it is Redis >= 6.2 (or Valkey); raise ``RedisUnavailable``.

    ``reply_s`` is the client's reply timeout, named in the message when the server does not
    answer in time (a black hole: it accepts connections and never replies).
    """
    try:
        client.ping()
        info = client.info("server")
    except redis.TimeoutError as exc:
        within = f" within {reply_s:g}s" if reply_s is not None else ""
        raise RedisUnavailable(
            f"cannot reach Redis at {masked_url}: it did not answer{within} "
            f"({_one_line(exc)}): {hint}"
        ) from None
    except redis.AuthenticationError as exc:
        raise RedisUnavailable(
            f"Redis at {masked_url} refused our credentials ({_one_line(exc)}): "
            "check the user and password in REDIS_URL"
        ) from None
    except (redis.ConnectionError, OSError) as exc:
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
