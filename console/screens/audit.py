"""Audit log: who did what, when, what they saw; filterable; the hash chain verified."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from console.ui.page import PageContext, run_page
from console.ui.views import md_escape

PAGE = 100


def body(ctx: PageContext) -> None:
    """The hash chain's check, the filters, and one page of the log."""
    audit = ctx.h.cp.audit
    check = audit.verify()
    if check.ok:
        st.success(f"Hash chain verified: {check.checked} entries, intact.")
    else:
        st.error(md_escape(f"Hash chain broken: {check.problem}"))
    c1, c2, c3, c4 = st.columns([2, 2, 2, 1])
    actor = c1.text_input("Actor", key="audit.actor").strip() or None
    action = c2.text_input(
        "Action (e.g. escalation.approve, kill.trip, denied)", key="audit.action"
    )
    target = c3.text_input("Target", key="audit.target").strip() or None
    number = int(c4.number_input("Page", min_value=1, value=1, step=1, key="audit.page"))
    entries = audit.list(
        actor=actor,
        action=action.strip() or None,
        target=target,
        offset=(number - 1) * PAGE,
        limit=PAGE,
    )
    st.text(f"{check.head_seq} entries in all; showing {len(entries)}")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "seq": e.seq,
                    "when": e.ts.strftime("%Y-%m-%d %H:%M:%S"),
                    "actor": e.actor,
                    "action": e.action,
                    "target": e.target,
                    "details": json.dumps(e.details, sort_keys=True, default=str),
                }
                for e in entries
            ],
            columns=["seq", "when", "actor", "action", "target", "details"],
        ),
        hide_index=True,
        key="audit.table",
    )


run_page("Audit log", body)
