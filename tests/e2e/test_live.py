"""Browser journeys: the inbox and its badge are live (and keep what is being typed), the kill
switches page shows the state right after each action, a graph node shows what it did."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from graph.runtime.principal import Principal
from tests.e2e.conftest import Stack
from tests.e2e.helpers import (
    SMALL_ORDER,
    esc_css,
    escalated_order,
    focus_css,
    loop_escalation,
    service,
    wait_status,
)
from tests.e2e.pages import go, login, nav_link, pick, settle, start_run

pytestmark = pytest.mark.e2e
GRAPH = '[data-testid="stGraphVizChart"] svg'


def _pending(page: Page) -> int:
    badge = page.locator(".st-key-nav-inbox")
    expect(badge).to_contain_text(re.compile(r"\d+ pending"))
    text = badge.inner_text()
    found = re.search(r"(\d+) pending", text)
    assert found is not None, text
    return int(found.group(1))


def test_a_new_escalation_appears_in_the_open_inbox_and_the_badge(
    page: Page, stack: Stack, screenshots: Path
) -> None:
    _, first = loop_escalation(stack.cp, stack.redis_url)
    login(page, "cleo", at=f"/inbox?esc={quote(first)}")
    focused = page.locator(focus_css(first))
    expect(focused).to_be_visible()
    before = _pending(page)
    # Half-done work on the open escalation: a comment typed (not sent) and the edit form open.
    comment = focused.get_by_label("Comment (kept with the decision)")
    focused.get_by_text("Edit the proposal").click()
    supplier = focused.get_by_label("supplier", exact=True)
    expect(supplier).to_be_visible()
    supplier.fill("Half-typed Supplier Ltd")
    comment.click()
    comment.press_sequentially("checked with fin")
    _, second = escalated_order(stack.cp, stack.redis_url)  # someone's run needs a human now
    new_card = page.locator(esc_css(second))
    expect(new_card).to_be_visible(timeout=10_000)  # no click, no reload
    expect(page.locator(".st-key-nav-inbox")).to_contain_text(f"{before + 1} pending")
    expect(comment).to_have_value("checked with fin")  # nothing typed was lost
    expect(comment).to_be_focused()
    expect(supplier).to_have_value("Half-typed Supplier Ltd")
    comment.press_sequentially("ance")
    comment.press("Enter")
    focused.get_by_role("button", name="Reject").click()
    expect(page.get_by_text(f"Escalation {first}: reject recorded", exact=False)).to_be_visible(
        timeout=20_000
    )
    # The page drawn by that click already shows the decision (no stale buttons).
    expect(focused.get_by_text("decided: reject by cleo", exact=False)).to_be_visible()
    expect(focused.get_by_role("button", name="Reject")).to_have_count(0)
    decision = stack.cp.escalations.get(first).decision
    assert decision is not None
    assert (decision.user, decision.comment) == ("cleo", "checked with finance")
    expect(page.locator(".st-key-nav-inbox")).to_contain_text(f"{before} pending", timeout=10_000)
    settle(page)
    page.get_by_role("link", name="All pending escalations").click()
    expect(page).to_have_url(re.compile(r"/inbox$"))
    settle(page)
    total = page.get_by_text(re.compile(r"\d+ pending escalation\(s\), newest first"))
    expect(total).to_be_visible()
    cards = page.locator("[class*='st-key-esc-']")
    expect(cards.first).to_have_class(re.compile(re.escape(esc_css(second)[1:])))
    expect(new_card.get_by_role("link", name=re.compile("^run "))).to_be_visible()
    page.screenshot(path=str(screenshots / "inbox.png"), full_page=True)
    settle(page)
    new_card.get_by_role("link", name=re.compile("^Escalation ")).click()  # open it on its own
    expect(page).to_have_url(re.compile(re.escape(f"/inbox?esc={quote(second)}") + "$"))
    expect(page.locator(focus_css(second))).to_be_visible()
    go(page, "Overview")
    nav_link(page, "Escalations").click()  # the sidebar entry: the whole list
    expect(page).to_have_url(re.compile(r"/inbox$"))
    expect(page.locator(esc_css(second))).to_be_visible()


def test_kill_switches_show_the_state_right_after_trip_and_clear(
    page: Page, stack: Stack, screenshots: Path
) -> None:
    login(page, "ana", at="/kills")
    expect(page.get_by_role("heading", name="Kill and hold switches")).to_be_visible()
    page.get_by_label("Scope").click()
    page.get_by_role("option", name="workflow", exact=True).click()
    settle(page)
    page.get_by_label("Target").click()
    page.get_by_role("option", name="slow", exact=True).click()
    page.get_by_label("Reason (required, recorded)").fill("supplier outage")
    page.get_by_text("I confirm: stop these runs").click()
    page.get_by_role("button", name="Trip switch").click()
    expect(page.get_by_text("Kill switch workflow:slow tripped", exact=False)).to_be_visible()
    # The table drawn by that same click lists the new switch (no reload, no second action).
    row = page.locator("[data-testid^='glide-cell-0-']", has_text=re.compile("^workflow:slow$"))
    expect(row).to_have_count(1)
    assert ("workflow", "slow") in [(s.scope, s.target) for s in stack.cp.kills.list()]
    settle(page)
    page.screenshot(path=str(screenshots / "kill_switches.png"), full_page=True)
    pick(page, "Switch", "kill:workflow:slow")
    page.get_by_text("I confirm: let runs start (held runs: go on) again").click()
    page.get_by_role("button", name="Clear switch").click()
    expect(page.get_by_text("Kill switch workflow:slow cleared.")).to_be_visible()
    expect(row).to_have_count(0)
    assert ("workflow", "slow") not in [(s.scope, s.target) for s in stack.cp.kills.list()]


def test_clicking_a_graph_node_shows_its_verdicts(
    page: Page, stack: Stack, screenshots: Path
) -> None:
    run = service(stack.cp, stack.redis_url).submit(
        "procurement", SMALL_ORDER, who=Principal("ana", "admin"), inject="bad_extraction"
    )
    wait_status(stack.cp, run.run_id, "succeeded")
    login(page, "vic", at=f"/run_detail?run={run.run_id}")
    expect(page.get_by_text(re.compile(r"status succeeded"))).to_be_visible(timeout=20_000)
    expect(page.locator(f"{GRAPH} g.node").first).to_be_visible()
    # Legible at 1,400 px: every node label at least 12 px high on screen.
    heights = page.locator(f"{GRAPH} g.node text").evaluate_all(
        "ts => ts.map(t => t.getBoundingClientRect().height)"
    )
    assert min(heights) >= 12, heights
    bold = page.locator(f"{GRAPH} g.edge path[stroke='#1d4ed8']")
    assert bold.count() >= 8  # the run's path, start to end
    gate = "gate intake->inventory"
    node = page.locator(f"{GRAPH} g.node", has=page.locator("title", has_text=gate))
    node.locator("a").click()
    expect(page).to_have_url(re.compile(r"node=gate%20intake-%3Einventory"))
    settle(page)
    panel = page.get_by_text(f"{gate}: passed, ran 2 time(s) in this run")
    expect(panel).to_be_visible(timeout=20_000)
    expect(page.get_by_text(f"{gate}: REVISE  MAST: FM-1.1", exact=False).first).to_be_visible()
    expect(page.get_by_text(f"{gate}: PASS", exact=False).first).to_be_visible()
    page.set_viewport_size({"width": 1400, "height": 1800})  # the drawing and the node's panel
    settle(page)
    expect(page.locator(f"{GRAPH} g.node").first).to_be_visible()
    page.wait_for_timeout(1000)  # the drawing is laid out by graphviz in the browser
    page.screenshot(path=str(screenshots / "run_node.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})
    pick(page, "Node (or click it in the drawing)", "intake")
    expect(page.get_by_text("intake: passed, ran 2 time(s) in this run")).to_be_visible()
    expect(page).to_have_url(re.compile(r"node=intake$"))
    expect(page.get_by_text("decision record of intake").first).to_be_visible()


def test_a_held_run_goes_on_after_release_and_succeeds(
    page: Page, stack: Stack, screenshots: Path
) -> None:
    login(page, "ana", at="/kills")
    try:
        _held_run_journey(page, stack, screenshots)
    finally:  # never leave the hold on for the journeys after this one
        stack.cp.kills.clear("workflow", "slow", kind="hold")


def _held_run_journey(page: Page, stack: Stack, screenshots: Path) -> None:
    page.get_by_text("hold", exact=True).click()  # the Kind radio
    page.get_by_label("Scope").click()
    page.get_by_role("option", name="workflow", exact=True).click()
    settle(page)
    pick(page, "Target", "slow")
    page.get_by_label("Reason (required, recorded)").fill("deploy in progress")
    page.get_by_text("I confirm: hold these runs").click()
    page.get_by_role("button", name="Trip switch").click()
    expect(page.get_by_text("Hold switch workflow:slow tripped", exact=False)).to_be_visible()
    hold_row = page.locator("[data-testid^='glide-cell-1-']", has_text=re.compile("^hold$"))
    expect(hold_row).to_have_count(1)  # drawn by that same click
    assert [s.target for s in stack.cp.kills.list(kind="hold")] == ["slow"]
    run_id = start_run(page, "slow", json.dumps({"name": "held chore", "sleep_s": 0.5}), "Chore")
    expect(page.get_by_text(re.compile(r"status held"))).to_be_visible(timeout=20_000)
    expect(page.get_by_text("This run is held", exact=False)).to_be_visible()
    assert stack.cp.runs.get(run_id).status == "held"
    expect(page.locator(GRAPH)).to_be_visible(timeout=20_000)  # where the run stopped
    settle(page)
    page.screenshot(path=str(screenshots / "held_run.png"), full_page=True)
    go(page, "Kill and hold switches")
    pick(page, "Switch", "hold:workflow:slow")
    page.get_by_text("I confirm: let runs start (held runs: go on) again").click()
    page.get_by_role("button", name="Clear switch").click()
    released = "Hold switch workflow:slow released; 1 held run(s) go on."
    expect(page.get_by_text(released)).to_be_visible()
    expect(hold_row).to_have_count(0)
    wait_status(stack.cp, run_id, "succeeded")
    page.goto(f"{stack.url}/run_detail?run={run_id}")
    expect(page.get_by_text(re.compile(r"status succeeded"))).to_be_visible(timeout=20_000)
