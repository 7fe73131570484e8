"""An operator on a phone: a deep link from a notification, the sign-in, the question, a tap;
an admin stopping a runaway run the same way.

Chromium with a phone's viewport, touch and user agent (Playwright's "iPhone 13" descriptor):
the page must not scroll sideways (a long escalation id used to run off the card), a button
that is not the user's to press says why in text (a tooltip needs a hover a phone does not
have), and a tap on Approve places the order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect
from rq import Queue

from graph.runtime.principal import Principal
from graph.runtime.queueing import enqueue_run
from graph.runtime.registry import Registry
from graph.runtime.service import RunService
from state.keys import run_key
from tests.e2e import slow_workflow
from tests.e2e.conftest import PASSWORD, Stack
from tests.e2e.helpers import esc_css, escalated_order, focus_css, wait_status
from tests.e2e.pages import settle
from tests.staff import add_staff

pytestmark = pytest.mark.e2e

SIDEWAYS = """() => {
    const width = document.documentElement.clientWidth;
    const over = [...document.querySelectorAll('[data-testid="stMain"] a, button')]
        .filter(e => e.getBoundingClientRect().right > width + 1);
    return document.documentElement.scrollWidth > width || over.length > 0;
}"""
"""Whether the page, or a link or button on it, reaches past the screen's right edge."""


@pytest.fixture
def phone(browser: Browser, playwright: Playwright, stack: Stack) -> Iterator[BrowserContext]:
    device: dict[str, Any] = dict(playwright.devices["iPhone 13"])
    device.pop("default_browser_type", None)  # a phone's shape; the engine stays Chromium
    context = browser.new_context(**device, base_url=stack.url)
    yield context
    context.close()


def sign_in(page: Page, name: str, at: str) -> None:
    """The login page a deep link leads to; it brings the phone back to ``at`` signed in."""
    page.goto(at)
    page.get_by_label("User", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").tap()
    expect(page.get_by_role("heading", name="Escalations")).to_be_visible(timeout=20_000)
    settle(page)


def test_an_approver_decides_on_a_phone(
    phone: BrowserContext, stack: Stack, screenshots: Path
) -> None:
    run_id, esc_id = escalated_order(stack.cp, stack.redis_url)
    add_staff(stack.cp, {"wendy": "approver"}, {"wendy": ["warehouse"]})
    outsider = phone.new_page()
    sign_in(outsider, "wendy", f"/inbox?esc={esc_id}")
    assert not outsider.evaluate(SIDEWAYS), "the inbox runs off the screen on a phone"
    focused = outsider.locator(focus_css(esc_id))  # other tests' questions may be listed too
    expect(focused.get_by_role("button", name="Approve")).to_be_disabled()
    expect(
        focused.get_by_text("Not yours to decide: wendy is not in group 'finance'")
    ).to_be_visible()
    outsider.close()
    phone.clear_cookies()
    page = phone.new_page()
    sign_in(page, "bob", "/inbox")
    card = page.locator(esc_css(esc_id))
    expect(card.get_by_text("envelope rule: amount_over_limit", exact=False)).to_be_visible()
    assert not page.evaluate(SIDEWAYS), "the inbox runs off the screen on a phone"
    page.screenshot(path=str(screenshots / "phone_inbox.png"), full_page=True)
    card.get_by_role("button", name="Approve").tap()
    expect(page.get_by_text("approve recorded", exact=False)).to_be_visible(timeout=20_000)
    wait_status(stack.cp, run_id, "succeeded")
    placed = stack.cp.client.hgetall(run_key(run_id, "source", "portal"))  # the supplier's
    assert [json.loads(o)["po_number"] for o in placed.values()] == ["PO-R-1002"]


def test_an_admin_kills_a_runaway_run_on_a_phone(phone: BrowserContext, stack: Stack) -> None:
    registry = Registry()
    registry.register(slow_workflow.build_chain)
    queue = Queue("waybill", connection=redis.Redis.from_url(stack.redis_url))

    def dispatch(run_id: str) -> None:
        enqueue_run(queue, run_id)

    starter = RunService(stack.cp, registry, dispatch, raw=queue.connection)
    run = starter.submit("slow", {"name": "runaway", "sleep_s": 20}, who=Principal("ana", "admin"))
    wait_status(stack.cp, run.run_id, "running")
    page = phone.new_page()
    page.goto(f"/run_detail?run={run.run_id}")
    page.get_by_label("User", exact=True).fill("ana")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").tap()
    expect(page.get_by_text(re.compile(r"status running"))).to_be_visible(timeout=20_000)
    settle(page)
    assert not page.evaluate(SIDEWAYS), "the run's page runs off the screen on a phone"
    page.get_by_text("Kill this run").tap()
    page.get_by_label("Reason").fill("runaway agent")
    page.get_by_text("Yes, stop this run").tap()
    page.get_by_role("button", name="Kill run").tap()
    expect(page.get_by_text(re.compile(r"status killed"))).to_be_visible(timeout=20_000)
    assert stack.cp.runs.get(run.run_id).status == "killed"
