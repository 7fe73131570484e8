"""Notifications: what was sent where, and every delivery attempt (newest first).

The sinks are listed by name, format and host only: a webhook's URL and signing key are
secrets and are never shown. A notice's text may quote a workflow's text: shown as text.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from console.ui.page import PageContext, run_page
from console.ui.views import html_link, md_escape
from graph.runtime.webhooks import shown
from state.notices import NoticeRecord
from state.settings import get_settings

LIMIT = 100


def _status(record: NoticeRecord) -> str:
    return ", ".join(f"{s}: {state}" for s, state in sorted(record.status.items())) or "no sink"


def _row(record: NoticeRecord) -> dict[str, str]:
    notice = record.notice
    return {
        "at": f"{notice.at:%Y-%m-%d %H:%M:%S}",
        "event": notice.kind,
        "title": notice.title,
        "deliveries": _status(record),
        "attempts": str(len(record.attempts)),
    }


def _details(record: NoticeRecord) -> None:
    notice = record.notice
    label = f"{notice.at:%H:%M:%S} {notice.kind} · {_status(record)}"
    with st.expander(md_escape(label)):
        st.text(notice.title)
        for line in notice.lines:
            st.text(line)
        html_link(notice.link, "Open what it is about")
        rows = [
            {
                "sink": a.sink,
                "attempt": a.attempt,
                "at": f"{a.at:%H:%M:%S}",
                "result": "delivered" if a.ok else (a.error or "failed"),
                "HTTP": a.status_code if a.status_code is not None else "",
                "next try": f"{a.next_at:%H:%M:%S}" if a.next_at else "",
            }
            for a in record.attempts
        ]
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True)
        else:
            st.text("no delivery attempt yet")


def body(ctx: PageContext) -> None:
    """The configured sinks, then the newest notices with their delivery logs."""
    sinks = get_settings().webhooks
    st.text(
        "sinks: " + (", ".join(shown(s) for s in sinks) or "none configured (WAYBILL_WEBHOOKS)")
    )
    records = ctx.h.cp.notices.recent(LIMIT)
    st.text(f"{len(records)} most recent notification(s)")
    if not records:
        return
    st.dataframe(pd.DataFrame([_row(r) for r in records]), hide_index=True)
    for record in records:
        _details(record)


run_page("Notifications", body)
