"""`manage.py demo_messages`: sample inbound messages for Demo Co through the real ingest
service, once; drafted, they cover what an operator should see in the queue."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from drafts.models import Draft, InboundEvent, Message
from pipeline.models import PipelineRun
from pipeline.runner import pipeline_run_for_message

pytestmark = pytest.mark.django_db


def run(command: str) -> str:
    out = StringIO()
    call_command(command, stdout=out)
    return out.getvalue()


def test_demo_messages_needs_the_demo_workspace():
    with pytest.raises(CommandError, match="seed_demo"):
        run("demo_messages")
    assert not Message.objects.exists()


def test_demo_messages_are_stored_once_and_fill_the_queue():
    run("seed_demo")
    assert "8 new, 0 already there" in run("demo_messages")
    assert "0 new, 8 already there" in run("demo_messages")
    assert Message.objects.filter(direction="inbound").count() == 8
    assert InboundEvent.objects.count() == 8

    # What the worker would do, in order.
    for message in Message.objects.order_by("sent_at"):
        pipeline_run_for_message(message_id=message.pk)
    drafts = {
        d.trigger_message.external_id: d for d in Draft.objects.select_related("trigger_message")
    }
    assert "$19,000" in drafts["demo-pricing-1@mail.example.com"].text
    assert "no money down" in drafts["demo-financing-1@mail.example.com"].text
    assert "acmesolar.example/book" in drafts["demo-booking-1@mail.example.com"].text
    assert drafts["demo-optout-1"].blocked_reason == "opt_out"
    assert drafts["demo-legal-1@mail.example.com"].blocked_reason == "legal_threat"
    assert "ask a colleague" in drafts["demo-references-1@mail.example.com"].text
    # The SMS thread: both stored before drafting, so the first message's run stops for the
    # newer one, and the thread has one draft answering its latest message.
    first = Message.objects.get(external_id="demo-sms-1")
    assert "demo-sms-1" not in drafts
    assert PipelineRun.objects.get(trigger_message=first).status == "aborted"
    assert drafts["demo-sms-2"].status == "pending"
    assert drafts["demo-sms-2"].conversation_id == first.conversation_id
    pending = Draft.objects.filter(status="pending")
    assert pending.count() == 7
    assert set(pending.values_list("auto_send_action", flat=True)) == {"none", "block"}
