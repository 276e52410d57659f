"""Auto-send end to end with real parts: a signed webhook, the pipeline on a real Celery worker
over the real broker, the orchestrator's booking at inbound time plus the deterministic
delay, and the beat's delivery task (run twice) sending once through the `log` transport."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from celery.signals import task_postrun
from django.utils import timezone

from autosend.delivery import Outcome, scheduled_send_deliver
from autosend.models import ScheduledSend
from autosend.scheduling import chosen_delay_seconds
from autosend.tasks import deliver_due
from drafts.models import Draft, Message, Notification
from tests.pipeline_support import channel_of, demo_workspace
from tests.webhooks import payload, post_signed
from workspaces.models import WorkspaceSettings

pytestmark = pytest.mark.worker


def wait_for(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out waiting for the worker")


def test_a_webhook_message_is_answered_automatically_exactly_once(celery_worker_live, client):
    demo = demo_workspace()
    WorkspaceSettings.objects.filter(workspace=demo.workspace).update(
        auto_send_enabled=True, revision_enabled=True
    )
    channel = channel_of(demo, "email")
    # Sent 20 minutes ago: the booked send (3 to 15 minutes later) is due, and not stale.
    sent_at = (timezone.now() - timedelta(minutes=20)).replace(microsecond=0)
    body = payload(
        message={
            "external_id": "e2e-1@mail.example.com",
            "sent_at": sent_at.isoformat(),
            "subject": "Pricing",
            "body_text": "Hi, roughly how much would a 7kW system cost?",
            "attachments": [],
        },
        thread={"external_id": "t-e2e-1", "subject": "Pricing"},
    )

    response = post_signed(client, channel, body)

    assert response.status_code == 202
    message_id = response.json()["message_id"]
    send = wait_for(
        lambda: ScheduledSend.objects.filter(draft__trigger_message_id=message_id).first()
    )
    delay = chosen_delay_seconds(message_id, 180, 900)
    assert send.run_at == sent_at + timedelta(seconds=delay)
    assert (send.origin, send.status, send.chosen_delay_seconds) == ("auto", "scheduled", delay)
    draft = Draft.objects.get(pk=send.draft_id)
    assert (draft.status, draft.auto_send_action) == ("scheduled", "send")
    assert "A typical 7 kW system is about $19,000" in send.text
    assert not Notification.objects.filter(draft=draft, kind="draft_needs_review").exists()

    finished: list[str] = []
    both = threading.Event()

    def on_postrun(sender: Any = None, task_id: str | None = None, **kwargs: Any) -> None:
        if getattr(sender, "name", "") == "autosend.deliver_due":
            finished.append(str(task_id))
            if len(finished) == 2:
                both.set()

    task_postrun.connect(on_postrun, weak=False)
    try:
        deliver_due.delay()
        deliver_due.delay()  # the beat firing twice, or a redelivered task
        assert both.wait(timeout=30), "the worker did not run both deliveries"
    finally:
        task_postrun.disconnect(on_postrun)
    deliver_due.apply()  # and once more in this process
    assert scheduled_send_deliver(scheduled_send_id=send.pk) == Outcome.NOT_CLAIMED

    send.refresh_from_db()
    draft.refresh_from_db()
    assert (send.status, send.attempts) == ("sent", 1)
    assert send.transport_message_id == f"log:{draft.pk}"
    assert draft.status == "sent"
    [outbound] = Message.objects.filter(conversation_id=draft.conversation_id, direction="outbound")
    assert (outbound.sender_kind, outbound.draft_id) == ("ai", draft.pk)
    assert outbound.body_text == send.text
    assert outbound.transport_message_id == f"log:{draft.pk}"
