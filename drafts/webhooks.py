"""`POST /webhooks/inbound/{channel_key}` (CONTRACTS.md "Webhooks").

A plain Django view, not ninja: it sits on the hot path and needs the raw body before any
parsing. Checks run cheapest-refusal first: unknown channel 404, too large 413, signature
401 (nothing stored), then JSON and schema 400 (the raw event kept as `rejected`). An early
answer leaves the body unread; `config.request_body.RequestBodyLimitMiddleware` drains it so
the sender sees the 413 (or 404, 401) rather than a reset connection, and leaves the 413 to
this view (`@body_limit_own`), so an unknown channel is a 404 whatever the size.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse, UnreadablePostError
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError

from config.db import POSTGRESQL_REQUIRED, is_postgresql
from config.request_body import body_limit_own, body_too_large_response
from drafts import ingest
from drafts.webhook_schema import WebhookPayload, payload_error_details

READ_CHUNK = 64 * 1024


def _error(status: int, message: str, details: Any = None) -> JsonResponse:
    body: dict[str, Any] = {"error": message}
    if details is not None:
        body["details"] = details
    return JsonResponse(body, status=status)


def _declared_length(request: HttpRequest) -> int | None:
    """Content-Length, 0 when absent without a body; None when unusable. Django reads only
    up to Content-Length, so a chunked body would look empty: it is refused instead."""
    header = request.META.get("CONTENT_LENGTH")
    if not header:
        return None if request.META.get("HTTP_TRANSFER_ENCODING") else 0
    try:
        declared = int(header)
    except ValueError:
        return None
    return declared if declared >= 0 else None


def _read_body(request: HttpRequest) -> bytes | None:
    """At most MAX_BODY_BYTES + 1 bytes (None when over the limit). Django bounds the stream
    by Content-Length; the count of bytes actually read is checked as well."""
    chunks: list[bytes] = []
    size = 0
    while size <= ingest.MAX_BODY_BYTES:
        chunk = request.read(min(READ_CHUNK, ingest.MAX_BODY_BYTES + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return None if size > ingest.MAX_BODY_BYTES else b"".join(chunks)


@csrf_exempt
@body_limit_own
def inbound_webhook(request: HttpRequest, channel_key: str) -> JsonResponse:
    if request.method != "POST":
        response = _error(405, "Use POST.")
        response["Allow"] = "POST"
        return response
    if not is_postgresql():
        # Storing a message is one PostgreSQL statement (drafts/ingest.py).
        return _error(503, POSTGRESQL_REQUIRED)
    channel = ingest.webhook_channel_get(key=channel_key)
    if channel is None:
        return _error(404, "Unknown channel.")

    declared = _declared_length(request)
    if declared is None:
        return _error(411, "A Content-Length header is required (chunked bodies are not read).")
    if declared > ingest.MAX_BODY_BYTES:
        return body_too_large_response(ingest.MAX_BODY_BYTES)
    try:
        raw = _read_body(request)
    except UnreadablePostError:
        return _error(400, "The body could not be read.")
    if raw is None:
        return body_too_large_response(ingest.MAX_BODY_BYTES)
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        # JSON is UTF-8, and the signature library verifies text: nothing to authenticate,
        # so nothing is kept.
        return _error(
            400, "The body is not UTF-8.", [{"field": "body", "message": "must be UTF-8 JSON"}]
        )

    received = ingest.ReceivedWebhook(
        body=body,
        headers=ingest.webhook_headers(request.META),
        remote_addr=ingest.webhook_remote_addr(request.META.get("REMOTE_ADDR")),
    )
    if not ingest.webhook_signature_verify(channel=channel, received=received):
        return _error(401, "Missing, invalid or expired webhook signature.")

    try:
        payload = WebhookPayload.model_validate_json(body)
    except ValidationError as exc:
        details = payload_error_details(exc)
        not_json = any(e["type"] == "json_invalid" for e in exc.errors())
        message = "The body is not JSON." if not_json else "The body does not match the schema."
        ingest.inbound_event_reject(
            channel=channel, received=received, error=message, details=details
        )
        return _error(400, message, details)

    result = ingest.webhook_event_ingest(channel=channel, received=received, payload=payload)
    return JsonResponse(
        {"message_id": str(result.message_id), "duplicate": result.duplicate},
        status=200 if result.duplicate else 202,
    )
