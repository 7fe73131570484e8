"""What the journeys do in the browser: log in, go to a page, wait for Streamlit to settle."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import PASSWORD

IDLE = (
    '[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
    '[data-test-script-state="notRunning"]'
)


def settle(page: Page) -> None:
    page.wait_for_selector(IDLE, timeout=20_000)


def login(page: Page, name: str, password: str = PASSWORD, at: str = "/") -> None:
    """Open ``at`` (a deep link): the gate sends the browser to the login page, which brings it
    back to ``at`` signed in."""
    page.goto(at)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("User", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("stSidebar").get_by_text(f"{name} (", exact=False)).to_be_visible(
        timeout=20_000
    )
    settle(page)


def nav_link(page: Page, title: str) -> Locator:
    """A page's entry in the sidebar (Escalations carries its pending count after the title)."""
    return page.get_by_test_id("stSidebar").get_by_role("link", name=re.compile("^" + title))


def go(page: Page, title: str) -> None:
    """Open a page through the sidebar."""
    nav_link(page, title).click()
    expect(page.get_by_role("heading", name=title)).to_be_visible(timeout=20_000)
    settle(page)


def pick(page: Page, label: str, option: str) -> None:
    """Choose ``option`` in the selectbox ``label``.

    Right after a full page load the first click on a selectbox may only focus it (Chromium
    headless, Streamlit 1.67), so it is clicked until its list is open.
    """
    box = page.get_by_role("combobox", name=label)
    for _ in range(5):
        box.click()
        try:
            expect(box).to_have_attribute("aria-expanded", "true", timeout=1_000)
            break
        except AssertionError:
            continue
    page.get_by_role("option", name=option, exact=True).click()


def start_run(
    page: Page, workflow: str, payload: str | None = None, contract: str = "PurchaseRequest"
) -> str:
    """Start a run from the Start page; returns its id (the page is then the run's page)."""
    go(page, "Start a run")
    page.get_by_label("Workflow").click()
    page.get_by_role("option", name=workflow, exact=True).click()
    box = page.get_by_label(f"Input ({contract}, JSON)")
    expect(box).to_be_visible()
    settle(page)
    if payload is not None:
        box.fill(payload)
    page.get_by_role("button", name="Start run").click()
    success = page.get_by_text(re.compile(r"Run [0-9a-f]{12} queued"))
    expect(success).to_be_visible(timeout=20_000)
    run_id = re.search(r"Run ([0-9a-f]{12}) queued", success.inner_text())
    assert run_id is not None
    page.get_by_role("link", name="Open the run").click()
    expect(page.get_by_role("heading", name="Run detail")).to_be_visible(timeout=20_000)
    return run_id.group(1)
