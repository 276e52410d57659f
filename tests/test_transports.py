"""Transports against real servers on loopback: an SMTP server (aiosmtpd) and an HTTP server
that verifies the Standard Webhooks signature the way a receiver would."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.test import override_settings
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from autosend.transports import (
    NotSent,
    OutboundPayload,
    OutcomeUnknown,
    as_message_id,
    reply_subject,
    transport_send,
)
from tests.live_processes import free_port
from workspaces.models import Transport

# --- Servers, shared with the delivery tests -------------------------------------------------


class SmtpCollector:
    """aiosmtpd handler: keeps every message; refuses recipients starting with "refused"."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def parsed(self) -> list[email.message.EmailMessage]:
        return [
            email.message_from_bytes(e.content, policy=email.policy.default)  # type: ignore[misc]
            for e in self.envelopes
        ]


@pytest.fixture
def smtp_server():
    collector = SmtpCollector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    mailers = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }
    with override_settings(MAILERS=mailers):
        yield collector
    controller.stop()


class WebhookReceiver:
    """A receiver of outbound webhooks on a real socket. Verifies each request's signature
    with `standardwebhooks`, answers `status`, and can hold the answer (a slow receiver)."""

    def __init__(self, secret: str, *, status: int = 200, hold: float = 0.0) -> None:
        self.secret = secret
        self.status = status
        self.hold = hold
        self.requests: list[dict[str, Any]] = []
        self.received = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    payload = Webhook(receiver.secret).verify(body, headers)
                except WebhookVerificationError:
                    payload = None
                with receiver.lock:
                    receiver.requests.append(
                        {"headers": headers, "body": body, "payload": payload, "path": self.path}
                    )
                receiver.received.set()
                if receiver.hold:
                    receiver.release.wait(receiver.hold)
                status = receiver.status if payload is not None else 401
                answer = json.dumps({"id": f"sms-{len(receiver.requests)}"}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the sender hung up (timed out or was killed)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/outbound?channel=sms"

    def verified(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["payload"] is not None]

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def webhook_receiver(tenant, allow_private_outbound):
    receivers: list[WebhookReceiver] = []

    def start(**kwargs: Any) -> WebhookReceiver:
        receiver = WebhookReceiver(tenant.sms_channel.outbound_secret, **kwargs)
        receivers.append(receiver)
        return receiver

    yield start
    for receiver in receivers:
        receiver.close()


def payload(**overrides: Any) -> OutboundPayload:
    values: dict[str, Any] = {
        "text": "Hi Ada, a 7kW system is about $21,000 before the tax credit.",
        "subject": "Pricing",
        "to_email": "ada@example.com",
        "to_phone": "+15551230000",
        "lead_external_id": "lead-9",
        "lead_name": "Ada Park",
        "thread_external_id": "t-1",
        "in_reply_to": "CAF=m-1@mail.example.com",
        "references": ("first@mail.example.com",),
        "outbound_external_id": "replydesk:draft-1",
    }
    values.update(overrides)
    return OutboundPayload(**values)


# --- Email ----------------------------------------------------------------------------------


def test_email_is_delivered_once_to_a_real_smtp_server_and_threaded(tenant, smtp_server):
    channel = tenant.email_channel
    channel.transport = Transport.EMAIL
    channel.from_address = "solar@acme.example"

    result = transport_send(channel=channel, payload=payload(), idempotency_key="draft-1")

    assert len(smtp_server.envelopes) == 1
    envelope = smtp_server.envelopes[0]
    assert envelope.mail_from == "solar@acme.example"
    assert envelope.rcpt_tos == ["ada@example.com"]
    msg = smtp_server.parsed()[0]
    assert msg["Subject"] == "Re: Pricing"
    assert msg["From"] == "solar@acme.example"
    assert msg["To"] == "ada@example.com"
    assert msg["Message-ID"] == "<replydesk.draft-1@acme.example>"
    assert msg["In-Reply-To"] == "<CAF=m-1@mail.example.com>"
    assert msg["References"] == "<first@mail.example.com> <CAF=m-1@mail.example.com>"
    assert msg.get_content().strip() == payload().text
    assert result.transport_message_id == "<replydesk.draft-1@acme.example>"


def test_email_from_defaults_to_default_from_email(tenant, smtp_server, settings):
    settings.DEFAULT_FROM_EMAIL = "replies@replydesk.example"
    channel = tenant.email_channel
    channel.transport = Transport.EMAIL

    transport_send(channel=channel, payload=payload(references=()), idempotency_key="d-2")

    msg = smtp_server.parsed()[0]
    assert msg["From"] == "replies@replydesk.example"
    assert msg["Message-ID"] == "<replydesk.d-2@replydesk.example>"
    assert msg["References"] == "<CAF=m-1@mail.example.com>"


def test_email_refused_recipient_is_not_sent(tenant, smtp_server):
    channel = tenant.email_channel
    channel.transport = Transport.EMAIL
    with pytest.raises(NotSent, match="refused"):
        transport_send(
            channel=channel, payload=payload(to_email="refused@example.com"), idempotency_key="d"
        )
    assert smtp_server.envelopes == []


def test_email_with_no_server_listening_is_not_sent(tenant):
    channel = tenant.email_channel
    channel.transport = Transport.EMAIL
    mailers = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2},
        }
    }
    with override_settings(MAILERS=mailers), pytest.raises(NotSent, match="unavailable"):
        transport_send(channel=channel, payload=payload(), idempotency_key="d")


def test_email_without_a_lead_address_is_not_sent(tenant, smtp_server):
    channel = tenant.email_channel
    channel.transport = Transport.EMAIL
    with pytest.raises(NotSent, match="no email address"):
        transport_send(channel=channel, payload=payload(to_email=""), idempotency_key="d")
    assert smtp_server.envelopes == []


def test_a_hostile_external_id_cannot_inject_headers(tenant, smtp_server):
    channel = tenant.email_channel
    channel.transport = Transport.EMAIL
    transport_send(
        channel=channel,
        payload=payload(in_reply_to="m-1>\r\nBcc: victim@example.com\r\nX-A: <b"),
        idempotency_key="d",
    )
    msg = smtp_server.parsed()[0]
    assert msg["Bcc"] is None
    assert msg["In-Reply-To"] == "<m-1Bcc:victim@example.comX-A:b>"
    assert smtp_server.envelopes[0].rcpt_tos == ["ada@example.com"]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [("Pricing", "Re: Pricing"), ("RE: Pricing", "RE: Pricing"), ("", "Re: your message")],
)
def test_reply_subject(subject, expected):
    assert reply_subject(subject) == expected


@pytest.mark.parametrize(
    ("external_id", "expected"),
    [("m-1@x.com", "<m-1@x.com>"), ("<m-1@x.com>", "<m-1@x.com>"), (" \r\n", "")],
)
def test_as_message_id(external_id, expected):
    assert as_message_id(external_id) == expected


# --- Signed webhook (sms, chat) ---------------------------------------------------------------


def _webhook_channel(tenant, url: str):
    channel = tenant.sms_channel
    channel.transport = Transport.WEBHOOK
    channel.outbound_url = url
    return channel


def test_webhook_is_signed_and_verified_by_the_receiver(tenant, webhook_receiver):
    receiver = webhook_receiver()
    channel = _webhook_channel(tenant, receiver.url)

    result = transport_send(channel=channel, payload=payload(), idempotency_key="draft-7")

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request["payload"] is not None, "signature did not verify"
    assert request["path"] == "/outbound?channel=sms"
    assert request["headers"]["webhook-id"] == "draft-7"
    assert request["payload"]["type"] == "message.outbound"
    assert request["payload"]["message"]["external_id"] == "replydesk:draft-1"
    assert request["payload"]["message"]["body_text"] == payload().text
    assert request["payload"]["message"]["in_reply_to"] == "CAF=m-1@mail.example.com"
    assert request["payload"]["lead"] == {
        "external_id": "lead-9",
        "name": "Ada Park",
        "email": "ada@example.com",
        "phone": "+15551230000",
    }
    assert result.transport_message_id == "sms-1"


def test_webhook_signed_with_another_secret_fails_verification(tenant, webhook_receiver):
    receiver = webhook_receiver()
    channel = _webhook_channel(tenant, receiver.url)
    channel.outbound_secret = tenant.email_channel.outbound_secret

    with pytest.raises(NotSent, match="HTTP 401"):
        transport_send(channel=channel, payload=payload(), idempotency_key="d")
    assert len(receiver.requests) == 1
    assert receiver.verified() == []


def test_webhook_error_answer_is_not_sent(tenant, webhook_receiver):
    receiver = webhook_receiver(status=500)
    channel = _webhook_channel(tenant, receiver.url)
    with pytest.raises(NotSent, match="HTTP 500"):
        transport_send(channel=channel, payload=payload(), idempotency_key="d")


def test_webhook_connection_refused_is_not_sent(tenant, allow_private_outbound):
    channel = _webhook_channel(tenant, f"http://127.0.0.1:{free_port()}/hook")
    with pytest.raises(NotSent, match="could not connect"):
        transport_send(channel=channel, payload=payload(), idempotency_key="d")


def test_webhook_timeout_after_the_request_was_written_is_unknown(
    tenant, webhook_receiver, settings
):
    settings.AUTO_SEND_WEBHOOK_TIMEOUT_SECONDS = 0.5
    receiver = webhook_receiver(hold=5)
    channel = _webhook_channel(tenant, receiver.url)
    started = time.monotonic()
    with pytest.raises(OutcomeUnknown):
        transport_send(channel=channel, payload=payload(), idempotency_key="d")
    assert time.monotonic() - started < 4
    assert len(receiver.verified()) == 1  # it did arrive: exactly why it must not be resent


def test_webhook_without_url_is_not_sent(tenant):
    channel = _webhook_channel(tenant, "")
    with pytest.raises(NotSent, match="outbound URL"):
        transport_send(channel=channel, payload=payload(), idempotency_key="d")


# --- Log ----------------------------------------------------------------------------------


def test_log_transport_records_ids_not_text(tenant, caplog):
    caplog.set_level(logging.INFO, logger="autosend.transports")
    result = transport_send(channel=tenant.email_channel, payload=payload(), idempotency_key="d-9")
    assert result.transport_message_id == "log:d-9"
    assert any(getattr(r, "draft_id", None) == "d-9" for r in caplog.records)
    assert "7kW" not in caplog.text
    assert "ada@example.com" not in caplog.text
