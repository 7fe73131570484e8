"""OpenTelemetry spans of runs, from the typed events, into an in-memory exporter: a run with a
gate revise (its MAST code), a model call (GenAI conventions), an approval that pauses the run
and a second worker that resumes it — one trace, linked across the pause and the workers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agents.llm import use_brain
from agents.procurement.chain import build_chain
from graph.telemetry.tracing import RunTracer, make_setup
from tests.fakes import FakeChatModel, rules_mirror
from tests.integration.protocols.inline import Inline, inline
from tests.integration.runtime import APPROVER, FINANCE
from tests.redis_servers import ServerUnderTest
from tests.unit.conftest import example

pytestmark = pytest.mark.integration


@pytest.fixture
def traced(server: ServerUnderTest) -> Iterator[tuple[Inline, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    box = inline(server.url)
    box.observer = RunTracer(make_setup(SimpleSpanProcessor(exporter)), box.cp)
    yield box, exporter
    box.cp.close()


def _named(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def test_one_trace_across_the_pause_and_two_workers(
    traced: tuple[Inline, InMemorySpanExporter],
) -> None:
    box, exporter = traced
    procurement = build_chain()
    model = FakeChatModel(responder=rules_mirror(procurement, procurement.sources()))
    with use_brain(model, agents={"intake"}):
        record = box.service.submit(
            "procurement", example("large_order"), who=APPROVER, inject="bad_extraction"
        )
    assert box.cp.runs.get(record.run_id).status == "waiting"
    [esc] = box.cp.escalations.for_run(record.run_id)
    box.worker = "w-b"  # another worker takes the run up after the human's decision
    box.service.decide(esc.escalation_id, "approve", who=FINANCE, comment="ok")
    assert box.cp.runs.get(record.run_id).status == "succeeded"

    spans = exporter.get_finished_spans()
    assert len({s.context.trace_id for s in spans}) == 1  # one trace for the whole run
    [root] = _named(spans, "run procurement")
    assert root.parent is None
    assert root.attributes is not None
    assert root.attributes["waybill.run.status"] == "succeeded"
    first, second = _named(spans, "execute procurement")
    for segment in (first, second):
        assert segment.parent is not None
        assert segment.parent.span_id == root.context.span_id
    assert (first.attributes or {})["waybill.worker"] == "w-a"
    assert (second.attributes or {})["waybill.worker"] == "w-b"
    assert [link.context.span_id for link in second.links] == [first.context.span_id]

    gate = _named(spans, "gate intake->inventory")[0]
    attrs = gate.attributes or {}
    assert attrs["waybill.gate.decision"] == "revise"
    assert "FM-1.1" in tuple(attrs["waybill.gate.mast"])  # type: ignore[arg-type]
    assert "quantity_in_request" in tuple(attrs["waybill.gate.failed_checks"])  # type: ignore[arg-type]
    assert gate.parent is not None
    assert gate.parent.span_id == first.context.span_id

    [human] = _named(spans, "human decision")
    assert (human.attributes or {})["waybill.human.action"] == "approve"
    assert (human.attributes or {})["waybill.human.user"] == FINANCE.name
    assert human.parent is not None
    assert human.parent.span_id == second.context.span_id
    assert [link.context.span_id for link in human.links] == [first.context.span_id]

    [action] = _named(spans, "action place_order")
    assert (action.attributes or {})["waybill.action.status"] == "executed"
    assert (action.attributes or {})["waybill.action.decided_by"] == FINANCE.name

    chats = _named(spans, "chat fake")
    assert chats, "the intake agent's model calls follow the GenAI conventions"
    chat = chats[0].attributes or {}
    assert chat["gen_ai.operation.name"] == "chat"
    assert chat["gen_ai.request.model"] == "fake"
    assert chat["gen_ai.usage.input_tokens"] == 7
