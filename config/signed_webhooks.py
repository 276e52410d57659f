"""Sending one Standard Webhooks-signed POST: the one way Replydesk calls a receiver (channel
reply transports, workflow webhooks)."""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

from standardwebhooks.webhooks import Webhook

Failure = Literal["url", "connect", "answer"]


@dataclass(frozen=True)
class PostResult:
    """What happened. `failure` says where it stopped: "url" (not http(s)), "connect"
    (nothing was sent), "answer" (the request went out, or partly, and no answer came back:
    the receiver may have it). `status` and `body` are the receiver's answer, if any."""

    status: int | None = None
    failure: Failure | None = None
    error_type: str = ""
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def signed_post(
    *,
    url: str,
    secret: str,
    msg_id: str,
    body: str,
    timeout: float,
    user_agent: str,
    now: datetime | None = None,
    answer_limit: int = 64 * 1024,
) -> PostResult:
    """POST `body` with `webhook-id` = `msg_id` (receivers dedupe on it) and a signature made
    with `secret`. Never raises for network trouble: the result says where it failed, so
    callers can tell "never sent" from "outcome unknown"."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return PostResult(failure="url")
    now = now or datetime.now(UTC)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": user_agent,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id=msg_id, timestamp=now, data=body),
    }
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    conn = connection_class(parts.hostname, parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        # Connecting (and the TLS handshake) sends nothing: a failure there is "connect".
        try:
            conn.connect()
        except Exception as exc:  # refused, unreachable, TLS, a soft time limit
            return PostResult(failure="connect", error_type=type(exc).__name__)
        try:
            conn.request("POST", path, body=body.encode("utf-8"), headers=headers)
            response = conn.getresponse()
            answer = response.read(answer_limit)
        except Exception as exc:  # timed out, reset, malformed answer, a soft time limit
            return PostResult(failure="answer", error_type=type(exc).__name__)
        return PostResult(status=response.status, body=answer)
    finally:
        conn.close()
