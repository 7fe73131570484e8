"""Delivering notices: a thread in every worker process, beside the orphan sweeper.

Each tick it claims what is due (``NoticeStore.claim``: leased, so two workers never send the
same attempt at once), gives a new notice to every configured sink that takes its kind, and
posts each delivery (``graph.runtime.webhooks``) with a timeout. A failure (an error status, a
refused connection, a timeout) is logged and tried again after a growing wait
(``WAYBILL_NOTIFY_BACKOFF_S``, doubled per attempt) up to ``WAYBILL_NOTIFY_ATTEMPTS``; then the
delivery is marked failed. Runs never wait for any of this: they only write the notice.
"""

from __future__ import annotations

import logging
import threading
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


def _error_text(exc: Exception, sink: WebhookSink) -> str:
    """The error of a failed attempt, without the sink's URL (it may hold a secret)."""
    url = sink.url.get_secret_value()
    message = str(exc).replace(url, f"<{sink.name}>") or "no detail"
    return f"{type(exc).__name__}: {message}"[:300]


class Notifier:
    """Delivers due notices to the configured sinks (see the module's docstring)."""

    def __init__(self, cp: ControlPlane, settings: Settings) -> None:
        self.cp = cp
        self.settings = settings
        self.sinks = {s.name: s for s in settings.webhooks}
        self.base_url = console_base_url(settings)
        self.http = httpx.Client(timeout=settings.notify_timeout_s, follow_redirects=False)

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()

    def tick(self, now: datetime | None = None) -> int:
        """Handle what is due now; returns how many entries were handled."""
        lease = self.settings.notify_timeout_s + 30.0
        due = self.cp.notices.claim(now or utcnow(), lease)
        for member in due:
            notice_id, _, sink = member.partition("|")
            if sink:
                self._deliver(notice_id, sink)
            else:
                self._fan_out(notice_id)
        return len(due)

    def _fan_out(self, notice_id: str) -> None:
        record = self.cp.notices.get(notice_id)
        if record is None:
            self.cp.notices.drop(notice_id)
            return
        kind = record.notice.kind
        names = [n for n, s in self.sinks.items() if not s.events or kind in s.events]
        self.cp.notices.fan_out(notice_id, names)

    def _deliver(self, notice_id: str, name: str) -> None:
        record = self.cp.notices.get(notice_id)
        if record is None:
            self.cp.notices.drop(f"{notice_id}|{name}")
            return
        attempt = self.cp.notices.attempts_made(notice_id, name) + 1
        sink = self.sinks.get(name)
        if sink is None:
            failed = DeliveryAttempt(
                sink=name, attempt=attempt, at=utcnow(), ok=False, error="sink not configured"
            )
            self.cp.notices.record(notice_id, failed)
            return
        self.cp.notices.record(notice_id, self._post(sink, record.notice, attempt))

    def _post(self, sink: WebhookSink, notice: Notice, attempt: int) -> DeliveryAttempt:
        body, headers = request_for(sink, notice, self.base_url)
        headers["X-Waybill-Attempt"] = str(attempt)
        code: int | None = None
        error = ""
        try:
            reply = self.http.post(sink.url.get_secret_value(), content=body, headers=headers)
            code = reply.status_code
            if not 200 <= code < 300:
                error = f"HTTP {code}"
        except Exception as exc:  # any failure of the receiver is a failed attempt, never more
            error = _error_text(exc, sink)
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
