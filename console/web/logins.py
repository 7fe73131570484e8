"""Password logins: throttled checks, audited within a bound, and the session they open.

Anyone can fail a login, so failures must not grow the audit log without bound: an attempt
refused by the throttle is not audited (it was not checked), and checked failures are audited
up to a rate per minute, then one "paused" entry stands for the rest.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from state.control.audit import AuditLog
from state.control.sessions import Session, SessionStore
from state.control.throttle import LoginThrottle
from state.control.users import LoginResult, UserStore


@dataclass(frozen=True)
class LoginOutcome:
    """A login attempt's result, plus the new session's token when it succeeded."""

    result: LoginResult
    token: str | None = None
    session: Session | None = None


def throttle_address(host: str | None) -> str | None:
    """The address the per-address throttle counts, ``None`` for loopback.

    Every local browser (and a reverse proxy on this host) arrives from the loopback address;
    counting it would let one person's typos lock everyone out, so only the per-name throttle
    applies to them.
    """
    if not host:
        return None
    try:
        return None if ipaddress.ip_address(host).is_loopback else host
    except ValueError:
        return None


def log_in(
    users: UserStore,
    audit: AuditLog,
    sessions: SessionStore,
    name: str,
    password: str,
    ip: str | None,
) -> LoginOutcome:
    """Check a password (throttled); on success open a session and audit the login."""
    name = name.strip()
    result = users.login(name, password, ip)
    if result.user is not None:
        token, session = sessions.create(result.user.name)
        audit.append(result.user.name, "login", result.user.name, {"ip": ip, "session": session.id})
        return LoginOutcome(result, token, session)
    if not result.throttled:
        _audit_failure(users, audit, name, ip, result)
    return LoginOutcome(result)


def _audit_failure(
    users: UserStore, audit: AuditLog, name: str, ip: str | None, result: LoginResult
) -> None:
    # An invented name is only evidence of guessing; keep it short in the log.
    who = name[:64] or "<empty>"
    details: dict[str, Any] = {"ip": ip, "retry_after_s": result.retry_after_s}
    audit_bounded(users.throttle, audit, who, "login.failed", who, details)


def audit_bounded(
    throttle: LoginThrottle,
    audit: AuditLog,
    actor: str,
    action: str,
    target: str,
    details: dict[str, Any],
) -> None:
    """Audit one failed attempt, within the throttle's rate per minute (shared by every kind of
    failed login): past it, one entry says auditing paused, and the rest of the minute is not
    audited."""
    verdict = throttle.audit_failure()
    if verdict == "entry":
        audit.append(actor, action, target, details)
    elif verdict == "pause":
        audit.append(
            "system:login-throttle",
            "login.failed.audit_paused",
            "*",
            {
                "per_minute": throttle.audit_per_minute,
                "note": "further failed logins this minute are not audited",
            },
        )


def failure_message(result: LoginResult) -> str:
    """What the login page says about a failed attempt (the same for unknown users)."""
    if result.throttled:
        return (
            f"Too many failed attempts: try again in {result.retry_after_s:.0f} s "
            "(the password was not checked)."
        )
    wait = (
        f" Wait {result.retry_after_s:.0f} s before the next try." if result.retry_after_s else ""
    )
    return "Wrong user name or password." + wait
