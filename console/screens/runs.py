"""Runs: one page of the run registry at a time (indexed: fast with 10,000 runs), or a search
by stage reached, user, dates and the text of inputs and payloads; tokens and cost per run."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from typing import cast

import streamlit as st

from console.ui.page import PageContext, run_page
from console.ui.views import RUN_COLUMNS, runs_frame
from state.control.models import DamagedRecord, RunRecord
from state.control.search import RunQuery, RunSearch, Usage
from state.status import RUN_STATUSES, RunStatus

PAGE_SIZES = (25, 50, 100)


def _first_page() -> None:
    """New filters start at page 1 (page 5 of a shorter listing would be empty)."""
    st.session_state["runs.page"] = 1


def _day_start(day: date | None) -> datetime | None:
    return datetime.combine(day, time.min, tzinfo=UTC) if day else None


def _search_query(status: str, workflow: str, size: int) -> RunQuery | None:
    """The search the form asks for, or None when only the indexed filters are set."""
    with st.expander("Search", expanded=bool(st.session_state.get("runs.text"))):
        c1, c2, c3 = st.columns([3, 2, 2])
        text = c1.text_input("Text in inputs and payloads", key="runs.text")
        stage = c2.text_input("Reached stage", key="runs.stage")
        user = c3.text_input("Started by", key="runs.user")
        d1, d2 = st.columns(2)
        since = d1.date_input("From (UTC)", value=None, key="runs.since")
        until = d2.date_input("To (UTC, inclusive)", value=None, key="runs.until")
    if not (text.strip() or stage.strip() or user.strip() or since or until):
        return None
    end = _day_start(until)
    return RunQuery(
        workflow=None if workflow == "all" else workflow,
        status=None if status == "all" else cast(RunStatus, status),
        stage=stage.strip() or None,
        user=user.strip() or None,
        since=_day_start(since),
        until=end + timedelta(days=1) if end else None,
        text=text,
        limit=size,
    )


def _show(runs: list[RunRecord], usage: dict[str, Usage]) -> None:
    event = st.dataframe(
        runs_frame(runs, usage=usage),
        hide_index=True,
        column_config=RUN_COLUMNS,
        key="runs.table",
        on_select="rerun",
        selection_mode="single-row",
    )
    rows = event.selection.rows if event is not None else []
    if rows:
        st.switch_page("screens/run_detail.py", query_params={"run": runs[rows[0]].run_id})
    st.caption("Select a row, or click a run id, to open the run.")


def _say_damaged(damaged: list[DamagedRecord]) -> None:
    """A warning per run left out because its record cannot be read."""
    for run in damaged:
        st.warning(str(run), icon="⚠️")


def body(ctx: PageContext) -> None:
    """The filters, one page of runs (or the search's hits), and a jump to the selected run."""
    cp = ctx.h.cp
    search = RunSearch(cp.client)
    workflows = sorted(set(ctx.h.registry.names()) | set(cp.runs.workflows()))
    c1, c2, c3, c4 = st.columns([2, 2, 1, 1])
    status = c1.selectbox(
        "Status", ["all", *RUN_STATUSES], key="runs.status", on_change=_first_page
    )
    workflow = c2.selectbox(
        "Workflow", ["all", *workflows], key="runs.workflow", on_change=_first_page
    )
    size = c3.selectbox("Per page", PAGE_SIZES, key="runs.size", on_change=_first_page)
    query = _search_query(status, workflow, size)
    if query is not None:
        found = search.find(query)
        scope = "" if found.complete else f" (searched the newest {found.examined})"
        st.text(f"{len(found.hits)} run(s) found among {found.candidates}{scope}")
        _say_damaged(found.damaged)
        _show([h.record for h in found.hits], {h.record.run_id: h.usage for h in found.hits})
        return
    # No ``value``: the filters reset the page through the session state (``_first_page``), and
    # a default given as well makes Streamlit warn on every such reset. It starts at min_value.
    number = int(c4.number_input("Page", min_value=1, step=1, key="runs.page"))
    page = cp.runs.list(
        status=None if status == "all" else cast(RunStatus, status),
        workflow=None if workflow == "all" else workflow,
        offset=(number - 1) * size,
        limit=size,
    )
    pages = max(1, math.ceil(page.total / size))
    st.text(f"{page.total} run(s), page {number} of {pages}")
    _say_damaged(page.damaged)
    _show(page.items, search.usage([r.run_id for r in page.items]))


run_page("Runs", body)
