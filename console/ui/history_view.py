"""The run page's history: checkpoints, the state at one, the diff of two, fork from one."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from console.ui import actions
from console.ui.page import PageContext
from console.ui.views import md_escape, notify
from graph.runtime import history
from graph.runtime.registry import UnknownWorkflowError


def _label(info: history.CheckpointInfo) -> str:
    when = info.created_at.strftime("%H:%M:%S") if info.created_at else "?"
    nxt = ", ".join(info.next) or "end"
    return f"step {info.step} at {when} -> {nxt}" + (" (interrupted)" if info.interrupted else "")


def _cell(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)[:300]


def show_history(ctx: PageContext, run_id: str) -> None:
    """Checkpoints of the run (newest first), state, diff and fork."""
    with st.expander("History: state at a checkpoint, diff, fork"):
        run = ctx.h.cp.runs.get(run_id)
        try:
            chain = ctx.h.registry.get(run.workflow)
        except UnknownWorkflowError:
            st.text("unknown workflow: no history")
            return
        points = history.checkpoints(ctx.h.raw, chain, run_id)
        if not points:
            st.text("no checkpoint yet")
            return
        ids = [p.checkpoint_id for p in points]
        labels = {p.checkpoint_id: _label(p) for p in points}
        pick = st.selectbox("Checkpoint", ids, format_func=labels.__getitem__, key="hist.at")
        state = history.state_at(ctx.h.raw, chain, run_id, pick)
        st.json(json.loads(json.dumps(state, default=str)), expanded=False)
        other = st.selectbox(
            "Compare with",
            ids,
            index=min(1, len(ids) - 1),
            format_func=labels.__getitem__,
            key="hist.other",
        )
        before = json.loads(
            json.dumps(history.state_at(ctx.h.raw, chain, run_id, other), default=str)
        )
        after = json.loads(json.dumps(state, default=str))
        changes = history.diff_states(before, after)
        st.text(f"{len(changes)} change(s) from the second checkpoint to the first")
        if changes:
            st.dataframe(
                pd.DataFrame(
                    [
                        {"path": c.path, "before": _cell(c.before), "after": _cell(c.after)}
                        for c in changes
                    ]
                ),
                hide_index=True,
            )
        if ctx.can("approver"):
            _fork_form(ctx, run_id, pick)


def _fork_form(ctx: PageContext, run_id: str, checkpoint_id: str) -> None:
    with st.form("fork"):
        st.caption("Fork: a new run starts from the chosen checkpoint (this run is untouched).")
        raw = st.text_area(
            "State edits (JSON object: dotted path -> value; optional)", value="{}", key="hist.sets"
        )
        if not st.form_submit_button("Fork from this checkpoint"):
            return
    try:
        sets = json.loads(raw or "{}")
        if not isinstance(sets, dict):
            raise ValueError
    except ValueError:
        st.error("The edits must be a JSON object.")
        return
    out = actions.fork(ctx.h, ctx.who, run_id, checkpoint_id, sets=sets)
    notify(out)
    if out.ok:
        forked = out.value.run_id
        st.session_state["hist.forked"] = forked
        st.page_link(
            "screens/run_detail.py",
            label=f"Open run {md_escape(forked)}",
            query_params={"run": forked},
        )
