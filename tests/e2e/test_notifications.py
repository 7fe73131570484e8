"""A notification's journey: the worker posts a signed webhook to a real receiver; its deep
link, opened in a real browser, leads (through the login) to the escalation, decided there."""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, expect

from graph.runtime.webhooks import SIGNATURE, TIMESTAMP, verify
from tests.e2e.conftest import WEBHOOK_KEY, Stack
from tests.e2e.helpers import escalated_order, focus_css, wait_status
from tests.e2e.pages import go, login
from tests.receiver import Received

pytestmark = pytest.mark.e2e


def _announced(stack: Stack, esc_id: str, timeout: float = 20) -> Received:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for request in stack.hook.events("escalation_created"):
            if request.json().get("escalation_id") == esc_id:
                return request
        time.sleep(0.2)
    raise AssertionError(f"no webhook for escalation {esc_id} within {timeout}s")


def test_a_signed_webhook_links_to_the_escalation_and_it_is_decided_there(
    browser: Browser, stack: Stack, screenshots: Path
) -> None:
    run_id, esc_id = escalated_order(stack.cp, stack.redis_url)  # ana's order: finance decides
    request = _announced(stack, esc_id)
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert verify(WEBHOOK_KEY, headers[TIMESTAMP.lower()], request.body, headers[SIGNATURE.lower()])
    body = request.json()
    link = str(body["link"])
    assert link == f"{stack.url}/inbox?esc={quote(esc_id)}"
    assert body["deciders"]["group"] == "finance"
    assert body["deciders"]["users"] == ["bob", "cleo"]
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    login(page, "bob", at=link)  # the link from the message, in a browser with no session
    expect(page).to_have_url(re.compile(re.escape(link) + "$"))
    focused = page.locator(focus_css(esc_id))
    expect(focused.get_by_text("decided by: group finance", exact=False)).to_be_visible()
    focused.get_by_role("button", name="Approve").click()
    expect(page.get_by_text(f"Escalation {esc_id}: approve recorded", exact=False)).to_be_visible(
        timeout=20_000
    )
    wait_status(stack.cp, run_id, "succeeded")
    [entry] = stack.cp.audit.list(action="escalation.approve", target=run_id)
    assert (entry.actor, entry.details["via"], entry.details["as"]) == (
        "bob",
        "console",
        "member of finance",
    )
    context.close()


def test_the_notifications_page_shows_each_delivery_without_secrets(
    browser: Browser, stack: Stack, screenshots: Path
) -> None:
    _, esc_id = escalated_order(stack.cp, stack.redis_url)
    _announced(stack, esc_id)
    context = browser.new_context(base_url=stack.url, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    login(page, "ana", at="/notifications")
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    go(page, "Notifications")
    expect(page.get_by_text("escalation_created · e2e: delivered").first).to_be_visible(
        timeout=20_000
    )
    content = page.content()
    assert WEBHOOK_KEY not in content
    assert stack.hook.url not in content  # a sink shows its name and host, never its URL
    page.screenshot(path=str(screenshots / "notifications.png"), full_page=True)
    context.close()
