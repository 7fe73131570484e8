"""Browser journeys: a login survives reloads and new tabs, a shared link lands where it points
(also through the login), logout ends the session in every tab."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Stack
from tests.e2e.helpers import escalated_order, focus_css
from tests.e2e.pages import login, settle

pytestmark = pytest.mark.e2e
PROMPT = "You are not logged in, or your session has ended."


def test_a_shared_deep_link_lands_on_the_escalation_through_login_and_reloads(
    browser: Browser, stack: Stack, screenshots: Path
) -> None:
    run_id, esc_id = escalated_order(stack.cp, stack.redis_url)
    link = f"/inbox?esc={quote(esc_id)}"
    context = browser.new_context(base_url=stack.url, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(link)  # a link someone shared: no session in this browser yet
    expect(page).to_have_url(re.compile(r"/login\?next=%2Finbox%3Fesc%3D"))
    expect(page.get_by_text("Page not found")).to_have_count(0)
    page.screenshot(path=str(screenshots / "login.png"))
    login(page, "bob", at=link)
    expect(page).to_have_url(re.compile(re.escape(link) + "$"))
    focused = page.locator(focus_css(esc_id))
    expect(focused.get_by_text("envelope rule: amount_over_limit", exact=False)).to_be_visible()
    expect(focused.get_by_role("button", name="Approve")).to_be_visible()
    # The session is in an HttpOnly, SameSite=Strict cookie: no script can read it.
    (cookie,) = [c for c in context.cookies() if c["name"] == "wb_session"]
    assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")
    assert "wb_session" not in page.evaluate("document.cookie")
    page.reload()  # a reload keeps the session and the place
    settle(page)
    expect(page.get_by_test_id("stSidebar").get_by_text("bob (approver)")).to_be_visible()
    expect(page.locator(focus_css(esc_id))).to_be_visible()
    other = context.new_page()  # a new tab of the same browser, on the run's own link
    other.goto(f"/run_detail?run={run_id}")
    settle(other)
    expect(other.get_by_text(re.compile(r"status waiting"))).to_be_visible(timeout=20_000)
    expect(other.get_by_role("link", name=re.compile("Open escalation"))).to_be_visible()
    assert stack.cp.audit.list(actor="bob", action="login")
    # Logging out in one tab ends the session in the other one too.
    page.get_by_test_id("stSidebar").get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    expect(other.get_by_text(PROMPT)).to_be_visible(timeout=15_000)
    other.goto(link)
    expect(other).to_have_url(re.compile(r"/login\?next="))
    assert stack.cp.audit.list(actor="bob", action="logout")
    assert stack.cp.escalations.get(esc_id).pending
    context.close()


def test_a_session_revoked_on_the_server_ends_an_open_tab(browser: Browser, stack: Stack) -> None:
    context = browser.new_context(base_url=stack.url, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    login(page, "vic", at="/runs")
    expect(page).to_have_url(re.compile(r"/runs$"))
    assert stack.cp.sessions.revoke_user("vic") >= 1  # expiry, or an admin's revocation
    expect(page.get_by_text(PROMPT)).to_be_visible(timeout=15_000)
    page.get_by_role("link", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fruns"))
    context.close()
