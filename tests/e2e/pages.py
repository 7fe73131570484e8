"""What the journeys do in the browser: log in, go to a page, wait for Streamlit to settle."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import PASSWORD

IDLE = (
    '[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
    '[data-test-script-state="notRunning"]'
)


def settle(page: Page) -> None:
    page.wait_for_selector(IDLE, timeout=20_000)


def login(page: Page, name: str, password: str = PASSWORD) -> None:
    page.goto("/")
    settle(page)
    page.get_by_label("User", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text(f"{name} (", exact=False)).to_be_visible(timeout=20_000)


def go(page: Page, title: str) -> None:
    """Open a page through the sidebar (keeps the session: a reload would log out)."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=re.compile(title)).click()
    expect(page.get_by_role("heading", name=title)).to_be_visible(timeout=20_000)
    settle(page)


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
