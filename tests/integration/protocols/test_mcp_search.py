"""The MCP server's run search folds text as the console's search does."""

from __future__ import annotations

from console.mcp.tools import Oversight
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
