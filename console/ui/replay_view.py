"""The run page's replay: re-run a finished run from its tape through today's gates and show the
recorded run and the replay side by side (no model call, no tool call, no side effect)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from console.ui.page import PageContext
from graph.runtime.replay import ReplayReport, replay_run, side_by_side
from state.control.models import RunRecord
from state.errors import WaybillError
from state.status import TERMINAL_STATUSES

KEY = "replay.report"


def comparison_frame(report: ReplayReport) -> pd.DataFrame:
    """The recorded run and its replay, aligned line by line, differences marked."""
    rows = [
        {"": "" if same else "≠", "recorded": recorded, "replayed today": replayed}
        for recorded, replayed, same in side_by_side(report.recorded, report.replayed)
    ]
    return pd.DataFrame(rows, columns=["", "recorded", "replayed today"])


def _summary(report: ReplayReport) -> str:
    head = f"recorded {report.recorded_status}, replayed {report.replayed_status}; "
    head += f"{report.live_calls} live call(s) during the replay; "
    if report.identical:
        return head + "identical: today's gates would have done the same"
    return head + f"{len(report.divergences)} difference(s)"


def replay_box(ctx: PageContext, run: RunRecord) -> None:
    """For a run that is over, or waiting for a decision (its replay stops at the same question,
    unless today's gates would not ask it): a button that replays it, and the comparison."""
    if run.status not in TERMINAL_STATUSES and run.status != "waiting":
        return
    with st.expander("Replay with today's gates", expanded=KEY in st.session_state):
        st.caption(
            "Re-runs the run from its tape: every agent answer, source read and human decision "
            "comes from the recording, the gates and checks run as they are now. Nothing is "
            "called and nothing acts."
        )
        if st.button("Replay and compare", key="replay.go"):
            try:
                report = replay_run(ctx.h.cp, ctx.h.raw, ctx.h.registry, run.run_id)
            except WaybillError as exc:  # unknown workflow, missing tape, damaged checkpoint
                st.error(f"Cannot replay this run: {exc}")
                return
            st.session_state[KEY] = report
        shown = st.session_state.get(KEY)
        if isinstance(shown, ReplayReport) and shown.run_id == run.run_id:
            st.text(_summary(shown))
            st.dataframe(comparison_frame(shown), hide_index=True, width="stretch")
