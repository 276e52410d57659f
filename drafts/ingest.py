"""Webhook ingestion: verify a channel's signature, store the event, lead, conversation,
message and attachments, and schedule the pipeline; record a human's reply from another
tool; re-enqueue messages whose pipeline never started.

The hot path (an inbound message) is ONE SQL statement: PostgreSQL runs a statement with
data-modifying CTEs atomically, so in autocommit it is its own transaction and costs one
round trip instead of BEGIN + six statements + COMMIT. Identity fields of a known lead are
only filled where empty; where the payload disagrees with a stored value a pending
`Proposal` is made for the lead's rep instead.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any
from uuid import UUID

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from config.ids import uuid7
from config.tasks import task_publish
from drafts.models import Conversation, InboundEvent, Message
from drafts.signals import human_replied_send
from drafts.webhook_schema import OUTBOUND, WebhookPayload, printable
from workspaces.models import Channel, Membership

# pipeline.tasks.run_for_message, the seam where drafts hands a stored message to the pipeline.
PIPELINE_RUN_TASK = "pipeline.run_for_message"

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
CHANNEL_KEY_MAX_LENGTH = 64  # Channel.key
SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
KEPT_HEADERS = (*SIGNATURE_HEADERS, "content-type", "user-agent")
PROPOSAL_SOURCE = "webhook lead payload"


@dataclass(frozen=True)
class ReceivedWebhook:
    """A request as it arrived: the UTF-8 body, the headers we keep, the peer address."""

    body: str
    headers: dict[str, str]
    remote_addr: str | None


@dataclass(frozen=True)
class Ingested:
    message_id: UUID
    duplicate: bool
    conversation_id: UUID | None = None


# --- Receiving ----------------------------------------------------------------------------


def webhook_channel_get(*, key: str) -> Channel | None:
    """The channel a webhook URL names, with only what verification and storage need.
    Plain SQL: on this path the ORM's query building cost five times the query itself."""
    if not key or len(key) > CHANNEL_KEY_MAX_LENGTH or "\x00" in key:
        return None  # cannot match, and PostgreSQL text cannot even hold a NUL
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, workspace_id, secret, previous_secret, previous_secret_valid_until"
            " FROM workspaces_channel WHERE key = %s",
            [key],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    pk, workspace_id, secret, previous_secret, previous_valid_until = row
    return Channel(
        id=pk,
        workspace_id=workspace_id,
        key=key,
        secret=secret,
        previous_secret=previous_secret,
        previous_secret_valid_until=previous_valid_until,
    )


# Header name → its WSGI `META` key (Content-Type is the one without the HTTP_ prefix).
_META_KEYS = {
    name: "CONTENT_TYPE" if name == "content-type" else "HTTP_" + name.upper().replace("-", "_")
    for name in KEPT_HEADERS
}


def webhook_headers(meta: dict[str, Any]) -> dict[str, str]:
    """The headers an event keeps, by lower-case name, made storable."""
    return {
        name: printable(meta[key])
        for name, key in _META_KEYS.items()
        if isinstance(meta.get(key), str)
    }


def webhook_remote_addr(value: Any) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def webhook_signature_verify(
    *, channel: Channel, received: ReceivedWebhook, now: datetime | None = None
) -> bool:
    """True if any `v1,` signature matches the channel's secret, or its previous secret while
    that is still valid (rotation). The library refuses timestamps more than 5 minutes off."""
    now = now or timezone.now()
    secrets = [channel.secret]
    if (
        channel.previous_secret
        and channel.previous_secret_valid_until is not None
        and channel.previous_secret_valid_until > now
    ):
        secrets.append(channel.previous_secret)
    for secret in secrets:
        try:
            Webhook(secret).verify(received.body, received.headers, json_parse=False)
        # The library lets malformed headers escape as ValueError (bad base64, a signature
        # without a comma) or OverflowError (absurd timestamps): all are a failed signature.
        except (WebhookVerificationError, ValueError, TypeError, OverflowError):
            continue
        return True
    return False


def inbound_event_reject(
    *, channel: Channel, received: ReceivedWebhook, error: str, details: list[dict[str, str]]
) -> InboundEvent:
    """Keep a signed event that could not be used, with the reason, for the admin to read."""
    return InboundEvent.objects.create(
        channel_id=channel.pk,
        webhook_id=received.headers.get("webhook-id", "")[:200],
        headers=received.headers,
        body=_storable_body(received.body),
        remote_addr=received.remote_addr,
        status=InboundEvent.Status.REJECTED,
        error=error,
        details=details,
    )


def webhook_event_ingest(
    *, channel: Channel, received: ReceivedWebhook, payload: WebhookPayload
) -> Ingested:
    """Store a verified event. A message already stored for this channel is a duplicate:
    its id comes back and nothing new is written. Inbound messages get the pipeline after
    commit; outbound ones (a human replied elsewhere) call off automatic replies."""
    if payload.type == OUTBOUND:
        assert payload.sender is not None  # the schema requires it for outbound events
        with transaction.atomic():
            ingested = _event_store(
                channel=channel,
                received=received,
                payload=payload,
                sender_user_id=_member_id_by_email(
                    workspace_id=channel.workspace_id, email=payload.sender.user_email
                ),
            )
            if not ingested.duplicate:
                human_replied_send(
                    conversation_id=ingested.conversation_id, sent_at=payload.message.sent_at
                )
        return ingested
    ingested = _event_store(channel=channel, received=received, payload=payload)
    if not ingested.duplicate:
        transaction.on_commit(partial(pipeline_enqueue, message_id=str(ingested.message_id)))
    return ingested


def pipeline_enqueue(*, message_id: str) -> bool:
    """Publish the pipeline task. A broker outage must not fail the webhook that committed the
    message: the error is logged (ids only) and the sweeper publishes it later. Published by
    name: drafts stands below pipeline and does not import it."""
    return task_publish(
        PIPELINE_RUN_TASK,
        message_id,
        log=logger,
        failed="pipeline enqueue failed; the sweeper will retry",
        message_id=message_id,
    )


# --- Threads belong to their lead ---------------------------------------------------------

THREAD_SHARED_REASON = (
    "Another lead's conversation already uses this thread id: a reply would land in their thread."
)


def thread_shared_hold_reason(*, conversation: Conversation) -> str:
    """Why a draft in this conversation must wait for a person, or "". A sender that reuses
    the thread id of an earlier conversation of another lead on the same channel got a
    conversation of its own at ingest, but the transport would still answer into that shared
    thread id, so nothing is sent there automatically. The earlier conversation keeps its
    thread: a stranger naming it must not switch off auto-send for its lead. Unthreaded
    conversations cost no query."""
    if not conversation.external_id:
        return ""
    earlier_of_another_lead = (
        Conversation.objects.filter(
            channel_id=conversation.channel_id, external_id=conversation.external_id
        )
        .exclude(lead_id=conversation.lead_id)
        .filter(
            Q(created_at__lt=conversation.created_at)
            | Q(created_at=conversation.created_at, id__lt=conversation.pk)
        )
    )
    return THREAD_SHARED_REASON if earlier_of_another_lead.exists() else ""


# --- Storage ------------------------------------------------------------------------------


def _storable_body(body: str) -> str:
    """PostgreSQL text cannot hold NUL; a raw body is kept with NUL shown as U+FFFD."""
    return body.replace("\x00", "\ufffd") if "\x00" in body else body


def _member_id_by_email(*, workspace_id: Any, email: str) -> int | None:
    return (
        Membership.objects.filter(workspace_id=workspace_id, user__email__iexact=email)
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .first()
    )


def _event_store(
    *,
    channel: Channel,
    received: ReceivedWebhook,
    payload: WebhookPayload,
    sender_user_id: int | None = None,
) -> Ingested:
    message, lead, thread = payload.message, payload.lead, payload.thread
    outbound = payload.type == OUTBOUND
    thread_external_id = (thread.external_id if thread else None) or ""
    now = timezone.now()
    params: dict[str, Any] = {
        "workspace_id": channel.workspace_id,
        "channel_id": channel.pk,
        "now": now,
        "lead_id": uuid7(),
        "lead_external_id": lead.external_id,
        "lead_name": lead.name or "",
        "lead_email": lead.email or "",
        "lead_phone": lead.phone or "",
        "conversation_id": uuid7(),
        "thread_external_id": thread_external_id,
        "conversation_subject": (thread.subject if thread else None) or message.subject or "",
        "message_id": uuid7(),
        "message_external_id": message.external_id,
        "direction": Message.Direction.OUTBOUND if outbound else Message.Direction.INBOUND,
        "sender_kind": Message.Sender.USER if outbound else Message.Sender.LEAD,
        "sender_user_id": sender_user_id,
        "sender_email": payload.sender.user_email if outbound and payload.sender else "",
        "subject": message.subject or "",
        "body_text": message.body_text or "",
        "body_html": message.body_html or "",
        "sent_at": message.sent_at,
        "event_id": uuid7(),
        "webhook_id": received.headers.get("webhook-id", "")[:200],
        "event_type": payload.type,
        "headers": json.dumps(received.headers),
        "body": _storable_body(received.body),
        "remote_addr": received.remote_addr,
        "attachments": json.dumps(
            [
                {
                    "file_name": a.file_name,
                    "mime_type": a.mime_type or "",
                    "size_bytes": a.size_bytes,
                    "url": a.url or "",
                }
                for a in message.attachments
            ]
        ),
        "batch_id": uuid7(),
        "proposal_name_id": uuid7(),
        "proposal_email_id": uuid7(),
        "proposal_phone_id": uuid7(),
        "source_text": PROPOSAL_SOURCE,
    }
    with connection.cursor() as cursor:
        cursor.execute(_STORE_THREADED if thread_external_id else _STORE_UNTHREADED, params)
        new_id, conversation_id, known_id = cursor.fetchone()
        if new_id is not None:
            return Ingested(message_id=new_id, duplicate=False, conversation_id=conversation_id)
        if known_id is None:
            # A concurrent delivery of the same message committed first (our insert waited
            # for it and did nothing): read its id now that it is visible.
            cursor.execute(
                "SELECT id FROM drafts_message WHERE channel_id = %s AND external_id = %s",
                [channel.pk, message.external_id],
            )
            (known_id,) = cursor.fetchone()
    return Ingested(message_id=known_id, duplicate=True)


# Every CTE sees the same snapshot; each data-modifying one runs exactly once, and the
# statement commits or fails as a whole. `known` makes a redelivery write nothing at all;
# two copies racing both pass it, and the unique (channel, external_id) lets one insert win.
# A new message on a conversation reopens it (message retention closes quiet ones).
_STORE_SQL = """
WITH
known AS (
    SELECT id FROM drafts_message
    WHERE channel_id = %(channel_id)s AND external_id = %(message_external_id)s
),
lead_before AS (
    SELECT id, name, email, phone FROM workspaces_lead
    WHERE workspace_id = %(workspace_id)s AND external_id = %(lead_external_id)s
),
lead AS (
    INSERT INTO workspaces_lead AS l (
        id, workspace_id, external_id, name, email, phone, company, title, timezone,
        created_at, updated_at)
    SELECT %(lead_id)s, %(workspace_id)s, %(lead_external_id)s, %(lead_name)s, %(lead_email)s,
        %(lead_phone)s, '', '', '', %(now)s, %(now)s
    WHERE NOT EXISTS (SELECT 1 FROM known)
    ON CONFLICT (workspace_id, external_id) DO UPDATE SET
        name = CASE WHEN l.name = '' THEN EXCLUDED.name ELSE l.name END,
        email = CASE WHEN l.email = '' THEN EXCLUDED.email ELSE l.email END,
        phone = CASE WHEN l.phone = '' THEN EXCLUDED.phone ELSE l.phone END,
        updated_at = CASE
            WHEN (l.name = '' AND EXCLUDED.name <> '') OR (l.email = '' AND EXCLUDED.email <> '')
                OR (l.phone = '' AND EXCLUDED.phone <> '')
            THEN EXCLUDED.updated_at ELSE l.updated_at END
    RETURNING id
),
conversation AS (
    INSERT INTO drafts_conversation AS c (
        id, workspace_id, channel_id, lead_id, external_id, subject, status, created_at,
        last_message_at)
    SELECT %(conversation_id)s, %(workspace_id)s, %(channel_id)s, lead.id,
        %(thread_external_id)s, %(conversation_subject)s, 'open', %(now)s, %(sent_at)s
    FROM lead
    ON CONFLICT {conversation_conflict} DO UPDATE SET
        subject = CASE WHEN c.subject = '' THEN EXCLUDED.subject ELSE c.subject END,
        last_message_at = GREATEST(c.last_message_at, EXCLUDED.last_message_at),
        status = 'open'
    RETURNING id
),
message AS (
    INSERT INTO drafts_message (
        id, workspace_id, channel_id, conversation_id, lead_id, direction, sender_kind,
        sender_user_id, sender_email, external_id, subject, body_text, body_html, sent_at,
        received_at, transport_message_id)
    SELECT %(message_id)s, %(workspace_id)s, %(channel_id)s, conversation.id, lead.id,
        %(direction)s, %(sender_kind)s, %(sender_user_id)s, %(sender_email)s,
        %(message_external_id)s, %(subject)s, %(body_text)s, %(body_html)s, %(sent_at)s,
        %(now)s, ''
    FROM lead, conversation
    ON CONFLICT (channel_id, external_id) DO NOTHING
    RETURNING id, conversation_id
),
event AS (
    INSERT INTO drafts_inboundevent (
        id, channel_id, webhook_id, event_type, headers, body, remote_addr, status, error,
        message_id, received_at)
    SELECT %(event_id)s, %(channel_id)s, %(webhook_id)s, %(event_type)s, %(headers)s::jsonb,
        %(body)s, %(remote_addr)s::inet, 'processed', '', message.id, %(now)s
    FROM message
),
attachments AS (
    INSERT INTO drafts_attachment (message_id, file_name, mime_type, size_bytes, url)
    SELECT message.id, a.file_name, a.mime_type, a.size_bytes, a.url
    FROM message, jsonb_to_recordset(%(attachments)s::jsonb)
        AS a(file_name text, mime_type text, size_bytes bigint, url text)
),
proposals AS (
    INSERT INTO drafts_proposal (
        id, workspace_id, lead_id, message_id, batch_id, field, proposed_value, previous_value,
        applied_value, source_text, status, created_at)
    SELECT p.id, %(workspace_id)s, lead_before.id, message.id, %(batch_id)s, p.field,
        p.proposed, p.previous, '', %(source_text)s, 'pending', %(now)s
    FROM message, lead_before, LATERAL (VALUES
        (%(proposal_name_id)s::uuid, 'name', %(lead_name)s, lead_before.name,
            lead_before.name <> %(lead_name)s),
        (%(proposal_email_id)s::uuid, 'email', %(lead_email)s, lead_before.email,
            lower(lead_before.email) <> lower(%(lead_email)s)),
        (%(proposal_phone_id)s::uuid, 'phone', %(lead_phone)s, lead_before.phone,
            regexp_replace(lead_before.phone, '[^0-9+]', '', 'g')
                <> regexp_replace(%(lead_phone)s, '[^0-9+]', '', 'g'))
    ) AS p(id, field, proposed, previous, differs)
    WHERE p.proposed <> '' AND p.previous <> '' AND p.differs
)
SELECT (SELECT id FROM message), (SELECT conversation_id FROM message), (SELECT id FROM known)
"""


def _compact(sql: str) -> str:
    """One line, so psycopg caches its parse of the statement (it skips those over 4 KiB)."""
    return " ".join(line.strip() for line in sql.splitlines() if line.strip())


# The arbiter of each partial unique index on Conversation, spelled as its predicate. A thread
# is keyed by its lead too: another lead naming the same thread id starts a conversation of
# their own instead of joining this one (see `thread_shared_hold_reason`).
_STORE_THREADED = _compact(
    _STORE_SQL.replace(
        "{conversation_conflict}", "(channel_id, external_id, lead_id) WHERE NOT (external_id = '')"
    )
)
_STORE_UNTHREADED = _compact(
    _STORE_SQL.replace("{conversation_conflict}", "(channel_id, lead_id) WHERE external_id = ''")
)
