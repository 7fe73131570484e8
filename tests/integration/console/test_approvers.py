"""The console's inbox and Users page with approver groups, four eyes and M of N (AppTest on a
real Valkey; decisions go through the same run service as everywhere)."""

from __future__ import annotations

from tests.integration.console.conftest import Console, button, example, texts


def _huge_order() -> dict[str, object]:
    """300 desks: about 88,500, above the two-approver limit."""
    order = example("large_order")
    return {**order, "text": "We need 300 units of SKU-DESK-02 for the new office by 2099-02-01."}


def test_the_inbox_says_who_decides_and_by_when(console: Console) -> None:
    run_id = console.run(example("large_order"))
    esc_id = console.pending(run_id)
    at = console.page("inbox", user="bob", query={"esc": esc_id})
    page = texts(at)
    assert "decided by: group finance; four eyes: ana (who started the run) may not approve" in page
    assert "decide within 7h 59m (by " in page
    assert "then: handed over to group finance-leads" in page


def test_a_button_the_user_may_not_use_is_disabled_and_says_why(console: Console) -> None:
    run_id = console.run(example("large_order"))
    esc_id = console.pending(run_id)
    console.users.add("olga", "approver", "long-enough-pw")
    console.cp.groups.join("olga", "warehouse")
    outside = console.page("inbox", user="olga", query={"esc": esc_id})
    for action in ("approve", "reject"):
        shown = outside.button(key=f"{action}.{esc_id}")
        assert shown.disabled
        assert f"olga is not in group 'finance', which decides escalation {esc_id}" in shown.help
    assert "Not yours to decide: olga is not in group 'finance'" in texts(outside)
    starter = console.page("inbox", user="ana", query={"esc": esc_id})  # four eyes
    assert starter.button(key=f"approve.{esc_id}").disabled
    assert "four eyes: ana started run" in starter.button(key=f"approve.{esc_id}").help
    assert not starter.button(key=f"reject.{esc_id}").disabled  # rejecting is the safe side
    member = console.page("inbox", user="bob", query={"esc": esc_id})
    assert not member.button(key=f"approve.{esc_id}").disabled
    assert "Not yours to decide" not in texts(member)
    assert console.cp.escalations.get(esc_id).pending


def test_a_refusal_says_why_and_nothing_is_decided(console: Console) -> None:
    run_id = console.run(example("large_order"))
    esc_id = console.pending(run_id)
    console.users.add("olga", "approver", "long-enough-pw")
    console.cp.groups.join("olga", "finance")
    at = console.page("inbox", user="olga", query={"esc": esc_id})
    assert not at.button(key=f"approve.{esc_id}").disabled
    console.cp.groups.leave("olga", "finance")  # after her page was drawn: the server decides
    at.button(key=f"approve.{esc_id}").click().run()
    assert f"olga is not in group 'finance', which decides escalation {esc_id}" in texts(at)
    assert console.cp.escalations.get(esc_id).pending


def test_two_approvals_in_the_console_and_the_second_decides(console: Console) -> None:
    run_id = console.run(_huge_order())
    esc_id = console.pending(run_id)
    esc = console.cp.escalations.get(esc_id)
    assert (esc.group, esc.approvals_needed) == ("finance", 2)
    first = console.page("inbox", user="bob", query={"esc": esc_id})
    first.button(key=f"approve.{esc_id}").click().run()
    assert "Approval by bob recorded for" in texts(first)
    assert "(1 of 2); waiting for 1 more from finance" in texts(first)
    again = console.page("inbox", user="bob", query={"esc": esc_id})
    again.button(key=f"approve.{esc_id}").click().run()
    assert "bob already approved escalation" in texts(again)
    second = console.page("inbox", user="cleo", query={"esc": esc_id})
    assert "2 approvals needed, 1 so far (bob)" in texts(second)
    second.button(key=f"approve.{esc_id}").click().run()
    assert "approve recorded" in texts(second)
    assert console.execute(run_id) == "succeeded"


def test_admins_manage_groups_on_the_users_page(console: Console) -> None:
    at = console.page("users", user="ana")
    at.selectbox(key="group.user").set_value("vic")
    at.text_input(key="group.name").set_value("auditors")
    button(at, "Add to group").click().run()
    assert "vic is now in group auditors." in texts(at)
    assert console.cp.groups.members("auditors") == ["vic"]
    [entry] = console.cp.audit.list(action="group.join", target="vic")
    assert entry.actor == "ana"
    refused = console.page("users", user="bob")
    assert "Managing users needs the admin role." in texts(refused)
