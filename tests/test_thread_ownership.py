"""Threads belong to their lead: a stranger who names another lead's thread id gets a
conversation of their own, and no reply is sent automatically into the shared thread."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError
from django.utils import timezone

from autosend.delivery import scheduled_sends_deliver_due
from autosend.models import ScheduledSend
from drafts.ingest import THREAD_SHARED_REASON
from drafts.models import Conversation, Draft, Message
from pipeline.runner import pipeline_run_for_message
from tests.pipeline_support import channel_of, demo_workspace
from tests.webhooks import payload, post_signed
from workspaces.models import WorkspaceSettings

QUESTION = "Hi, roughly how much would a 7kW system cost?"


def _message(*, external_id: str, lead: dict[str, Any], sent_at: Any) -> dict[str, Any]:
    return payload(
        message={
            "external_id": external_id,
            "sent_at": sent_at.isoformat(),
            "subject": "Pricing",
            "body_text": QUESTION,
            "attachments": [],
        },
        lead=lead,
        thread={"external_id": "t-dana", "subject": "Pricing"},
    )


DANA = {"external_id": "lead-dana", "name": "Dana Cole", "email": "dana@example.com"}
TAYLOR = {"external_id": "lead-taylor", "name": "Taylor Moss", "email": "taylor@example.com"}


@pytest.fixture
def demo(db: None) -> Any:
    provisioned = demo_workspace()
    WorkspaceSettings.objects.filter(workspace=provisioned.workspace).update(auto_send_enabled=True)
    return provisioned


def _drafted(client: Any, channel: Any, body: dict[str, Any]) -> Draft:
    response = post_signed(client, channel, body)
    assert response.status_code == 202
    message_id = response.json()["message_id"]
    pipeline_run_for_message(message_id=message_id)
    return Draft.objects.get(trigger_message_id=message_id)


def test_taylor_reusing_danas_thread_id_never_gets_a_reply_into_danas_conversation(client, demo):
    channel = channel_of(demo, "email")
    sent_at = (timezone.now() - timedelta(minutes=20)).replace(microsecond=0)
    dana_draft = _drafted(client, channel, _message(external_id="d-1", lead=DANA, sent_at=sent_at))
    taylor_draft = _drafted(
        client,
        channel,
        _message(external_id="t-1", lead=TAYLOR, sent_at=sent_at + timedelta(minutes=1)),
    )

    assert taylor_draft.conversation_id != dana_draft.conversation_id
    dana_thread = Message.objects.filter(conversation_id=dana_draft.conversation_id)
    assert list(dana_thread.values_list("external_id", flat=True)) == ["d-1"]
    # Dana's own thread still answers itself; Taylor's waits for a person, with the reason.
    assert dana_draft.auto_send_action == "send"
    assert (taylor_draft.status, taylor_draft.auto_send_action) == ("pending", "review")
    assert taylor_draft.held_reason == THREAD_SHARED_REASON
    assert not ScheduledSend.objects.filter(draft=taylor_draft).exists()

    scheduled_sends_deliver_due()
    outbound = Message.objects.filter(direction="outbound")
    assert [m.conversation_id for m in outbound] == [dana_draft.conversation_id]
    assert "Taylor" not in outbound.get().body_text


def test_the_same_lead_keeps_one_conversation_per_thread(client, demo):
    channel = channel_of(demo, "email")
    now = timezone.now().replace(microsecond=0)
    for n in range(2):
        body = _message(external_id=f"d-{n}", lead=DANA, sent_at=now + timedelta(seconds=n))
        assert post_signed(client, channel, body).status_code == 202

    assert Conversation.objects.filter(external_id="t-dana").count() == 1
    conversation = Conversation.objects.get()
    with pytest.raises(IntegrityError):
        Conversation.objects.create(
            workspace_id=conversation.workspace_id,
            channel_id=conversation.channel_id,
            lead_id=conversation.lead_id,
            external_id="t-dana",
        )
