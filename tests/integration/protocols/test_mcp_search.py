"""The MCP server's tools in process: its run search folds text as the console's search does;
a revoked token stops it acting."""

from __future__ import annotations

import pytest

from console.mcp.tools import Oversight
from console.operator import token_principal
from graph.runtime.principal import Forbidden
from state.control.models import NewRun
from tests.integration.runtime import APPROVER, service
from tests.redis_servers import ServerUnderTest


def test_search_runs_finds_accents_however_typed(server: ServerUnderTest) -> None:
    """``Müller`` typed with a combining mark, in capitals, finds the run (plain lower-casing
    did not: the assistant saw nothing)."""
    svc, cp, _ = service(server.url)
    cp.runs.create_many(
        [
            NewRun(run_id="r-muller", workflow="procurement", input_summary="text=für Müller"),
            NewRun(run_id="r-other", workflow="procurement", input_summary="text=for Muller"),
        ]
    )
    tools = Oversight(cp, svc, APPROVER)
    assert [r.run_id for r in tools.search_runs("MU\u0308LLER")] == ["r-muller"]
    assert [r.run_id for r in tools.search_runs("für")] == ["r-muller"]
    cp.close()


def test_a_revoked_token_stops_the_server_acting_at_its_next_call(server: ServerUnderTest) -> None:
    """``waybill mcp`` re-read the role at every call but not its token: revoked, it went on
    tripping kill switches as its admin."""
    svc, cp, _ = service(server.url)
    token, _info = cp.tokens.issue("ada", "mcp")
    found = token_principal(cp, token, "mcp")
    assert found is not None
    tools = Oversight(cp, svc, found[0], token)
    assert tools.kill_switches() == []
    cp.tokens.revoke_all("ada")
    with pytest.raises(Forbidden, match="was revoked"):
        tools.trip_kill_switch("workflow", "procurement", "after the revoke")
    assert cp.kills.list() == []
    [denied] = cp.audit.list(action="denied")
    assert (denied.actor, denied.details["why"]) == ("ada", "API token revoked")
    cp.close()
