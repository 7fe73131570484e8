"""Workflow knowledge in the browser: an insight computed from a seeded escalation history, its
replay proof, and an admin adopting it."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from graph.runtime.principal import Principal
from state.control.limits import Limits
from tests.e2e.conftest import Stack
from tests.e2e.helpers import service, wait_status
from tests.e2e.pages import go, login, settle
from tests.orders import chairs

SIZES = (65, 68, 71, 74, 77, 80, 83, 86, 89, 92)  # 5,100 .. 7,395


def _seed(stack: Stack) -> list[str]:
    """Ten orders above the 5,000 limit, each approved by an approver, executed by the worker."""
    svc = service(stack.cp, stack.redis_url)
    runs = [
        svc.submit("procurement", chairs(n), who=Principal("ana", "admin")).run_id for n in SIZES
    ]
    for run_id in runs:
        wait_status(stack.cp, run_id, "waiting")
        [esc] = [e for e in stack.cp.escalations.for_run(run_id) if e.pending]
        svc.decide(esc.escalation_id, "approve", who=Principal("bob", "approver"))
    for run_id in runs:
        wait_status(stack.cp, run_id, "succeeded")
    return runs


def test_an_insight_from_history_with_its_replay_proof(
    page: Page, stack: Stack, screenshots: Path
) -> None:
    runs = _seed(stack)
    login(page, "ana")
    go(page, "Insights")
    insight = page.get_by_text(
        re.compile(r"approvers approved \d+ of \d+ `amount_over_limit` escalations with total")
    )
    expect(insight).to_be_visible(timeout=20_000)
    page.get_by_role("button", name="Prove it by replay").click()
    settle(page)
    expect(page.get_by_text(re.compile(r"past run\(s\) replayed from their tapes"))).to_be_visible(
        timeout=30_000
    )
    for run_id in runs:  # the run column: one cell per replayed run (the grid's accessible cells)
        expect(page.locator("[data-testid^='glide-cell-0-']", has_text=run_id)).to_have_count(1)
    page.screenshot(path=str(screenshots / "insights.png"), full_page=True)
    page.get_by_role("button", name="Adopt this limit").click()
    settle(page)
    expect(
        page.get_by_text(re.compile(r"Adopted: amount_over_limit of procurement"))
    ).to_be_visible()
    assert "amount_over_limit" in Limits(stack.cp.client).of("procurement")
    Limits(stack.cp.client).clear("procurement", "amount_over_limit")  # the other journeys' limit
