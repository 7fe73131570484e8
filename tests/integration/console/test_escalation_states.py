"""What the inbox says of an escalation that can no longer be decided (decided, or its run was
killed) and of one whose group has nobody who may decide it (AppTest on a real Valkey)."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from graph.runtime.principal import Principal
from tests.integration.console.conftest import Console, example, texts

KILLED = "the run was killed: this escalation can no longer be decided"
NOBODY_IN_BUYERS = "decided by: group buyers, which has no members who may decide"


def _decide_buttons(at: AppTest, esc_id: str) -> list[str]:
    keys = [f"{action}.{esc_id}" for action in ("approve", "retry", "reject")]
    return [str(b.key) for b in at.button if b.key in keys]


def test_a_decided_escalation_shows_no_deadline(console: Console) -> None:
    run_id = console.run(example("large_order"))
    esc_id = console.pending(run_id)
    assert console.cp.escalations.get(esc_id).deadline is not None  # finance has a working day
    svc, _ = console.service()
    svc.decide(esc_id, "approve", who=Principal("bob", "approver"), comment="fine")
    at = console.page("inbox", user="cleo", query={"esc": esc_id})
    page = texts(at)
    assert "decided · raised" in page
    assert "decided: approve by bob at " in page
    assert "decided by: group finance" in page  # who it was for stays
    assert "decide within" not in page
    assert "then: handed over to group finance-leads" not in page
    assert not _decide_buttons(at, esc_id)


def test_the_escalation_of_a_killed_run_says_so_and_cannot_be_decided(console: Console) -> None:
    run_id = console.run(example("large_order"))
    esc_id = console.pending(run_id)
    svc, _ = console.service()
    svc.kill("run", run_id, who=Principal("ana", "admin"), reason="wrong supplier")
    assert console.cp.escalations.get(esc_id).pending  # nobody decided it: it just cannot be
    at = console.page("inbox", user="bob", query={"esc": esc_id})
    page = texts(at)
    assert "run killed · raised" in page
    assert "pending · raised" not in page
    assert KILLED in page
    assert "decide within" not in page
    assert not _decide_buttons(at, esc_id)
    assert not [t for t in at.text_input if t.key == f"comment.{esc_id}"]
    assert "0 pending escalation(s), newest first" in page  # and the list does not offer it
    detail = texts(console.page("run_detail", user="bob", query={"run": run_id}))
    assert "status killed" in detail
    assert "This run waits for a human decision." not in detail


def test_an_open_escalation_closes_when_its_run_is_killed(console: Console) -> None:
    run_id = console.run(example("large_order"))
    esc_id = console.pending(run_id)
    at = console.page("inbox", user="bob", query={"esc": esc_id})
    assert "pending · raised" in texts(at)
    svc, _ = console.service()
    svc.kill("run", run_id, who=Principal("ana", "admin"), reason="wrong supplier")
    at.run()  # the next run of the page (a click, a reload)
    assert KILLED in texts(at)
    assert not _decide_buttons(at, esc_id)


def _gate_of_an_empty_group(console: Console) -> str:
    """A gate escalation of the buyers group, once nobody in it may decide (a viewer stays)."""
    run_id = console.run(example("small_order"), inject="ping_pong")
    esc_id = console.pending(run_id)
    assert console.cp.escalations.get(esc_id).group == "buyers"
    for name in ("bob", "cleo"):
        console.cp.groups.leave(name, "buyers")
    console.cp.groups.join("vic", "buyers")  # a viewer decides nothing
    return esc_id


def test_an_empty_group_leaves_it_to_the_admins(console: Console) -> None:
    esc_id = _gate_of_an_empty_group(console)
    line = f"{NOBODY_IN_BUYERS}: admins may (the admin fallback)"
    focused = console.page("inbox", user="ana", query={"esc": esc_id})
    assert line in texts(focused)
    assert not focused.button(key=f"approve.{esc_id}").disabled
    listed = console.page("inbox", user="ana")
    assert line in texts(listed)


def test_an_empty_group_with_the_fallback_off_leaves_it_to_nobody(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    esc_id = _gate_of_an_empty_group(console)
    monkeypatch.setenv("WAYBILL_ADMIN_FALLBACK", "false")
    st.cache_resource.clear()  # the console's run service reads the setting when it is made
    at = console.page("inbox", user="ana", query={"esc": esc_id})
    page = texts(at)
    assert (
        f"{NOBODY_IN_BUYERS}: nobody can while the admin fallback is off "
        "(WAYBILL_ADMIN_FALLBACK)" in page
    )
    assert at.button(key=f"approve.{esc_id}").disabled


def test_a_staffed_group_says_nothing_more(console: Console) -> None:
    run_id = console.run(example("small_order"), inject="ping_pong")
    esc_id = console.pending(run_id)
    page = texts(console.page("inbox", user="ana", query={"esc": esc_id}))
    assert "decided by: group buyers" in page
    assert "no members who may decide" not in page
