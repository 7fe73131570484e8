"""Browser journeys through the console (see conftest.py for the stack they run on)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from graph.draw import STATUS_COLOURS
from graph.runtime.principal import Principal
from tests.e2e.conftest import Stack
from tests.e2e.helpers import SMALL_ORDER, esc_css, escalated_order, service, wait_status
from tests.e2e.hostile_workflow import EVIL_HOST
from tests.e2e.pages import go, login, settle, start_run

pytestmark = pytest.mark.e2e

GREEN = STATUS_COLOURS["passed"]
STAGES = ["__start__", "intake", "inventory", "sourcing", "po_draft", "place_order", "__end__"]


def node_fills(page: Page) -> dict[str, str]:
    """Fill colour of every node of the drawn workflow, by node name."""
    fills: dict[str, str] = page.locator('[data-testid="stGraphVizChart"] svg').evaluate(
        """svg => Object.fromEntries([...svg.querySelectorAll('g.node')].map(g => [
            g.querySelector('title').textContent,
            (g.querySelector('path, polygon, ellipse') || {getAttribute: () => ''})
                .getAttribute('fill')]))"""
    )
    return fills


def test_approve_an_escalated_order(page: Page, stack: Stack, screenshots: Path) -> None:
    login(page, "cleo")
    run_id = start_run(page, "procurement")  # the first example: large_order
    expect(page.get_by_text(re.compile(r"status waiting"))).to_be_visible(timeout=30_000)
    page.context.clear_cookies()  # four eyes: someone else approves cleo's order
    login(page, "bob", at="/inbox")
    card = page.locator("[class*='st-key-esc-" + run_id + "']")
    expect(card.get_by_text("envelope rule: amount_over_limit", exact=False)).to_be_visible()
    card.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("approve recorded", exact=False)).to_be_visible(timeout=20_000)
    go(page, "Run detail")
    page.get_by_label("Run id").fill(run_id)
    page.get_by_label("Run id").press("Enter")
    expect(page.get_by_text(re.compile(r"status succeeded"))).to_be_visible(timeout=30_000)
    settle(page)
    expect(page.locator('[data-testid="stGraphVizChart"] svg g.node').first).to_be_visible()
    fills = node_fills(page)
    assert {n: fills.get(n) for n in STAGES} == dict.fromkeys(STAGES, GREEN), fills
    bad = {STATUS_COLOURS[s] for s in ("running", "waiting", "failed")}
    assert not bad & set(fills.values()), fills
    page.screenshot(path=str(screenshots / "run_detail.png"), full_page=True)


def test_kill_a_slow_run(page: Page, stack: Stack) -> None:
    login(page, "ana")
    run_id = start_run(page, "slow", json.dumps({"name": "long chore", "sleep_s": 20}), "Chore")
    expect(page.get_by_text(re.compile(r"status running"))).to_be_visible(timeout=30_000)
    page.get_by_text("Kill this run").click()
    page.get_by_label("Reason").fill("runaway agent")
    page.get_by_text("Yes, stop this run").click()
    page.get_by_role("button", name="Kill run").click()
    expect(page.get_by_text("Kill switch run:" + run_id + " tripped", exact=False)).to_be_visible()
    expect(page.get_by_text(re.compile(r"status killed"))).to_be_visible(timeout=20_000)
    assert stack.cp.runs.get(run_id).status == "killed"
    go(page, "Kill and hold switches")
    expect(page.get_by_role("button", name="Trip switch")).to_be_visible()
    listed = page.locator("[data-testid^='glide-cell-0-']", has_text=f"run:{run_id}")
    expect(listed).to_have_count(1)


def test_two_approvers_race(browser: Browser, stack: Stack) -> None:
    run_id, esc_id = escalated_order(stack.cp, stack.redis_url)
    pages = []
    for name in ("bob", "cleo"):
        context = browser.new_context(base_url=stack.url)
        page = context.new_page()
        login(page, name)
        go(page, "Escalations")
        expect(page.locator(esc_css(esc_id))).to_be_visible()
        pages.append(page)
    first, second = pages
    first.locator(esc_css(esc_id)).get_by_role("button", name="Approve").click()
    expect(first.get_by_text("approve recorded", exact=False)).to_be_visible(timeout=20_000)
    second.locator(esc_css(esc_id)).get_by_role("button", name="Approve").click()
    expect(second.get_by_text("Too late: bob already decided", exact=False)).to_be_visible(
        timeout=20_000
    )
    decided = stack.cp.escalations.get(esc_id)
    assert decided.decision is not None
    assert decided.decision.user == "bob"
    wait_status(stack.cp, run_id, "succeeded")
    for page in pages:
        page.context.close()


def test_hostile_agent_output_is_text(page: Page, stack: Stack) -> None:
    requests: list[str] = []
    page.on("request", lambda req: requests.append(req.url))
    page.route(
        re.compile(r"^https?://(?!127\.0\.0\.1[:/]).*"), lambda route: route.abort()
    )  # nothing may leave the machine, and we record what tried to
    login(page, "ana")
    payload = json.dumps({"text": f"<script>window.__pwned=3</script> [x](http://{EVIL_HOST}/)"})
    start_run(page, "hostile", payload, "Note")
    expect(page.get_by_text(re.compile(r"status succeeded"))).to_be_visible(timeout=30_000)
    page.get_by_text("payload #1 (Echo)").click()
    expect(page.get_by_text("<script>window.__pwned = 1", exact=False).first).to_be_visible()
    expect(
        page.get_by_text(f"[click me](http://{EVIL_HOST}/phish)", exact=False).first
    ).to_be_visible()
    settle(page)
    assert page.evaluate("window.__pwned") is None
    assert page.title() != "pwned"
    assert page.locator(f"img[src*='{EVIL_HOST}']").count() == 0
    assert page.locator(f"a[href*='{EVIL_HOST}']").count() == 0
    assert page.locator("script:not([src])", has_text="__pwned").count() == 0
    outside = [u for u in requests if urlsplit(u).hostname not in ("127.0.0.1", None)]
    assert outside == [], outside


def test_viewer_cannot_approve_or_kill(page: Page, stack: Stack, screenshots: Path) -> None:
    run_id, esc_id = escalated_order(stack.cp, stack.redis_url)
    login(page, "vic")
    go(page, "Escalations")
    card = page.locator(esc_css(esc_id))
    expect(card).to_be_visible()
    expect(card.get_by_role("button")).to_have_count(0)
    expect(page.get_by_text("deciding needs the approver role")).to_be_visible()
    go(page, "Kill and hold switches")
    expect(page.get_by_role("button", name="Trip switch")).to_have_count(0)
    expect(page.get_by_role("button", name="Clear switch")).to_have_count(0)
    go(page, "Run detail")
    page.get_by_label("Run id").fill(run_id)
    page.get_by_label("Run id").press("Enter")
    expect(page.get_by_text(re.compile(r"status waiting"))).to_be_visible()
    expect(page.get_by_text("Kill this run")).to_have_count(0)
    # A forged request: the console's own action code, called with the viewer's session.
    from console.ui import actions
    from console.ui.handles import open_handles

    h = open_handles(stack.redis_url)
    vic = Principal("vic", "viewer")
    refused = actions.decide(h, vic, esc_id, "approve")
    assert not refused.ok
    assert "may not" in refused.message
    refused = actions.trip(h, vic, "kill", "run", run_id, reason="forged", confirmed=True)
    assert not refused.ok
    assert "may not" in refused.message
    denied = stack.cp.audit.list(actor="vic", action="denied")
    assert {d.details["attempted"] for d in denied} >= {
        "approve an escalation",
        "trip a kill switch",
    }
    assert stack.cp.escalations.get(esc_id).pending
    assert stack.cp.kills.check(run_id=run_id) is None
    # The overview a viewer sees after the journeys, with a fault caught at its handoff.
    faulty = service(stack.cp, stack.redis_url).submit(
        "procurement", SMALL_ORDER, who=Principal("ana", "admin"), inject="bad_extraction"
    )
    wait_status(stack.cp, faulty.run_id, "succeeded")
    go(page, "Overview")
    expect(page.get_by_text("MAST failure modes detected")).to_be_visible()
    expect(page.get_by_test_id("stVegaLiteChart")).to_be_visible(timeout=10_000)
    page.screenshot(path=str(screenshots / "overview.png"), full_page=True)
