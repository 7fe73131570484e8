"""The notifier in this process, on a real Redis and real HTTP receivers: a receiver that
trickles its reply costs one attempt's timeout and holds up no other sink, and workers whose
sinks differ leave each other's deliveries alone."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest

from graph.runtime.notifier import Notifier
from state.clock import utcnow
from state.control.plane import ControlPlane
from state.notices import Notice
from state.settings import Settings
from tests.integration.runtime import wait_for
from tests.receiver import Receiver
from tests.redis_servers import ServerUnderTest
from tests.trickle import TrickleReceiver


def _notice(n: int) -> Notice:
    return Notice(
        id=f"kill:run:r{n}:tripped:1.0",
        kind="kill_tripped",
        at=utcnow(),
        title=f"Kill switch run:r{n} tripped by ada",
        link="/kills",
    )


@pytest.fixture
def cp(server: ServerUnderTest) -> Iterator[ControlPlane]:
    plane = ControlPlane.from_url(server.url)
    yield plane
    plane.close()


@pytest.fixture
def notifiers(cp: ControlPlane) -> Iterator[list[Notifier]]:
    made: list[Notifier] = []
    yield made
    for notifier in made:
        notifier.close()


def _notifier(
    made: list[Notifier], cp: ControlPlane, *sinks: dict[str, str], **kw: float
) -> Notifier:
    settings = Settings(webhooks=list(sinks), notify_backoff_s=30.0, **kw)  # type: ignore[arg-type]
    made.append(Notifier(cp, settings))
    return made[-1]


def test_a_trickling_receiver_costs_one_timeout_and_holds_up_no_other_sink(
    cp: ControlPlane, notifiers: list[Notifier]
) -> None:
    # One byte every 0.4 s: a per-read timeout of 1.5 s would let this attempt run for 40 s.
    with TrickleReceiver(every_s=0.4) as slow, Receiver() as hook:
        notifier = _notifier(
            notifiers,
            cp,
            {"name": "slow", "url": slow.url},
            {"name": "chat", "url": hook.url},
            notify_timeout_s=1.5,
        )
        cp.notices.publish(_notice(1))
        notifier.tick()  # gives the notice to both sinks
        started = time.monotonic()
        ticking = threading.Thread(target=notifier.tick)
        ticking.start()
        wait_for(lambda: hook.events("kill_tripped"), 1.0, "the healthy sink's notice")
        ticking.join(timeout=4)
        took = time.monotonic() - started
        assert not ticking.is_alive()
    assert took < 3.0  # the attempt ended at its deadline (1.5 s), not when the body did
    record = cp.notices.get(_notice(1).id)
    assert record is not None
    assert record.status == {"slow": "pending", "chat": "delivered"}
    [failed] = [a for a in record.attempts if a.sink == "slow"]
    assert not failed.ok
    assert failed.error == "timed out: no complete reply within 1.5s"
    assert failed.next_at is not None  # retried per the policy
    assert notifier.lease_s > 2 * notifier.timeout_s  # no second worker re-sends it meanwhile


def test_workers_with_different_sinks_deliver_only_to_their_own(
    cp: ControlPlane, notifiers: list[Notifier], caplog: pytest.LogCaptureFixture
) -> None:
    with Receiver() as ops_hook, Receiver() as chat_hook:
        ops = {"name": "ops", "url": ops_hook.url}
        chat = {"name": "chat", "url": chat_hook.url}
        has_ops = _notifier(notifiers, cp, ops)
        has_chat = _notifier(notifiers, cp, chat)
        has_none = _notifier(notifiers, cp)
        has_ops.tick()  # nothing due yet: it says it has "ops"
        cp.notices.publish(_notice(1))
        cp.notices.publish(_notice(2))
        with caplog.at_level(logging.WARNING, logger="graph.runtime.notifier"):
            has_chat.tick()  # fans both out, to "ops" as well, and delivers to "chat"
            for _ in range(3):
                has_chat.tick()
                has_none.tick()
        for n in (1, 2):
            record = cp.notices.get(_notice(n).id)
            assert record is not None
            assert record.status == {"ops": "pending", "chat": "delivered"}  # ops: not failed
        assert not ops_hook.received
        warned = [r.getMessage() for r in caplog.records if "'ops'" in r.getMessage()]
        assert len(warned) == 1  # once, however many notices
        assert "same WAYBILL_WEBHOOKS" in warned[0]
        cp.notices.publish(_notice(3))
        has_none.tick()  # a worker with no sinks gives it to those of the others
        has_ops.tick()
        has_chat.tick()
        assert len(ops_hook.events("kill_tripped")) == 3
        assert len(chat_hook.events("kill_tripped")) == 3
    for n in (1, 2, 3):
        record = cp.notices.get(_notice(n).id)
        assert record is not None
        assert record.status == {"ops": "delivered", "chat": "delivered"}
