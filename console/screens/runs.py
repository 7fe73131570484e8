"""Runs: one page of the run registry at a time (indexed: fast with 10,000 runs)."""

from __future__ import annotations

import math
from typing import cast

import streamlit as st

from console.ui.page import PageContext, run_page
from console.ui.views import RUN_COLUMNS, runs_frame
from state.status import RUN_STATUSES, RunStatus

PAGE_SIZES = (25, 50, 100)


def _first_page() -> None:
    """New filters start at page 1 (page 5 of a shorter listing would be empty)."""
    st.session_state["runs.page"] = 1


def body(ctx: PageContext) -> None:
    """The filters, one page of runs, and a jump to the run whose row is selected."""
    cp = ctx.h.cp
    workflows = sorted(set(ctx.h.registry.names()) | set(cp.runs.workflows()))
    c1, c2, c3, c4 = st.columns([2, 2, 1, 1])
    status = c1.selectbox(
        "Status", ["all", *RUN_STATUSES], key="runs.status", on_change=_first_page
    )
    workflow = c2.selectbox(
        "Workflow", ["all", *workflows], key="runs.workflow", on_change=_first_page
    )
    size = c3.selectbox("Per page", PAGE_SIZES, key="runs.size", on_change=_first_page)
    number = int(c4.number_input("Page", min_value=1, value=1, step=1, key="runs.page"))
    page = cp.runs.list(
        status=None if status == "all" else cast(RunStatus, status),
        workflow=None if workflow == "all" else workflow,
        offset=(number - 1) * size,
        limit=size,
    )
    pages = max(1, math.ceil(page.total / size))
    st.text(f"{page.total} run(s), page {number} of {pages}")
    frame = runs_frame(page.items)
    event = st.dataframe(
        frame,
        hide_index=True,
        column_config=RUN_COLUMNS,
        key="runs.table",
        on_select="rerun",
        selection_mode="single-row",
    )
    rows = event.selection.rows if event is not None else []
    if rows:
        run_id = page.items[rows[0]].run_id
        st.switch_page("screens/run_detail.py", query_params={"run": run_id})
    st.caption("Select a row, or click a run id, to open the run.")


run_page("Runs", body)
