"""The Insights page on a seeded history: a suggestion with its numbers, its replay proof, and
adoption by an admin only."""

from __future__ import annotations

from graph.runtime.principal import Principal
from state.control.limits import Limits
from tests.integration.console.conftest import Console, button, texts
from tests.orders import chairs

SIZES = (65, 68, 71, 74, 77, 80, 83, 86, 89, 92)  # 5,100 .. 7,395: all approved by bob


def _seed(console: Console) -> list[str]:
    svc, _ = console.service()
    runs = []
    for n in SIZES:
        run_id = svc.submit("procurement", chairs(n), who=Principal("ana", "admin")).run_id
        assert console.execute(run_id) == "waiting"
        svc.decide(console.pending(run_id), "approve", who=Principal("bob", "approver"))
        assert console.execute(run_id) == "succeeded"
        runs.append(run_id)
    return runs


def test_an_insight_with_its_proof_adopted_by_an_admin(console: Console) -> None:
    runs = _seed(console)
    viewer = console.page("insights", user="vic")
    assert not [b for b in viewer.button if b.label == "Adopt this limit"]
    at = console.page("insights", user="ana")
    page = texts(at)
    assert (
        "approvers approved 10 of 10 `amount_over_limit` escalations with total between "
        "5,100.00 and 7,395.00: raise the limit from 5,000.00 to 7,395.00?"
    ) in page
    button(at, "Prove it by replay").click().run()
    assert "10 past run(s) replayed from their tapes with the limit at 7,395.00" in texts(at)
    [proof] = [d for d in at.dataframe if "with the new limit" in d.value.columns]
    assert sorted(proof.value["run"]) == sorted(f"/run_detail?run={r}" for r in runs)
    assert set(proof.value["recorded"]) == set(proof.value["with the new limit"]) == {"succeeded"}
    assert all("[auto]: executed" in c for c in proof.value["changed"])
    button(at, "Adopt this limit").click().run()
    assert "Adopted: amount_over_limit of procurement is now 7,395.00" in texts(at)
    assert Limits(console.cp.client).of("procurement") == {"amount_over_limit": 7395.0}
    [entry] = console.cp.audit.list(action="limit.adopt")
    assert entry.actor == "ana"
