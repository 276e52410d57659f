"""How a reply leaves: one interface, `send(channel, payload, idempotency_key)`, per transport.

Every transport says precisely how it failed, because delivery depends on it: `NotSent` when
nothing can have reached the receiver (connection refused, the receiver refused the message),
`OutcomeUnknown` when something may have (a timeout after the request was written). Neither
is retried automatically. An outbound URL the guard (`config.netguard`) refuses, e.g. a
private address, is `NotSent` with the guard's reason. The idempotency key is the draft id:
the email Message-ID and the webhook id are derived from it, so a receiver can drop a
duplicate.
"""

from __future__ import annotations

import json
import logging
import smtplib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from django.conf import settings
from django.core import mail
from django.core.mail import EmailMessage

from config.signed_webhooks import signed_post
from workspaces.models import Channel, Transport

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboundPayload:
    """What a transport needs to deliver one reply; built by delivery from the database."""

    text: str
    subject: str = ""
    to_email: str = ""
    to_phone: str = ""
    lead_external_id: str = ""
    lead_name: str = ""
    thread_external_id: str = ""
    # The external id of the message we answer, and of earlier ones in the thread (oldest first).
    in_reply_to: str = ""
    references: tuple[str, ...] = field(default=())
    outbound_external_id: str = ""


@dataclass(frozen=True)
class TransportResult:
    transport_message_id: str


class TransportError(Exception):
    """A send did not complete. The message is ours (ids and codes), never the text sent."""


class NotSent(TransportError):
    """Nothing can have reached the receiver."""


class OutcomeUnknown(TransportError):
    """The receiver may have the message: never send it again automatically."""


class MessageTransport(Protocol):
    def send(
        self, channel: Channel, payload: OutboundPayload, idempotency_key: str
    ) -> TransportResult: ...


# --- Email --------------------------------------------------------------------------------


def as_message_id(external_id: str) -> str:
    """An external id as an RFC 5322 msg-id: `<…>`, with nothing that could break a header."""
    core = "".join(ch for ch in external_id if ch.isprintable() and not ch.isspace())
    core = core.strip("<>").replace("<", "").replace(">", "")
    return f"<{core}>" if core else ""


def reply_subject(subject: str) -> str:
    subject = " ".join(subject.split())
    if not subject:
        return "Re: your message"
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def email_message_id(idempotency_key: str, from_email: str) -> str:
    domain = from_email.rsplit("@", 1)[-1].strip(" >") if "@" in from_email else ""
    return f"<replydesk.{idempotency_key}@{domain or 'replydesk.localhost'}>"


class EmailTransport:
    """Django's configured mailer (`MAILERS["default"]`, from EMAIL_URL), threaded as a reply."""

    def build(
        self, channel: Channel, payload: OutboundPayload, idempotency_key: str
    ) -> EmailMessage:
        if not payload.to_email:
            raise NotSent("the lead has no email address")
        from_email = channel.from_address or settings.DEFAULT_FROM_EMAIL
        headers = {"Message-ID": email_message_id(idempotency_key, from_email)}
        parent = as_message_id(payload.in_reply_to)
        references = [as_message_id(r) for r in payload.references]
        references = [r for r in dict.fromkeys([*references, parent]) if r and r != parent]
        if parent:
            headers["In-Reply-To"] = parent
            headers["References"] = " ".join([*references[-9:], parent])
        message = EmailMessage(
            subject=reply_subject(payload.subject),
            body=payload.text,
            from_email=from_email,
            to=[payload.to_email],
            headers=headers,
        )
        try:
            message.message()  # header injection, bad addresses: refused before any connection
        except (ValueError, TypeError) as exc:
            raise NotSent(f"the message could not be built ({type(exc).__name__})") from exc
        return message

    def send(
        self, channel: Channel, payload: OutboundPayload, idempotency_key: str
    ) -> TransportResult:
        message = self.build(channel, payload, idempotency_key)
        mailer = mail.mailers["default"]
        try:
            mailer.open()
        except (OSError, smtplib.SMTPException) as exc:
            raise NotSent(f"mail server unavailable ({type(exc).__name__})") from exc
        try:
            sent = mailer.send_messages([message])
        except (
            smtplib.SMTPRecipientsRefused,
            smtplib.SMTPSenderRefused,
            smtplib.SMTPDataError,
        ) as exc:
            code = getattr(exc, "smtp_code", "")
            raise NotSent(f"mail server refused the message ({type(exc).__name__} {code})") from exc
        except Exception as exc:
            raise OutcomeUnknown(f"mail send interrupted ({type(exc).__name__})") from exc
        finally:
            try:
                mailer.close()
            except Exception:
                logger.warning("autosend.email: closing the mail connection failed")
        if not sent:
            raise NotSent("the mail backend accepted nothing")
        return TransportResult(transport_message_id=message.extra_headers["Message-ID"])


# --- Signed HTTP webhook (sms, chat) --------------------------------------------------------


def webhook_body(payload: OutboundPayload, sent_at: datetime) -> str:
    """The outbound event, mirroring the inbound webhook contract."""
    return json.dumps(
        {
            "type": "message.outbound",
            "message": {
                "external_id": payload.outbound_external_id,
                "sent_at": sent_at.isoformat().replace("+00:00", "Z"),
                "subject": payload.subject or None,
                "body_text": payload.text,
                "in_reply_to": payload.in_reply_to or None,
            },
            "lead": {
                "external_id": payload.lead_external_id,
                "name": payload.lead_name or None,
                "email": payload.to_email or None,
                "phone": payload.to_phone or None,
            },
            "thread": {"external_id": payload.thread_external_id or None},
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


class WebhookTransport:
    """POST to the channel's outbound URL, signed per Standard Webhooks with its outbound
    secret; `webhook-id` is the idempotency key so the receiver can drop a redelivery."""

    def send(
        self, channel: Channel, payload: OutboundPayload, idempotency_key: str
    ) -> TransportResult:
        if not channel.outbound_secret:
            raise NotSent("the channel has no outbound secret")
        if not channel.outbound_url:
            raise NotSent("the channel has no outbound URL")
        now = datetime.now(UTC)
        result = signed_post(
            url=channel.outbound_url,
            secret=channel.outbound_secret,
            msg_id=idempotency_key,
            body=webhook_body(payload, now),
            timeout=settings.AUTO_SEND_WEBHOOK_TIMEOUT_SECONDS,
            user_agent="Replydesk-Outbound/1",
            now=now,
        )
        if result.failure == "refused":
            raise NotSent(result.reason)  # the outbound guard: nothing was sent
        if result.failure == "connect":
            raise NotSent(f"could not connect ({result.error_type})")
        if result.failure == "answer":
            raise OutcomeUnknown(f"no answer from the receiver ({result.error_type})")
        if not result.ok:
            raise NotSent(f"the receiver answered HTTP {result.status}")
        return TransportResult(transport_message_id=_receiver_id(result.body) or idempotency_key)


def _receiver_id(answer: bytes) -> str:
    try:
        data = json.loads(answer or b"null")
    except ValueError:
        return ""
    if isinstance(data, dict):
        for key in ("id", "message_id"):
            if isinstance(data.get(key), str | int):
                return str(data[key])[:500]
    return ""


# --- Log (demo) ---------------------------------------------------------------------------


class LogTransport:
    """Records that a reply would have gone out (ids only), and nothing more."""

    def send(
        self, channel: Channel, payload: OutboundPayload, idempotency_key: str
    ) -> TransportResult:
        logger.info(
            "autosend.log_transport: reply recorded",
            extra={"draft_id": idempotency_key, "channel_id": str(channel.pk)},
        )
        return TransportResult(transport_message_id=f"log:{idempotency_key}")


TRANSPORTS: dict[str, MessageTransport] = {
    Transport.EMAIL: EmailTransport(),
    Transport.WEBHOOK: WebhookTransport(),
    Transport.LOG: LogTransport(),
}


def transport_send(
    *, channel: Channel, payload: OutboundPayload, idempotency_key: str
) -> TransportResult:
    transport = TRANSPORTS.get(channel.transport)
    if transport is None:
        raise NotSent(f"unknown transport {channel.transport!r}")
    return transport.send(channel, payload, idempotency_key)
