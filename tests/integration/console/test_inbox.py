"""The escalations inbox: approve, reject, edit (with contract errors), races, roles."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

from streamlit.testing.v1 import AppTest

from console.ui import actions
from console.ui.handles import open_handles
from graph.runtime.principal import Principal
from state.control.escalation_records import escalation_key
from tests.integration.console.conftest import Console, example, texts


def test_approver_approves_and_the_run_is_queued(console: Console) -> None:
    run_id = console.run(example("large_order"))
    esc_id = console.pending(run_id)
    at = console.page("inbox", user="bob", query={"esc": esc_id})  # its own view: comment here
    page = texts(at)
    assert "what: Approve action 'place_order' of stage 'place_order' (owner: finance)" in page
    assert "envelope rule: amount_over_limit" in page
    assert "why: order total is above the 5,000 approval limit" in page
    at.text_input(key=f"comment.{esc_id}").input("within budget")
    at.button(key=f"approve.{esc_id}").click()
    at.run()
    assert "approve recorded" in texts(at)
    decided = console.cp.escalations.get(esc_id)
    assert decided.decision is not None
    assert (decided.decision.user, decided.decision.comment) == ("bob", "within budget")
    assert console.cp.runs.get(run_id).status == "queued"
    (entry,) = console.cp.audit.list(action="escalation.approve")
    assert entry.actor == "bob"
    assert not [b for b in at.button if b.key == f"approve.{esc_id}"]  # no longer pending


def test_reject_with_comment(console: Console) -> None:
    run_id = console.run(example("large_order"))
    esc_id = console.pending(run_id)
    at = console.page("inbox", user="ana", query={"esc": esc_id})
    at.text_input(key=f"comment.{esc_id}").input("too expensive")
    at.button(key=f"reject.{esc_id}").click()
    at.run()
    decision = console.cp.escalations.get(esc_id).decision
    assert decision is not None
    assert (decision.action, decision.comment) == ("reject", "too expensive")


def test_a_decision_that_lost_the_race_names_the_winner(console: Console) -> None:
    run_id = console.run(example("large_order"))
    esc_id = console.pending(run_id)
    at = console.page("inbox", user="bob")
    svc, _ = console.service()
    svc.decide(esc_id, "approve", who=Principal("cleo", "approver"))  # cleo was faster
    at.button(key=f"approve.{esc_id}").click()
    at.run()
    assert "Too late: cleo already decided this escalation (approve)" in texts(at)
    decision = console.cp.escalations.get(esc_id).decision
    assert decision is not None
    assert decision.user == "cleo"


def test_decision_on_an_escalation_that_no_longer_exists(console: Console) -> None:
    run_id = console.run(example("large_order"))
    esc_id = console.pending(run_id)
    at = console.page("inbox", user="bob")
    console.cp.client.delete(escalation_key(run_id, esc_id))
    at.button(key=f"approve.{esc_id}").click()
    at.run()
    assert "This escalation no longer exists; nothing was decided." in texts(at)
    assert console.cp.runs.get(run_id).status == "waiting"


def _loop_escalation(console: Console) -> tuple[str, str]:
    run_id = console.run(example("small_order"), inject="ping_pong")
    assert console.cp.runs.get(run_id).status == "waiting"
    return run_id, console.pending(run_id)


def test_edit_failing_the_contract_shows_field_errors_and_resumes_nothing(
    console: Console,
) -> None:
    run_id, esc_id = _loop_escalation(console)
    at = console.page("inbox", user="bob", query={"esc": esc_id})
    at.toggle(key=f"editing.{esc_id}").set_value(True).run()
    at.radio(key=f"mode.{esc_id}").set_value("JSON").run()
    proposed = console.cp.escalations.get(esc_id).request["proposed"]
    bad = {**proposed, "unit_price": -1, "supplier": ""}
    at.text_area(key=f"json.{esc_id}").input(json.dumps(bad))
    next(b for b in at.button if b.label == "Submit edit").click()
    at.run()
    assert "nothing was decided or resumed" in texts(at)
    (errors,) = [d for d in at.dataframe if list(d.value.columns) == ["field", "problem"]]
    assert set(errors.value["field"]) == {"unit_price", "supplier"}
    assert console.cp.escalations.get(esc_id).pending
    assert console.cp.runs.get(run_id).status == "waiting"
    assert not console.cp.audit.list(action="escalation.edit")


def test_edit_form_is_built_from_the_contract_and_prefilled(console: Console) -> None:
    _, esc_id = _loop_escalation(console)
    at = console.page("inbox", user="bob", query={"esc": esc_id})
    at.toggle(key=f"editing.{esc_id}").set_value(True).run()
    proposed = console.cp.escalations.get(esc_id).request["proposed"]
    assert at.text_input(key=f"f.{esc_id}.supplier").value == proposed["supplier"]
    at.text_input(key=f"f.{esc_id}.lead_days").input("not a number")
    next(b for b in at.button if b.label == "Submit edit").click()
    at.run()
    assert "The edit has errors; nothing was decided." in texts(at)
    assert console.cp.escalations.get(esc_id).pending


def test_viewer_sees_no_decision_controls(console: Console) -> None:
    run_id = console.run(example("large_order"))
    esc_id = console.pending(run_id)
    at = console.page("inbox", user="vic")
    assert "what: Approve action 'place_order'" in texts(at)
    assert "deciding needs the approver role" in texts(at)
    assert not at.button
    assert console.cp.escalations.get(esc_id).pending
    at = console.page("inbox", user="vic", query={"esc": esc_id})  # its own view: no form either
    assert "what: Approve action 'place_order'" in texts(at)
    assert not at.button
    assert not at.text_input


def test_a_stale_approver_session_is_refused_and_audited(console: Console) -> None:
    run_id = console.run(example("large_order"))
    esc_id = console.pending(run_id)
    at = console.page("inbox", user="bob")
    console.users.set_role("bob", "viewer")  # demoted while the page is open
    at.button(key=f"approve.{esc_id}").click()
    at.run()
    assert "bob (viewer) may not approve an escalation" in texts(at)
    assert console.cp.escalations.get(esc_id).pending
    (denied,) = console.cp.audit.list(actor="bob", action="denied")
    assert denied.details["attempted"] == "approve an escalation"


def test_forged_request_with_a_viewer_principal_is_refused_and_audited(console: Console) -> None:
    run_id = console.run(example("large_order"))
    esc_id = console.pending(run_id)
    h = open_handles(console.server.url)
    out = actions.decide(h, Principal("vic", "viewer"), esc_id, "approve")
    assert not out.ok
    assert "may not" in out.message
    assert console.cp.escalations.get(esc_id).pending
    assert console.cp.audit.list(actor="vic", action="denied")


def unescape(label: object) -> str:
    """A label as shown (ids in labels are markdown-escaped by the console)."""
    return re.sub(r"\\(.)", r"\1", str(label))


def _labels(at: AppTest) -> list[str]:
    return [unescape(p.proto.label) for p in at.main.page_link]


def _escalation_links(at: AppTest) -> list[tuple[str, str]]:
    """``(href, text)`` of the links to escalations, in page order (our own escaped HTML)."""
    found = []
    for html in at.main.html:
        match = re.search(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', str(html.proto.body))
        if match and match.group(2).startswith("Escalation "):
            found.append((match.group(1).replace("&amp;", "&"), match.group(2)))
    return found


def test_the_list_is_newest_first_with_the_total_and_links(console: Console) -> None:
    older = console.pending(console.run(example("large_order")))
    newer_run = console.run(example("large_order"))
    newer = console.pending(newer_run)
    at = console.page("inbox", user="bob")
    assert "2 pending escalation(s), newest first" in texts(at)
    assert _escalation_links(at) == [
        (f"/inbox?esc={quote(newer)}", f"Escalation {newer}"),
        (f"/inbox?esc={quote(older)}", f"Escalation {older}"),
    ]
    run_link = next(p for p in at.main.page_link if unescape(p.proto.label) == f"run {newer_run}")
    assert (run_link.proto.page, run_link.proto.query_string) == ("run_detail", f"run={newer_run}")


def test_filters_by_workflow_and_by_who_started_the_run(console: Console) -> None:
    console.pending(console.run(example("large_order")))  # started by ana
    svc, _ = console.service()
    mine = svc.submit("procurement", example("large_order"), who=Principal("bob", "approver"))
    console.execute(mine.run_id)
    bobs = console.pending(mine.run_id)
    at = console.page("inbox", user="bob")
    at.toggle(key="inbox.mine").set_value(True).run()
    assert "1 pending escalation(s), newest first (2 in all)" in texts(at)
    assert _escalation_links(at)[0][1] == f"Escalation {bobs}"
    at.toggle(key="inbox.mine").set_value(False).run()
    at.selectbox(key="inbox.workflow").set_value("refund").run()
    assert "0 pending escalation(s), newest first (2 in all)" in texts(at)


def test_quick_approve_from_the_list(console: Console) -> None:
    run_id = console.run(example("large_order"))
    esc_id = console.pending(run_id)
    at = console.page("inbox", user="cleo")
    assert not [t for t in at.text_input if t.key == f"comment.{esc_id}"]  # nothing to lose
    at.button(key=f"approve.{esc_id}").click().run()
    assert "approve recorded" in texts(at)
    decision = console.cp.escalations.get(esc_id).decision
    assert decision is not None
    assert (decision.user, decision.comment) == ("cleo", "")


def test_a_shared_link_to_a_decided_escalation_shows_the_decision(console: Console) -> None:
    run_id = console.run(example("large_order"))
    esc_id = console.pending(run_id)
    svc, _ = console.service()
    svc.decide(esc_id, "approve", who=Principal("cleo", "approver"), comment="fine")
    at = console.page("inbox", user="bob", query={"esc": esc_id})
    page = texts(at)
    assert "decided: approve by cleo" in page
    assert "comment: fine" in page
    assert not at.button
    at = console.page("inbox", user="bob", query={"esc": "nope"})
    assert "No escalation with the id nope." in texts(at)
