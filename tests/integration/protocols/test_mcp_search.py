"""The MCP server's tools in process: its run search folds text as the console's search does;
a revoked token stops it acting."""

from __future__ import annotations

import pytest

from console.mcp.tools import Oversight
from console.operator import token_principal
from graph.runtime.principal import Forbidden, ServiceError
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


def test_numeric_arguments_out_of_range_are_refused(server: ServerUnderTest) -> None:
    """``search_runs`` with a limit of 0 or -3 returned one run: every count is checked."""
    svc, cp, _ = service(server.url)
    cp.runs.create_many(
        [NewRun(run_id=f"r-{i}", workflow="procurement", input_summary="x") for i in range(3)]
    )
    tools = Oversight(cp, svc, APPROVER)
    for limit in (0, -3, 501):
        with pytest.raises(ServiceError, match=f"limit must be between 1 and 500, not {limit}"):
            tools.search_runs("procurement", limit=limit)
        with pytest.raises(ServiceError, match="limit must be between 1 and 500"):
            tools.list_runs(limit=limit)
        with pytest.raises(ServiceError, match="limit must be between 1 and 500"):
            tools.pending(limit=limit)
    with pytest.raises(ServiceError, match="scan must be between 1 and 10000, not 0"):
        tools.search_runs("procurement", scan=0)
    with pytest.raises(ServiceError, match="offset must be between 0 and"):
        tools.list_runs(offset=-1)
    with pytest.raises(ServiceError, match="last must be between 1 and 10000, not 0"):
        tools.timeline("r-0", last=0)
    assert len(tools.search_runs("procurement", limit=1)) == 1
    assert len(tools.search_runs("procurement", limit=500)) == 3
    cp.close()
