"""Webhook messages: a notice as a generic signed JSON body, or as a Slack incoming webhook.

Generic: the notice's fields plus ``link`` (the console's base URL and the notice's path), as
JSON; with a sink ``secret``, ``X-Waybill-Signature: sha256=<hex>`` is the HMAC-SHA256 of
``<X-Waybill-Timestamp>.<body>`` under it (verify it, and reject old timestamps, before trusting
a request). ``X-Waybill-Event`` names the kind and ``X-Waybill-Delivery`` the notice (the same
on every retry: dedup on it). Slack: ``text`` with the link, and the details in a section block;
``&``, ``<`` and ``>`` are escaped, so a workflow's text cannot become a link or a mention there.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlsplit

from state.links import absolute
from state.notices import Notice
from state.settings import WebhookSink

SIGNATURE = "X-Waybill-Signature"
TIMESTAMP = "X-Waybill-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: the HMAC-SHA256 of ``<timestamp>.<body>`` under ``secret``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Whether ``signature`` is ours for this body and timestamp (constant-time)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def generic_body(notice: Notice, base_url: str) -> dict[str, Any]:
    """The generic webhook's JSON object."""
    data: dict[str, Any] = notice.model_dump(mode="json")
    data["link"] = absolute(base_url, notice.link)
    return data


def slack_escape(value: str) -> str:
    """Text safe inside a Slack message (no links, mentions or formatting by accident)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(notice: Notice, base_url: str) -> dict[str, Any]:
    """A Slack incoming-webhook message: the title with a link, the details as a block."""
    link = absolute(base_url, notice.link)
    title = slack_escape(notice.title)
    details = [slack_escape(line) for line in notice.lines]
    if notice.deciders is not None:
        who = notice.deciders
        names = ", ".join(who.users) or "nobody in the group yet"
        fallback = " (or an admin)" if who.admins_fallback else ""
        details.append(slack_escape(f"who may decide: {names}{fallback}"))
    text = f"{title} <{link}|Open in Waybill>"
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    if details:
        body = "\n".join(details)[:2900]
        blocks.append({"type": "section", "text": {"type": "plain_text", "text": body}})
    return {"text": text, "blocks": blocks}


def request_for(sink: WebhookSink, notice: Notice, base_url: str) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one delivery of ``notice`` to ``sink``."""
    data = (
        slack_body(notice, base_url) if sink.format == "slack" else generic_body(notice, base_url)
    )
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "waybill-notifier",
        "X-Waybill-Event": notice.kind,
        "X-Waybill-Delivery": notice.id,
        TIMESTAMP: timestamp,
    }
    if sink.secret is not None:
        headers[SIGNATURE] = sign(sink.secret.get_secret_value(), timestamp, body)
    return body, headers


def shown(sink: WebhookSink) -> str:
    """How a sink appears in logs and pages: its name and host, never its path or secret."""
    host = urlsplit(sink.url.get_secret_value()).hostname or "?"
    return f"{sink.name} ({sink.format}, {host})"
