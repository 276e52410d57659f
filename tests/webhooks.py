"""Helpers for webhook tests: payloads as CONTRACTS.md shows them, signed as a sender would."""

from __future__ import annotations

import copy
import json
import time
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

from workspaces.models import Channel

EXAMPLE: dict[str, Any] = {
    "type": "message.inbound",
    "message": {
        "external_id": "m-1",
        "sent_at": "2026-11-22T10:00:00Z",
        "subject": None,
        "body_text": "Hi, what does the pro plan cost?",
        "body_html": None,
        "attachments": [
            {
                "file_name": "a.pdf",
                "mime_type": "application/pdf",
                "size_bytes": 1200,
                "url": "https://files.example.com/a.pdf",
            }
        ],
    },
    "lead": {
        "external_id": "lead-9",
        "name": "Ada Park",
        "email": "ada@example.com",
        "phone": None,
    },
    "thread": {"external_id": "t-1", "subject": "Pricing"},
}


def payload(**sections: Any) -> dict[str, Any]:
    """The contract's example; each keyword replaces or updates (dict) a top-level section."""
    data = copy.deepcopy(EXAMPLE)
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key].update(value)
        elif value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def encode(data: Any) -> bytes:
    return data if isinstance(data, bytes) else json.dumps(data).encode()


def signature_headers(
    secret: str,
    body: bytes,
    *,
    msg_id: str = "msg_1",
    timestamp: int | None = None,
) -> dict[str, str]:
    """Standard Webhooks headers for `body`, signed with the library itself."""
    ts = int(time.time()) if timestamp is None else timestamp
    signature = Webhook(secret).sign(
        msg_id=msg_id, timestamp=datetime.fromtimestamp(ts, tz=UTC), data=body.decode()
    )
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}


def post_signed(
    client: Any, channel: Channel, data: Any, *, headers: dict[str, str] | None = None
) -> Any:
    """POST `data` (a dict, or raw bytes) to the channel's webhook, signed with its secret."""
    body = encode(data)
    signed = signature_headers(channel.secret, body, msg_id=f"msg_{time.monotonic_ns()}")
    return client.post(
        channel.webhook_path,
        data=body,
        content_type="application/json",
        headers={**signed, **(headers or {})},
    )


def queued_tasks() -> list[tuple[str, list[Any]]]:
    """(task name, args) of every task waiting on the real Redis broker's default queue,
    oldest first, read without consuming them."""
    import base64

    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    tasks = []
    for raw in reversed(client.lrange("celery", 0, -1)):  # kombu LPUSHes: newest first
        envelope = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
        tasks.append((envelope["headers"]["task"], args))
    return tasks


def purge_queue() -> None:
    from config.celery import app

    app.control.purge()
