"""Forms of the Runs and switches pages: the pager a filter resets, the confirmation that fits
the kind of switch, and a search for text as typed (AppTest on a real Valkey)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.integration.console.conftest import Console, example, texts

POLICIES = "streamlit.elements.lib.policies"
"""Streamlit's logger for a widget given a default and a session-state value at once."""


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def streamlit_warnings(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """What Streamlit's widget policies log (a server terminal's warning and stack)."""
    # Streamlit says it once per process: re-arm it, or an earlier test would hide it here.
    monkeypatch.setattr(f"{POLICIES}._shown_default_value_warning", False)
    kept = _Kept()
    logger = logging.getLogger(POLICIES)
    logger.addHandler(kept)
    try:
        yield kept.messages
    finally:
        logger.removeHandler(kept)


def test_a_new_filter_goes_back_to_page_one_quietly(
    console: Console, streamlit_warnings: list[str]
) -> None:
    console.run(example("large_order"))
    at = console.page("runs", user="vic")
    at.number_input(key="runs.page").set_value(3).run()
    assert "1 run(s), page 3 of 1" in texts(at)
    at.selectbox(key="runs.status").set_value("waiting").run()
    assert at.number_input(key="runs.page").value == 1
    assert "1 run(s), page 1 of 1" in texts(at)
    at.selectbox(key="runs.size").set_value(50).run()
    assert not at.exception
    assert not at.warning
    assert not [m for m in streamlit_warnings if "runs.page" in m], streamlit_warnings


def test_the_confirmation_says_what_the_kind_of_switch_does(console: Console) -> None:
    at = console.page("kills", user="ana")
    kill = at.checkbox(key="kill.confirm").label
    assert kill.startswith("I confirm: stop these runs")
    assert "killed" in kill
    at.radio(key="kill.kind").set_value("hold").run()
    hold = at.checkbox(key="kill.confirm").label
    assert hold.startswith("I confirm: hold these runs")
    assert "stop" not in hold
    assert "released" in hold


def test_the_runs_search_finds_accented_text(console: Console) -> None:
    order = {**example("small_order"), "text": "Please order 20 units for Frau Müller"}
    run_id = console.run(order)
    console.run(example("small_order"))
    at = console.page("runs", user="vic")
    for typed, found in (("müller", 1), ("u00fc", 0), ("\\", 0)):
        at.text_input(key="runs.text").input(typed).run()
        assert f"{found} run(s) found among 2" in texts(at), typed
    at.text_input(key="runs.text").input("MÜLLER").run()
    (table,) = at.dataframe
    assert [str(link).rsplit("=", 1)[-1] for link in table.value["run"]] == [run_id]
