"""A decision clicked while Redis accepts connections and answers nothing (its process stopped
with SIGSTOP): the click ends, after one reply timeout, with what was not done and the banner
(AppTest on a real Valkey)."""

from __future__ import annotations

import time

from console.ui.guard import BANNER
from tests.integration.console.conftest import Console, example, texts

NOT_DECIDED = "Redis is unreachable: nothing was decided. Try again."


def test_a_decision_while_redis_is_frozen_says_nothing_was_decided(console: Console) -> None:
    run_id = console.run(example("large_order"))
    esc_id = console.pending(run_id)
    at = console.page("inbox", user="bob", query={"esc": esc_id})
    at.text_input(key=f"comment.{esc_id}").input("fine")
    with console.server.paused():
        started = time.monotonic()
        at.button(key=f"approve.{esc_id}").click().run(timeout=40)
        took = time.monotonic() - started
    page = texts(at)
    assert f"Escalation {esc_id}: {NOT_DECIDED}" in page
    assert BANNER in page
    assert not at.exception
    # One wait on the silent server (a 5 s reply timeout, retried once), not a second one to
    # draw the page: the page does not ask Redis again before saying so.
    assert took < 16, took
    assert console.cp.escalations.get(esc_id).pending
    at.run()  # Redis answers again: the page is back, and the message is not repeated
    page = texts(at)
    assert BANNER not in page
    assert NOT_DECIDED not in page
    assert at.button(key=f"approve.{esc_id}").label == "Approve"
