"""The metrics of decisions and the series known before any event: a deadline's default is not
a human decision (``waybill_system_decisions``, not ``waybill_human_decisions`` nor the
time-to-decision histogram), and a fresh ``waybill metrics`` shows every known series at 0."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.runtime.principal import DEADLINE
from graph.telemetry.counting import MetricsRecorder
from state.control.metrics import MetricCounters
from state.control.plane import ControlPlane
from tests.integration.protocols.inline import inline
from tests.integration.protocols.test_otlp_and_metrics import metrics_endpoint, scrape
from tests.integration.runtime import FINANCE
from tests.redis_servers import ServerUnderTest
from tests.unit.conftest import example

pytestmark = pytest.mark.integration


def test_a_deadlines_default_is_counted_apart_from_human_decisions(
    server: ServerUnderTest,
) -> None:
    box = inline(server.url, observer=MetricsRecorder(ControlPlane.from_url(server.url)))
    for who in (DEADLINE, FINANCE):
        record = box.service.submit("procurement", example("large_order"), who=FINANCE)
        assert box.cp.runs.get(record.run_id).status == "waiting"
        [esc] = box.cp.escalations.for_run(record.run_id)
        box.service.decide(esc.escalation_id, "reject", who=who, comment="")
        assert box.cp.runs.get(record.run_id).status == "rejected"
    stored = MetricCounters(box.cp.client).samples()
    decisions = {
        (s.metric, s.labels.get("by", "-"), s.labels["action"], s.value)
        for s in stored
        if s.metric in ("waybill_human_decisions", "waybill_system_decisions")
    }
    assert decisions == {
        ("waybill_human_decisions", "-", "reject", 1.0),
        ("waybill_system_decisions", "deadline", "reject", 1.0),
    }
    waited = [s.value for s in stored if s.labels.get("le") == "+Inf"]
    assert waited == [1.0]  # the time to the human's decision only


def test_a_fresh_metrics_endpoint_shows_the_known_series_at_zero(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    endpoint, url = metrics_endpoint(server.url, tmp_path)
    try:
        samples = scrape(url)
    finally:
        endpoint.terminate()
        endpoint.communicate(timeout=10)
    w = 'workflow="procurement"'
    for name in (
        f'waybill_runs{{status="succeeded",{w}}}',
        f'waybill_runs{{status="killed",{w}}}',
        f'waybill_gate_verdicts_total{{decision="block",{w}}}',
        f'waybill_gate_mast_total{{code="FM-3.3",decision="escalate",{w}}}',
        f'waybill_actions_total{{action="place_order",status="executed",{w}}}',
        f'waybill_human_decisions_total{{action="approve",kind="gate",{w}}}',
        f'waybill_system_decisions_total{{action="reject",by="deadline",kind="action",{w}}}',
        f'waybill_escalation_decision_seconds_bucket{{kind="gate",le="+Inf",{w}}}',
        f'waybill_escalation_decision_seconds_bucket{{kind="action",le="5.0",{w}}}',
        f'waybill_escalation_decision_seconds_count{{kind="gate",{w}}}',
    ):
        assert samples.get(name) == 0.0, name
