"""`manage.py demo_messages`: a handful of realistic inbound messages for Demo Co, stored
through the real ingest service (so the worker drafts them), for a populated review queue
after `make run`. Idempotent: the messages have fixed external ids, so a second run stores
nothing new."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from config.db import is_postgresql
from drafts.ingest import ReceivedWebhook, webhook_event_ingest
from drafts.webhook_schema import WebhookPayload
from ops.provisioning import DEMO_LEADS
from workspaces.models import Channel, Workspace

SAM, LEE, ANA = ({k: v for k, v in lead.items() if k != "timezone"} for lead in DEMO_LEADS)

# (channel kind, minutes ago, lead, thread, external id, subject, text). What each shows in
# the queue is in the comment before it.
DEMO_MESSAGES: list[tuple[str, int, dict[str, str], str, str, str, str]] = [
    # A pricing question, answered from the Pricing document.
    (
        "email", 55, SAM, "demo-pricing", "demo-pricing-1@mail.example.com", "Solar for our house",
        "Hi, we're thinking about going solar this year. Roughly what would a 7 kW system cost "
        "us, before any rebates?",
    ),
    # A financing question, answered from the Financing document.
    (
        "email", 48, LEE, "demo-financing", "demo-financing-1@mail.example.com", "Financing",
        "Do you offer financing? I'd rather not pay it all up front. Is there a no money down "
        "option?",
    ),
    # A booking request: the reply offers the ways to book.
    (
        "email", 40, ANA, "demo-booking", "demo-booking-1@mail.example.com", "Consultation",
        "I'd like to book a free consultation at home. What times do you have?",
    ),
    # An opt-out: blocked, never answered automatically.
    (
        "sms", 33,
        {"external_id": "lead-4", "name": "Jordan Blake", "phone": "+14805550104"},
        "", "demo-optout-1", "",
        "Please stop texting me and take my number off your list.",
    ),
    # A legal threat: blocked for a person.
    (
        "email", 27,
        {"external_id": "lead-5", "name": "Pat Morgan", "email": "pat.morgan@example.com"},
        "demo-legal", "demo-legal-1@mail.example.com", "Your calls",
        "I have asked twice for the calls to stop. If anyone calls me again I will be "
        "contacting my attorney.",
    ),
    # A question the knowledge cannot answer: the draft says a colleague will follow up.
    (
        "email", 20,
        {"external_id": "lead-6", "name": "Chris Doyle", "email": "chris.doyle@example.com"},
        "demo-references", "demo-references-1@mail.example.com", "References",
        "Before we go ahead: do you have any reviews or references I can look at?",
    ),
    # An SMS thread with two messages: the second supersedes the draft for the first.
    (
        "sms", 12, SAM, "demo-sms-thread", "demo-sms-1", "",
        "Hi, is the lease still an option?",
    ),
    (
        "sms", 10, SAM, "demo-sms-thread", "demo-sms-2", "",
        "And how long does the install take once we sign?",
    ),
]  # fmt: skip


def demo_payload(
    *,
    lead: dict[str, str],
    thread: str,
    external_id: str,
    subject: str,
    text: str,
    sent_at: Any,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "message.inbound",
        "message": {
            "external_id": external_id,
            "sent_at": sent_at.isoformat(),
            "subject": subject or None,
            "body_text": text,
        },
        "lead": lead,
    }
    if thread:
        data["thread"] = {"external_id": thread, "subject": subject or None}
    return data


class Command(BaseCommand):
    help = "Ingest a few sample inbound messages into Demo Co (run seed_demo first)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not is_postgresql():
            self.stdout.write("Demo messages skipped: ingestion needs PostgreSQL.")
            return
        workspace = Workspace.objects.filter(slug="demo").first()
        if workspace is None:
            raise CommandError("No demo workspace: run `manage.py seed_demo` first.")
        channels: dict[str, Channel] = {}
        for channel in Channel.objects.filter(workspace=workspace).order_by("created_at"):
            channels.setdefault(channel.kind, channel)
        now = timezone.now()
        added = 0
        for kind, minutes_ago, lead, thread, external_id, subject, text in DEMO_MESSAGES:
            if kind not in channels:
                raise CommandError(f"Demo Co has no {kind} channel.")
            data = demo_payload(
                lead=lead,
                thread=thread,
                external_id=external_id,
                subject=subject,
                text=text,
                sent_at=now - timedelta(minutes=minutes_ago),
            )
            received = ReceivedWebhook(
                body=json.dumps(data),
                headers={"webhook-id": f"demo-{external_id}", "user-agent": "demo_messages"},
                remote_addr=None,
            )
            ingested = webhook_event_ingest(
                channel=channels[kind],
                received=received,
                payload=WebhookPayload.model_validate(data),
            )
            added += not ingested.duplicate
        self.stdout.write(
            f"Demo messages: {added} new, {len(DEMO_MESSAGES) - added} already there "
            "(the worker drafts the new ones)."
        )
