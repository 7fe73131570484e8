"""Console sessions in Redis: hashed tokens, idle and absolute expiry, revocation."""

from __future__ import annotations

import time
import uuid

import pytest

from state.control.errors import InvalidArgument
from state.control.plane import ControlPlane
from state.control.sessions import SessionStore, session_key, token_digest

pytestmark = pytest.mark.integration


def _user() -> str:
    return f"u{uuid.uuid4().hex[:8]}"


def test_a_session_is_found_by_its_token_and_only_its_hash_is_stored(cp: ControlPlane) -> None:
    user = _user()
    token, session = cp.sessions.create(user)
    found = cp.sessions.get(token)
    assert found is not None
    assert (found.user, found.id) == (user, session.id)
    assert cp.sessions.get(token + "x") is None
    assert cp.sessions.get("") is None
    assert cp.client.exists(session_key(token_digest(token)))
    stored = [k for k in cp.client.scan_iter(match="wb:session*") if token in k]
    assert stored == []
    for key in cp.client.scan_iter(match="wb:session*"):
        if cp.client.type(key) == "hash":
            assert token not in str(cp.client.hgetall(key))


def test_revoke_ends_the_session_at_once(cp: ControlPlane) -> None:
    token, _ = cp.sessions.create(_user())
    other, _ = cp.sessions.create(_user())
    revoked = cp.sessions.revoke(token)
    assert revoked is not None
    assert cp.sessions.get(token) is None
    assert cp.sessions.revoke(token) is None  # already gone
    assert cp.sessions.get(other) is not None


def test_revoke_user_ends_every_session_of_that_user(cp: ControlPlane) -> None:
    user = _user()
    tokens = [cp.sessions.create(user)[0] for _ in range(3)]
    bystander, _ = cp.sessions.create(_user())
    cp.sessions.revoke(tokens[0])
    assert cp.sessions.revoke_user(user) == 2
    assert all(cp.sessions.get(t) is None for t in tokens)
    assert cp.sessions.get(bystander) is not None
    assert cp.sessions.revoke_user(user) == 0


def test_idle_sessions_expire_and_page_views_keep_them_alive(cp: ControlPlane) -> None:
    store = SessionStore(cp.client, idle_s=1, max_age_s=60)
    active, _ = store.create(_user())
    idle, _ = store.create(_user())
    for _ in range(3):  # 1.8 s in all, each view within the idle second
        time.sleep(0.6)
        assert store.get(active) is not None
    assert store.get(idle) is None
    assert 0 < cp.client.pttl(session_key(token_digest(active))) <= 1000


def test_the_absolute_lifetime_is_never_extended(cp: ControlPlane) -> None:
    store = SessionStore(cp.client, idle_s=60, max_age_s=1)
    token, session = store.create(_user())
    assert (session.expires_at - session.created_at).total_seconds() == pytest.approx(1)
    time.sleep(0.6)
    assert store.get(token) is not None
    assert cp.client.pttl(session_key(token_digest(token))) <= 400  # capped by max age
    time.sleep(0.6)
    assert store.get(token) is None
    assert not cp.client.exists(session_key(token_digest(token)))


def test_bad_arguments_are_refused(cp: ControlPlane) -> None:
    with pytest.raises(InvalidArgument):
        cp.sessions.create(" ")
    with pytest.raises(InvalidArgument):
        SessionStore(cp.client, idle_s=0)


def test_a_peek_does_not_keep_an_idle_session_alive(cp: ControlPlane) -> None:
    store = SessionStore(cp.client, idle_s=1, max_age_s=60)
    token, _ = store.create(_user())
    for _ in range(2):  # 1.2 s of background refreshes, no page view
        time.sleep(0.6)
        store.get(token, touch=False)
    assert store.get(token, touch=False) is None
