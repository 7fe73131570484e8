"""``waybill run`` on Redis: submit the run, follow its events, answer its escalations.

The run executes on a worker when one listens on the queue, else in this process; either way
its state is checkpointed in Redis and ``waybill show RUN`` can follow it from elsewhere. It
is started, and its escalations answered, by the user of the API token in ``WAYBILL_TOKEN``
(``console.cli.identity``), checked like a console user: under four eyes that user cannot
approve the run's own actions, which then wait for someone else (exit code 6).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from console.cli.backend import Backend, open_backend
from console.cli.deciding import EXIT_CODES, Asker, decide_hint, make_decider
from console.cli.errors import CliError
from console.cli.follow import follow
from console.cli.identity import acting_user
from console.cli.interrupted import interrupted, leave_now, stops_interrupt
from console.timeline import approval_note, describe_escalation
from console.visible import visible
from graph.runtime.deciding import decides
from graph.runtime.principal import SYSTEM, Forbidden, Principal
from graph.runtime.service import RunService
from state.control.errors import ControlPlaneError
from state.control.models import Escalation
from state.decisions import EscalationRequest


def pending_escalation(escalations: list[Escalation]) -> Escalation | None:
    """The one undecided escalation of a run, if any."""
    return next((e for e in escalations if e.decision is None), None)


def run_on_redis(args: argparse.Namespace, request: dict[str, Any]) -> int:
    """Submit the run, follow it to its end or first unanswered question; the exit code."""
    with open_backend() as backend:
        who = acting_user(backend, args.user)
        decide = make_decider(args, who.name)
        service = backend.service()
        workers = backend.workers_listening()
        where = f"{workers} worker(s)" if workers else "this process (no worker is listening)"
        record = service.submit(
            args.workflow, request, who=who, inject=args.inject, run_id=args.run_id
        )
        print(f"waybill: run {record.run_id} of {args.workflow} queued; executing on {where}")
        try:
            with stops_interrupt():
                code = _follow_and_answer(args, backend, service, record.run_id, who, decide)
        except KeyboardInterrupt:
            code = interrupted(backend, record.run_id)
    if backend.leave_inline:
        leave_now(code)  # a node still inside one of our threads must not hold the exit up
    return code


def _follow_and_answer(
    args: argparse.Namespace,
    backend: Backend,
    service: RunService,
    run_id: str,
    who: Principal,
    decide: Asker | None,
) -> int:
    """Follow the run, answering its escalations (with ``decide``, else it stops at the first
    one); the exit code."""
    after = "0-0"
    deadline = time.monotonic() + args.timeout
    while True:
        record, after = follow(
            backend.cp,
            run_id,
            after=after,
            still_running=backend.inline_busy,
            stalled=lambda: backend.nothing_executing(run_id),
            timeout=max(0.0, deadline - time.monotonic()),
        )
        if record.status != "waiting":
            if record.status == "killed" and backend.inline_busy():
                # A node that outlived the kill's grace is fenced out: it ends with this process.
                backend.leave_inline = True
            reason = f" ({record.reason})" if record.reason else ""
            print(visible(f"run {record.run_id}: {record.status}{reason}"))
            return EXIT_CODES.get(record.status, 1)
        esc = pending_escalation(backend.cp.escalations.for_run(record.run_id))
        if esc is None:
            time.sleep(0.2)
            continue
        req = EscalationRequest.model_validate(
            {k: v for k, v in esc.request.items() if k != "interrupt_id"}
        )
        if esc.kind == "veto" and req.deadline is not None and decide is None:
            _wait_out_veto(service, esc, req, args.timeout, deadline)
            continue
        if decide is None:
            for line in describe_escalation(req):
                print(line)
            hint = decide_hint(record.run_id, req.allowed)
            print(f"run {record.run_id}: waiting for a decision ({hint})")
            return EXIT_CODES["waiting"]
        decision = decide(req)
        if not _decide(service, esc, decision.action, who, decision.comment, decision.edited):
            print(f"run {record.run_id}: waiting for a decision by someone else")
            return EXIT_CODES["waiting"]


def _wait_out_veto(
    service: RunService, esc: Escalation, req: EscalationRequest, timeout: float, until: float
) -> None:
    """No veto from here: wait for the window to end, then let the action run (as the
    system), unless ``--timeout`` (ending at monotonic time ``until``) ends the following
    first."""
    assert req.deadline is not None
    for line in describe_escalation(req):
        print(line)
    wait = max(0.0, req.deadline.timestamp() - time.time())
    print(f"  veto window: proceeding in {wait:.0f}s unless vetoed elsewhere")
    if wait > until - time.monotonic():
        time.sleep(max(0.0, until - time.monotonic()))
        raise CliError(
            f"stopped following after {timeout:g}s: run {esc.run_id} is in its veto window; "
            f"it goes on at {req.deadline:%H:%M:%S} UTC unless vetoed (`waybill decide "
            f"{esc.run_id} --veto`; a worker ends the window: `waybill worker`)"
        )
    time.sleep(wait)
    _decide(service, esc, "approve", SYSTEM, "no veto within the window", None)


def _decide(
    service: RunService,
    esc: Escalation,
    action: str,
    who: Principal,
    comment: str,
    edited: dict[str, Any] | None,
) -> bool:
    """Decide; False when ``who`` may not (four eyes, another group) or only added one of
    several approvals: the run then waits for others."""
    try:
        decided = service.decide(
            esc.escalation_id,
            action,
            who=who,
            comment=comment,
            edited=edited,
            run_id=esc.run_id,
        )
    except ControlPlaneError as exc:
        print(visible(f"  decision not taken: {exc}"))
        return True
    except Forbidden as exc:
        print(visible(f"  decision not taken: {exc}"))
        return False
    if not decides(decided, who.name):
        print(f"  {approval_note(decided, who.name)}")
        return decided.decision is not None
    return True
