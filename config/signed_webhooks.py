"""Sending one Standard Webhooks-signed POST: the one way Replydesk calls a receiver (channel
reply transports, workflow webhooks). The address goes through `config.netguard` first and
the connection is pinned to the vetted address; redirects are never followed (a 3xx is an
answer like any other non-2xx)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from standardwebhooks.webhooks import Webhook

from config.netguard import (
    OutboundRefused,
    OutboundUnresolvable,
    outbound_target,
    pinned_connection,
)

Failure = Literal["refused", "connect", "answer"]


@dataclass(frozen=True)
class PostResult:
    """What happened. `failure` says where it stopped: "refused" (the outbound guard refused
    the URL: permanent, `reason` says why), "connect" (nothing was sent), "answer" (the request
    went out, or partly, and no answer came back: the receiver may have it). `status` and
    `body` are the receiver's answer, if any."""

    status: int | None = None
    failure: Failure | None = None
    error_type: str = ""
    body: bytes = b""
    reason: str = ""

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
    try:
        target = outbound_target(url)
    except OutboundRefused as exc:
        return PostResult(failure="refused", reason=str(exc))
    except OutboundUnresolvable:
        return PostResult(failure="connect", error_type="gaierror")
    now = now or datetime.now(UTC)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": user_agent,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id=msg_id, timestamp=now, data=body),
    }
    conn = pinned_connection(target, timeout=timeout)
    try:
        # Connecting (and the TLS handshake) sends nothing: a failure there is "connect".
        try:
            conn.connect()
        except Exception as exc:  # refused, unreachable, TLS, a soft time limit
            return PostResult(failure="connect", error_type=type(exc).__name__)
        try:
            conn.request("POST", target.path, body=body.encode("utf-8"), headers=headers)
            response = conn.getresponse()
            answer = response.read(answer_limit)
        except Exception as exc:  # timed out, reset, malformed answer, a soft time limit
            return PostResult(failure="answer", error_type=type(exc).__name__)
        return PostResult(status=response.status, body=answer)
    finally:
        conn.close()
