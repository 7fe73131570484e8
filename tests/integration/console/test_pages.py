"""Overview, runs, run detail, kill switches, audit, start and users pages; Redis down."""

from __future__ import annotations

import json
from datetime import timedelta

from graph.chain import Chain
from graph.runtime.registry import Registry
from state.clock import utcnow
from state.control.audit import AUDIT_KEY
from state.control.models import NewRun
from tests.integration.console.conftest import Console, button, example, texts


def test_overview_counts_gates_mast_and_switches(console: Console) -> None:
    assert "No runs yet. Start one on" in texts(console.page("overview", user="bob"))
    console.run(example("small_order"), inject="bad_extraction")  # caught, revised, succeeds
    console.run(example("large_order"))  # waits for a human
    console.cp.kills.trip("workflow", "procurement", reason="maintenance", user="ana")
    at = console.page("overview", user="vic")
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["succeeded"], metrics["waiting"]) == ("1", "1")
    assert metrics["gate pass rate"] not in ("-", "100%")
    page = texts(at)
    assert "1 run(s) waiting; 1 escalation(s) pending" in page
    assert "No runs yet" not in page
    assert "revise 1" in page
    (switches,) = [d for d in at.dataframe if "switch" in d.value.columns]
    assert list(switches.value["switch"]) == ["workflow:procurement"]
    (chart,) = at.get("vega_lite_chart")  # the MAST histogram: FM-1.1 caught at intake
    assert "FM-1.1" in str(chart.proto)


def test_runs_page_shows_one_page_of_many_and_filters(console: Console) -> None:
    start = utcnow() - timedelta(hours=1)
    console.cp.runs.create_many(
        NewRun(run_id=f"r{i:04d}", workflow="procurement", created_at=start + timedelta(seconds=i))
        for i in range(120)
    )
    console.cp.runs.update("r0007", status="running")
    at = console.page("runs", user="vic")
    assert "120 run(s), page 1 of 5" in texts(at)
    (table,) = at.dataframe
    assert len(table.value) == 25
    assert table.value["run"].iloc[0] == "/run_detail?run=r0119"  # newest first, a link
    at.number_input(key="runs.page").set_value(5).run()
    assert list(at.dataframe[0].value["run"])[-1] == "/run_detail?run=r0000"
    at.selectbox(key="runs.status").set_value("running").run()
    assert "1 run(s), page 1 of 1" in texts(at)
    assert list(at.dataframe[0].value["run"]) == ["/run_detail?run=r0007"]
    assert "run=([^&]+)" in str(at.dataframe[0].proto.columns)  # shown as the id, links to it


def test_runs_page_searches_inputs_and_payloads(console: Console) -> None:
    small = console.run(example("small_order"))
    large = console.run(example("large_order"))
    at = console.page("runs", user="vic")
    assert "2 run(s), page 1 of 1" in texts(at)
    assert {"tokens", "cost $"} <= set(at.dataframe[0].value.columns)
    at.text_input(key="runs.text").set_value("PO-R-1002").run()  # only in a payload
    assert "1 run(s) found among 2" in texts(at)
    assert list(at.dataframe[0].value["run"]) == [f"/run_detail?run={large}"]
    at.text_input(key="runs.text").set_value("").run()
    at.text_input(key="runs.stage").set_value("place_order").run()
    both = {f"/run_detail?run={small}", f"/run_detail?run={large}"}
    assert set(at.dataframe[0].value["run"]) == both
    at.text_input(key="runs.user").set_value("nobody").run()
    assert "0 run(s) found among 2" in texts(at)


def test_run_detail_draws_the_run_and_its_timeline(console: Console) -> None:
    run_id = console.run(example("small_order"))
    at = console.page("run_detail", user="vic", query={"run": run_id})
    page = texts(at)
    assert f"run {run_id}   workflow procurement   status succeeded" in page
    (chart,) = at.get("graphviz_chart")
    dot = chart.proto.spec
    green = '[label="intake", shape=box, fillcolor="#86efac", group=spine'
    assert f'"intake" {green}, URL="/run_detail?run={run_id}&node=intake"' in dot
    walked = '[style=dashed, label="inventory", penwidth=2.5'  # the run's path, in bold
    assert f'"intake" -> "gate intake->inventory" {walked}' in dot
    assert "gate intake->inventory" in page  # the verdicts of the timeline
    assert "Kill this run" not in [e.label for e in at.expander]  # viewers cannot kill
    assert not [b for b in at.button if b.label == "Fork from this checkpoint"]


def test_run_detail_replays_a_finished_run_side_by_side(console: Console) -> None:
    run_id = console.run(example("small_order"))
    at = console.page("run_detail", user="vic", query={"run": run_id})
    button(at, "Replay and compare").click().run()
    page = texts(at)
    assert "recorded succeeded, replayed succeeded; 0 live call(s) during the replay;" in page
    assert "identical: today's gates would have done the same" in page
    [table] = [d for d in at.dataframe if "replayed today" in d.value.columns]
    assert list(table.value["recorded"]) == list(table.value["replayed today"])
    assert "action place_order [auto]: executed" in list(table.value["recorded"])
    assert set(table.value[""]) == {""}  # no line marked different


def test_run_detail_replays_a_waiting_run_to_its_question(console: Console) -> None:
    run_id = console.run(example("large_order"))
    at = console.page("run_detail", user="vic", query={"run": run_id})
    assert "status waiting" in texts(at)
    button(at, "Replay and compare").click().run()
    page = texts(at)
    assert "recorded waiting, replayed waiting; 0 live call(s) during the replay;" in page
    assert "identical: today's gates would have done the same" in page


def test_run_detail_shows_what_the_picked_node_did(console: Console) -> None:
    run_id = console.run(example("small_order"), inject="bad_extraction")  # revised once
    gate = "gate intake->inventory"
    at = console.page("run_detail", user="vic", query={"run": run_id, "node": gate})
    assert at.selectbox(key="detail.node").value == gate
    page = texts(at)
    assert f"{gate}: passed, ran 2 time(s) in this run" in page
    assert f"{gate}: REVISE  MAST: FM-1.1" in page  # the first verdict, then the pass
    assert f"{gate}: PASS" in page
    (chart,) = at.get("graphviz_chart")
    assert f'"{gate}" [label="gate", shape=diamond, fillcolor="#86efac", penwidth=3' in (
        chart.proto.spec
    )
    at.selectbox(key="detail.node").set_value("intake").run()
    assert at.query_params["node"] == "intake"  # the address follows the pick
    assert "intake: passed, ran 2 time(s) in this run" in texts(at)
    assert "decision record of intake" in [e.label for e in at.expander]


class _Unbuildable(Registry):
    """A registry that fails when asked for a chain: what it is passed to must be cached."""

    def get(self, name: str) -> Chain:
        raise AssertionError(f"the topology of {name} was built again, not cached")


def test_run_detail_caches_the_topology_per_workflow(console: Console) -> None:
    from console.ui.graph_view import cached_topology

    first = console.run(example("small_order"))
    second = console.run(example("small_order"))
    console.page("run_detail", user="vic", query={"run": first})
    console.page("run_detail", user="vic", query={"run": second})
    unbuildable = _Unbuildable()
    cached = cached_topology("procurement", unbuildable)
    assert cached_topology("procurement", unbuildable) is cached


def test_run_detail_unknown_run(console: Console) -> None:
    at = console.page("run_detail", user="vic", query={"run": "nope"})
    assert "No run with this id." in texts(at)


def test_admin_kills_a_waiting_run_from_its_page(console: Console) -> None:
    run_id = console.run(example("large_order"))
    at = console.page("run_detail", user="ana", query={"run": run_id})
    at.text_input(key="detail.kill.reason").input("wrong supplier")
    button(at, "Kill run").click()
    at.run()
    assert "Tick the confirmation first" in texts(at)
    assert console.cp.runs.get(run_id).status == "waiting"
    at.checkbox(key="detail.kill.confirm").check()
    button(at, "Kill run").click()
    at.run()
    assert console.cp.runs.get(run_id).status == "killed"
    assert console.cp.audit.list(action="kill.trip")[0].actor == "ana"
    assert "Kill this run" not in [e.label for e in at.expander]  # over: nothing to stop


def test_history_state_diff_and_fork(console: Console) -> None:
    run_id = console.run(example("small_order"))
    at = console.page("run_detail", user="bob", query={"run": run_id})
    picks = at.selectbox(key="hist.at").options
    assert len(picks) > 3
    assert "change(s) from the second checkpoint to the first" in texts(at)
    at.selectbox(key="hist.at").select_index(len(picks) - 2).run()  # an early checkpoint
    button(at, "Fork from this checkpoint").click()
    at.run()
    forked = at.session_state["hist.forked"]
    assert console.cp.runs.get(forked).status == "queued"
    assert console.cp.audit.list(actor="bob")


def test_kill_switches_trip_and_clear_need_confirmation(console: Console) -> None:
    at = console.page("kills", user="ana")
    at.selectbox(key="kill.scope").set_value("workflow").run()
    at.selectbox(key="kill.target").set_value("procurement")
    at.text_input(key="kill.reason").input("supplier outage")
    button(at, "Trip switch").click()
    at.run()
    assert "Tick the confirmation first" in texts(at)
    assert console.cp.kills.list() == []
    at.checkbox(key="kill.confirm").check()
    button(at, "Trip switch").click()
    at.run()
    (switch,) = console.cp.kills.list()
    assert (switch.scope, switch.target, switch.user) == ("workflow", "procurement", "ana")
    # The page drawn by that same click already shows the new state (not the one before it).
    (table,) = at.dataframe
    assert list(table.value["switch"]) == ["workflow:procurement"]
    assert "Kill switch workflow:procurement tripped" in texts(at)
    assert at.checkbox(key="kill.confirm").value is False  # the next trip confirms again
    at.selectbox(key="clear.pick").set_value("kill:workflow:procurement")
    at.checkbox(key="clear.confirm").check()
    button(at, "Clear switch").click()
    at.run()
    assert console.cp.kills.list() == []
    assert not at.dataframe
    assert "No kill or hold switch is tripped." in texts(at)
    assert "Kill switch workflow:procurement cleared." in texts(at)
    actions = [e.action for e in console.cp.audit.list(actor="ana")]
    assert {"kill.trip", "kill.clear"} <= set(actions)


def test_viewer_and_approver_cannot_trip_switches(console: Console) -> None:
    for user in ("vic", "bob"):
        at = console.page("kills", user=user)
        assert "needs the admin role" in texts(at)
        assert not [b for b in at.button if b.label == "Trip switch"]


def test_audit_log_filters_and_verifies_the_chain(console: Console) -> None:
    console.cp.audit.append("ana", "kill.trip", "global:*", {"reason": "drill"})
    console.cp.audit.append("bob", "escalation.approve", "r1", {})
    at = console.page("audit", user="vic")
    assert "Hash chain verified: 2 entries, intact." in texts(at)
    at.text_input(key="audit.actor").input("bob").run()
    assert list(at.dataframe[0].value["action"]) == ["escalation.approve"]
    entry = console.cp.client.hget(AUDIT_KEY, "1")
    assert isinstance(entry, str)  # the control plane's client decodes replies
    raw = json.loads(entry)
    console.cp.client.hset(AUDIT_KEY, "1", json.dumps({**raw, "actor": "mallory"}))
    at.run()
    assert "Hash chain broken: entry 1" in texts(at)


def test_start_a_run_from_an_example(console: Console) -> None:
    at = console.page("start", user="bob")
    at.selectbox(key="start.workflow").set_value("procurement").run()
    at.selectbox(key="start.fault").set_value("lossy_summary").run()
    button(at, "Start run").click()
    at.run()
    run_id = at.session_state["start.last"]
    record = console.cp.runs.get(run_id)
    assert (record.workflow, record.status, record.user) == ("procurement", "queued", "bob")
    assert console.cp.audit.list(action="run.start")[0].details["inject"] == "lossy_summary"


def test_start_a_run_with_bad_input(console: Console) -> None:
    at = console.page("start", user="bob")
    (box,) = at.text_area
    box.input('{"request_id": "R-1"}')
    button(at, "Start run").click()
    at.run()
    assert "the input is not a valid PurchaseRequest" in texts(at)
    box = at.text_area[0]
    box.input("{not json")
    button(at, "Start run").click()
    at.run()
    assert "The input has errors; no run was started." in texts(at)
    assert console.cp.runs.list().total == 0


def test_viewer_cannot_start_runs(console: Console) -> None:
    at = console.page("start", user="vic")
    assert "Starting runs needs the approver role." in texts(at)
    assert not at.button


def test_admin_adds_a_user_and_changes_a_role(console: Console) -> None:
    at = console.page("users", user="ana")
    at.text_input(key="user.name").input("dora")
    at.selectbox(key="user.role").set_value("approver")
    at.text_input(key="user.pw").input("long-enough-pw")
    button(at, "Add user").click()
    at.run()
    assert console.users.verify("dora", "long-enough-pw") is not None
    at.selectbox(key="role.user").set_value("dora")
    at.selectbox(key="role.role").set_value("admin")
    button(at, "Change role").click()
    at.run()
    user = console.users.get("dora")
    assert user is not None
    assert user.role == "admin"
    assert [e.action for e in console.cp.audit.list(actor="ana")][:2] == ["user.role", "user.add"]


def test_redis_down_shows_a_banner_and_the_page_recovers(console: Console) -> None:
    at = console.page("overview", user="vic")
    assert not at.error
    assert "No runs yet." in texts(at)
    assert "Start one" not in texts(at)  # a viewer cannot start a run
    console.server.stop()
    at.run()
    assert "Redis is unreachable" in texts(at)
    assert not at.exception
    console.server.start()
    at.run()
    assert "Redis is unreachable" not in texts(at)
    assert [m.label for m in at.metric][:2] == ["queued", "running"]
