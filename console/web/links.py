"""The console's addresses: its pages, shareable links to runs, escalations and graph nodes.

No Streamlit here: the login routes and the session gate (``console.web``) use these names as
well as the pages. A page's address is its file name (``screens/inbox.py`` -> ``/inbox``); the
default page also answers at ``/``.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode, urlsplit

from state.links import escalation_url as escalation_url
from state.links import page_path
from state.links import run_url as run_url

PAGES: dict[str, list[tuple[str, str]]] = {
    "Watch": [("overview", "Overview"), ("runs", "Runs"), ("run_detail", "Run detail")],
    "Act": [
        ("inbox", "Escalations"),
        ("start", "Start a run"),
        ("kills", "Kill and hold switches"),
    ],
    "Govern": [
        ("insights", "Insights"),
        ("audit", "Audit log"),
        ("notifications", "Notifications"),
        ("users", "Users"),
    ],
}
"""Navigation sections: ``(page name, title)``; the file is ``console/screens/<name>.py``."""

DEFAULT_PAGE = "overview"
ADMIN_PAGES = frozenset({"users"})
LOGIN_PATH = "/login"


def page_file(name: str) -> str:
    """The page's file, relative to ``console/app.py``."""
    return f"screens/{name}.py"


def page_paths() -> frozenset[str]:
    """Every path at which a page is served (``/``, ``/inbox``, ...)."""
    names = [name for section in PAGES.values() for name, _ in section]
    return frozenset({"/", *(f"/{n}" for n in names)})


def login_url(next_url: str) -> str:
    """The login page, coming back to ``next_url`` after a successful login."""
    return f"{LOGIN_PATH}?{urlencode({'next': next_url}, quote_via=quote)}"


def page_url(url_path: str, params: dict[str, str]) -> str:
    """A page (its Streamlit ``url_path``: ``""`` for the default) with its query parameters."""
    return page_path(url_path, params)


def safe_next(value: str | None) -> str:
    r"""Where to go after login: a path of this console, else ``/``.

    Refuses anything that could leave the site (``//host``, ``/\host``, a scheme) or loop back
    to the login routes.
    """
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ord(ch) < 0x20 or ch == "\\" for ch in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    if parts.path == LOGIN_PATH or parts.path.startswith("/auth/"):
        return "/"
    return value
