"""Delivering notices: a thread in every worker process, beside the orphan sweeper.

Each tick it claims what is due (``NoticeStore.claim``: leased, so two workers never send the
same attempt at once), gives a new notice to every sink that takes its kind, and posts each
delivery (``graph.runtime.webhooks``). The deliveries of a tick go out concurrently, and each
attempt has ``WAYBILL_NOTIFY_TIMEOUT_S`` in all (connecting, sending, the reply's headers and
body): a receiver that trickles its reply fails that attempt, without holding up any other
sink. So a tick ends within about that timeout, well inside the claim's lease (``LEASE_S``
more). A failure (an error status, a refused connection, a timeout) is logged and tried again
after a growing wait (``WAYBILL_NOTIFY_BACKOFF_S``, doubled per attempt) up to
``WAYBILL_NOTIFY_ATTEMPTS`` attempts in all; then the delivery is marked failed. Runs never wait
for any of this: they only write the notice.

A notice goes to every sink some worker has (each notifier announces its sinks), and each
worker delivers only to the sinks it has: a delivery to a sink this worker lacks is left to
the workers that have it (pending, and shown so, until one comes), never marked failed here.
Every worker should have the same ``WAYBILL_WEBHOOKS``; one that sees notices for sinks it
lacks says so once per sink.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from graph.runtime.webhooks import request_for, shown
from state.clock import utcnow
from state.control.outage import LoopLog
from state.control.plane import ControlPlane
from state.notices import DeliveryAttempt, Notice
from state.settings import Settings, WebhookSink, console_base_url

log = logging.getLogger(__name__)

TICK_S = 0.5
LEASE_S = 30.0
"""How much longer than one attempt's timeout a claim is leased for."""
ANNOUNCE_S = 60.0
"""How often a notifier says again which sinks it has."""


def _error_text(exc: Exception, sink: WebhookSink) -> str:
    """The error of a failed attempt, without the sink's URL (it may hold a secret)."""
    url = sink.url.get_secret_value()
    message = str(exc).replace(url, f"<{sink.name}>") or "no detail"
    return f"{type(exc).__name__}: {message}"[:300]


@dataclass(frozen=True)
class _Delivery:
    notice: Notice
    sink: WebhookSink
    attempt: int


class Notifier:
    """Delivers due notices to the configured sinks (see the module's docstring)."""

    def __init__(self, cp: ControlPlane, settings: Settings) -> None:
        self.cp = cp
        self.settings = settings
        self.sinks = {s.name: s for s in settings.webhooks}
        self.base_url = console_base_url(settings)
        self.timeout_s = settings.notify_timeout_s
        self.lease_s = self.timeout_s + LEASE_S
        self._loop = asyncio.new_event_loop()
        self.http = httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=False)
        self._announced = -ANNOUNCE_S
        self._warned: set[str] = set()

    def close(self) -> None:
        """Close the HTTP client."""
        self._loop.run_until_complete(self.http.aclose())
        self._loop.close()

    def tick(self, now: datetime | None = None) -> int:
        """Handle what is due now; returns how many entries were handled."""
        self._announce()
        due = self.cp.notices.claim(now or utcnow(), self.lease_s, self.sinks)
        deliveries: list[_Delivery] = []
        for member in due:
            notice_id, _, sink = member.partition("|")
            if not sink:
                self._fan_out(notice_id)
            elif (delivery := self._delivery(notice_id, sink)) is not None:
                deliveries.append(delivery)
        if deliveries:
            self._loop.run_until_complete(self._deliver_all(deliveries))
        return len(due)

    def _announce(self) -> None:
        if time.monotonic() - self._announced < ANNOUNCE_S:
            return
        self.cp.notices.announce({n: list(s.events) for n, s in self.sinks.items()})
        self._announced = time.monotonic()

    def _fan_out(self, notice_id: str) -> None:
        record = self.cp.notices.get(notice_id)
        if record is None:
            self.cp.notices.drop(notice_id)
            return
        kind = record.notice.kind
        known = self.cp.notices.known_sinks()
        known.update({n: list(s.events) for n, s in self.sinks.items()})
        names = [n for n, events in known.items() if not events or kind in events]
        self._warn_of([n for n in names if n not in self.sinks])
        self.cp.notices.fan_out(notice_id, names)

    def _warn_of(self, lacking: list[str]) -> None:
        for name in lacking:
            if name not in self._warned:
                self._warned.add(name)
                log.warning(
                    "notices go to sink %r, which this worker does not have: other workers "
                    "deliver them (give every worker the same WAYBILL_WEBHOOKS)",
                    name,
                )

    def _delivery(self, notice_id: str, name: str) -> _Delivery | None:
        sink = self.sinks.get(name)
        if sink is None:  # found among the new notices (an older version put it there)
            self._warn_of([name])
            self.cp.notices.pass_on(f"{notice_id}|{name}")
            return None
        record = self.cp.notices.get(notice_id)
        if record is None:
            self.cp.notices.drop(f"{notice_id}|{name}")
            return None
        attempt = self.cp.notices.attempts_made(notice_id, name) + 1
        return _Delivery(record.notice, sink, attempt)

    async def _deliver_all(self, deliveries: list[_Delivery]) -> None:
        # Every delivery ends (and is recorded) before an error of one is raised.
        done = await asyncio.gather(*(self._deliver(d) for d in deliveries), return_exceptions=True)
        for outcome in done:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _deliver(self, delivery: _Delivery) -> None:
        done = await self._post(delivery.sink, delivery.notice, delivery.attempt)
        self.cp.notices.record(delivery.notice.id, done)

    async def _post(self, sink: WebhookSink, notice: Notice, attempt: int) -> DeliveryAttempt:
        body, headers = request_for(sink, notice, self.base_url)
        headers["X-Waybill-Attempt"] = str(attempt)
        code: int | None = None
        error = ""
        try:
            # The whole attempt, not each read: httpx's own timeout restarts at every chunk.
            post = self.http.post(sink.url.get_secret_value(), content=body, headers=headers)
            reply = await asyncio.wait_for(post, self.timeout_s)
            code = reply.status_code
            if not 200 <= code < 300:
                error = f"HTTP {code}"
        except TimeoutError:
            error = f"timed out: no complete reply within {self.timeout_s:g}s"
        except Exception as exc:  # any failure of the receiver is a failed attempt, never more
            error = _error_text(exc, sink)
        return self._attempt(sink, notice, attempt, code, error)

    def _attempt(
        self, sink: WebhookSink, notice: Notice, attempt: int, code: int | None, error: str
    ) -> DeliveryAttempt:
        at = utcnow()
        next_at = None
        if error and attempt < self.settings.notify_attempts:
            wait = self.settings.notify_backoff_s * 2 ** (attempt - 1)
            next_at = at + timedelta(seconds=wait)
        if error:
            log.warning(
                "notice %s to %s: attempt %d failed (%s)", notice.id, shown(sink), attempt, error
            )
        return DeliveryAttempt(
            sink=sink.name,
            attempt=attempt,
            at=at,
            ok=not error,
            status_code=code,
            error=error,
            next_at=next_at,
        )

    def run_forever(self, stop: threading.Event) -> None:
        """Tick until ``stop`` is set; an error in a tick is logged and the next tick goes on."""
        said = LoopLog(log, "notification delivery")
        while not stop.wait(TICK_S):
            try:
                while self.tick() and not stop.is_set():
                    pass
            except Exception as exc:
                said.failed(exc)
            else:
                said.ok()


def _notify_forever(url: str, settings: Settings, stop: threading.Event) -> None:
    cp = ControlPlane.from_url(url)
    notifier = Notifier(cp, settings)
    try:
        notifier.run_forever(stop)
    finally:
        notifier.close()
        cp.close()


def start_notifier(url: str, settings: Settings, stop: threading.Event) -> threading.Thread:
    """Deliver notices from a daemon thread of this process until ``stop`` is set."""
    thread = threading.Thread(
        target=_notify_forever, args=(url, settings, stop), name="notifier", daemon=True
    )
    thread.start()
    return thread
