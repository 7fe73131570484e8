"""A person's words have a cap: a kill or hold reason, or a decision's comment, over
``MAX_NOTE_CHARS`` is refused in one line by the run service (so from every entry point), and
nothing is tripped, decided or copied (an MCP kill with a 3 MB reason was accepted, then sent
in every webhook body)."""

from __future__ import annotations

import pytest

from graph.runtime.principal import ServiceError
from graph.runtime.sizes import MAX_NOTE_CHARS
from tests.integration.protocols.inline import inline
from tests.integration.runtime import ADMIN, FINANCE
from tests.redis_servers import ServerUnderTest
from tests.unit.conftest import example

pytestmark = pytest.mark.integration
LONG = "x" * (MAX_NOTE_CHARS + 1)


def test_long_reasons_and_comments_are_refused_and_change_nothing(
    server: ServerUnderTest,
) -> None:
    box = inline(server.url)
    record = box.service.submit("procurement", example("large_order"), who=FINANCE)
    assert box.cp.runs.get(record.run_id).status == "waiting"
    [esc] = box.cp.escalations.for_run(record.run_id)
    refusal = f"is {MAX_NOTE_CHARS + 1:,} characters; the limit is {MAX_NOTE_CHARS:,}"
    with pytest.raises(ServiceError, match=f"a kill reason {refusal}"):
        box.service.kill("run", record.run_id, who=ADMIN, reason=LONG)
    with pytest.raises(ServiceError, match=f"a hold reason {refusal}"):
        box.service.hold("workflow", "procurement", who=ADMIN, reason=LONG)
    with pytest.raises(ServiceError, match=f"a decision's comment {refusal}"):
        box.service.decide(esc.escalation_id, "approve", who=FINANCE, comment=LONG)
    assert box.cp.kills.list(kind=None) == []
    assert box.cp.escalations.get(esc.escalation_id, run_id=record.run_id).pending
    assert box.cp.runs.get(record.run_id).status == "waiting"
    box.service.kill("run", record.run_id, who=ADMIN, reason="y" * MAX_NOTE_CHARS)
    assert box.cp.runs.get(record.run_id).status == "killed"
