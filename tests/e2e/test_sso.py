"""Browser journey: the console signs people in with an OpenID Connect provider (Streamlit's
``st.login``), here a real one on loopback (``tests.oidc_provider``): the role comes from the
user store by e-mail, an e-mail with no user gets no access, password logins are off, and
sign-in, actions and logout are audited under the console user's name."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect

from console.launch import console_command, stop_all
from graph.runtime.principal import Principal
from state.control.connection import connect
from state.control.plane import ControlPlane
from state.control.users import ScryptParams, UserStore
from tests.e2e.conftest import MODULES, PASSWORD, ROOT, spawn, wait_health
from tests.e2e.helpers import LARGE_ORDER, service
from tests.e2e.pages import settle, start_run
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider, Person
from tests.redis_servers import ServerUnderTest, free_port

pytestmark = pytest.mark.e2e
SIGN_IN = "Log in with your identity provider"
DANA = Person("dana@example.com", "Dana")


@dataclass
class Sso:
    url: str
    redis_url: str
    cp: ControlPlane
    users: UserStore
    idp: OidcProvider


@pytest.fixture(scope="module")
def sso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sso]:
    """A console configured for OIDC (an ``[auth]`` secrets section), its provider, a Valkey."""
    tmp = tmp_path_factory.mktemp("sso")
    server = ServerUnderTest("valkey", tmp / "valkey")
    server.start()
    client = connect(server.url)
    users = UserStore(client, params=ScryptParams(n=2**12))
    users.add("dana", "approver", None, email=DANA.email)  # `waybill user add ... --no-password`
    users.add("ana", "admin", PASSWORD)
    port = free_port()
    with OidcProvider() as idp:
        secrets = tmp / "secrets.toml"
        secrets.write_text(
            "[auth]\n"
            f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
            f'cookie_secret = "{os.urandom(16).hex()}"\n'
            f'client_id = "{CLIENT_ID}"\n'
            f'client_secret = "{CLIENT_SECRET}"\n'
            f'server_metadata_url = "{idp.metadata_url}"\n'
        )
        env = {
            **os.environ,
            "REDIS_URL": server.url,
            "WAYBILL_WORKFLOW_MODULES": json.dumps(MODULES),
            "WAYBILL_CONSOLE_URL": f"http://127.0.0.1:{port}",
            "PYTHONPATH": str(ROOT),
        }
        command = [*console_command("127.0.0.1", port), f"--secrets.files={secrets}"]
        console = spawn(command, env, tmp / "console.log")
        url = f"http://127.0.0.1:{port}"
        try:
            wait_health(url, console, tmp / "console.log")
            yield Sso(url, server.url, ControlPlane(client), users, idp)
        finally:
            stop_all([console])
            client.close()
            server.stop()


def _sign_in(page: Page, at: str = "/") -> None:
    page.goto(at)
    page.get_by_role("button", name=SIGN_IN).click()  # to the provider and back


def _logins(sso: Sso, name: str) -> int:
    entries = sso.cp.audit.list(actor=name, action="login")
    return sum(e.details.get("via") == "oidc" for e in entries)


def test_people_sign_in_with_the_identity_provider_and_act_as_their_console_user(
    browser: Browser, sso: Sso
) -> None:
    context = browser.new_context(base_url=sso.url, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    # Password logins are off: the login form and its endpoint are gone.
    assert page.request.get("/login", max_redirects=0).status == 303
    refused = page.request.post("/auth/session", form={"user": "ana", "password": PASSWORD})
    assert refused.status == 404
    assert not sso.cp.audit.list(actor="ana", action="login")

    # Someone the provider knows but the console does not: no access, no pages.
    sso.idp.signs_in = Person("eve@example.com", "Eve")
    _sign_in(page, "/inbox")
    expect(page.get_by_text("Your account has no access to this console yet")).to_be_visible(
        timeout=20_000
    )
    expect(page.get_by_test_id("stSidebar").get_by_role("link", name="Overview")).to_have_count(0)
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name=SIGN_IN)).to_be_visible(timeout=20_000)

    # dana is a console user (approver) by her e-mail.
    sso.idp.signs_in = DANA
    _sign_in(page)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("dana (approver)")).to_be_visible(timeout=20_000)
    assert "/token" in sso.idp.seen  # the code was exchanged at the provider, server side
    page.reload()  # Streamlit's auth cookie keeps her signed in
    settle(page)
    expect(sidebar.get_by_text("dana (approver)")).to_be_visible()
    assert _logins(sso, "dana") == 1  # one sign-in, however many pages it served
    run_id = start_run(page, "procurement")
    starts = sso.cp.audit.list(actor="dana", action="run.start")
    assert [e.target for e in starts] == [run_id]

    # A role change in the user store applies at once.
    sso.users.set_role("dana", "viewer")
    page.reload()
    settle(page)
    expect(sidebar.get_by_text("dana (viewer)")).to_be_visible(timeout=20_000)

    sidebar.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name=SIGN_IN)).to_be_visible(timeout=20_000)
    page.goto("/runs")
    expect(page.get_by_role("button", name=SIGN_IN)).to_be_visible(timeout=20_000)
    assert [e.details["via"] for e in sso.cp.audit.list(actor="dana", action="logout")] == ["oidc"]
    context.close()


def test_a_link_opened_before_sign_in_is_where_the_sign_in_lands(
    browser: Browser, sso: Sso
) -> None:
    run_id = (
        service(sso.cp, sso.redis_url)
        .submit("procurement", LARGE_ORDER, who=Principal("ana", "admin"))
        .run_id
    )
    context = browser.new_context(base_url=sso.url, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    sso.users.set_role("dana", "approver")  # whatever an earlier test left
    sso.idp.signs_in = DANA
    _sign_in(page, f"/run_detail?run={run_id}")  # e.g. a link in a notification
    expect(page.get_by_test_id("stSidebar").get_by_text("dana (approver)")).to_be_visible(
        timeout=20_000
    )
    expect(page).to_have_url(f"{sso.url}/run_detail?run={run_id}")
    expect(page.get_by_text(re.compile(f"run {run_id}\\s+workflow procurement"))).to_be_visible()
    assert "wb_oidc_next" not in {c["name"] for c in context.cookies()}  # used once
    page.get_by_test_id("stSidebar").get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name=SIGN_IN)).to_be_visible(timeout=20_000)
    _sign_in(page, "/")  # from the home page: home, not the old link
    expect(page.get_by_test_id("stSidebar").get_by_text("dana (approver)")).to_be_visible(
        timeout=20_000
    )
    expect(page).to_have_url(f"{sso.url}/")
    context.close()
