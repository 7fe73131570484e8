"""Addresses of the console's pages for one run or one escalation, as paths.

The console serves them (``console.web.links`` re-exports these) and notifications put them
after the console's base URL (``WAYBILL_CONSOLE_URL``), so a message links to the exact
escalation or run. Built from ids only, URL-encoded: agent text never becomes a link.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode


def page_path(page: str, params: dict[str, str]) -> str:
    """``/<page>?<params>`` (no query string without params)."""
    query = urlencode(params, quote_via=quote)
    return f"/{page}" + (f"?{query}" if query else "")


def run_url(run_id: str, node: str | None = None) -> str:
    """The run's page (``node``: with that graph node selected)."""
    return page_path("run_detail", {"run": run_id, **({"node": node} if node else {})})


def escalation_url(escalation_id: str) -> str:
    """The inbox opened on one escalation."""
    return page_path("inbox", {"esc": escalation_id})


KILLS_URL = "/kills"
"""The kill switches page."""


def absolute(base: str, path: str) -> str:
    """``path`` on the console at ``base`` (``http://host:port`` or a proxy's prefix)."""
    return base.rstrip("/") + path
