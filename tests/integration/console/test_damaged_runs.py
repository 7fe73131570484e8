"""The runs page with one run whose record is damaged: the others are listed, it is named."""

from __future__ import annotations

from datetime import timedelta

from state.clock import utcnow
from state.control.models import NewRun
from tests.integration.console.conftest import Console, texts

WARNING = "run ab12cd: record is damaged (status 'bogus' is invalid: "


def test_runs_page_lists_the_others_and_warns_of_the_damaged_one(console: Console) -> None:
    start = utcnow() - timedelta(minutes=5)
    console.cp.runs.create_many(
        NewRun(run_id=run_id, workflow="procurement", created_at=start + timedelta(seconds=n))
        for n, run_id in enumerate(("good-1", "ab12cd", "good-2"))
    )
    console.raw.hset("wb:{ab12cd}:run", "status", "bogus")
    at = console.page("runs", user="vic")
    assert not at.exception, [e.value for e in at.exception]
    [warning] = [w.value for w in at.warning]
    assert warning.startswith(WARNING), warning
    assert warning.endswith("), skipped"), warning
    assert list(at.dataframe[0].value["run"]) == [
        "/run_detail?run=good-2",
        "/run_detail?run=good-1",
    ]
    at.text_input(key="runs.stage").set_value("po_draft").run()  # a search: no run reached it
    assert "0 run(s) found among 3" in texts(at)
    [warning] = [w.value for w in at.warning]
    assert warning.startswith(WARNING), warning


def test_the_run_page_of_a_damaged_run_names_it(console: Console) -> None:
    """Its address opens one line naming the run and the damage (it showed an exception)."""
    console.cp.runs.create("ab12cd", "procurement")
    console.raw.hset("wb:{ab12cd}:run", "status", "bogus")
    at = console.page("run_detail", user="vic", query={"run": "ab12cd"})
    [error] = [e.value for e in at.error]
    assert error.startswith(WARNING), error
