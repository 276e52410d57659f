"""What senders can do to us over the network, against gunicorn: the same webhook delivered
many times at once makes one message; a stranger who names another lead's thread id gets a
conversation of their own and no automatic reply lands in the other lead's thread."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.utils import timezone

from autosend.delivery import scheduled_sends_deliver_due
from drafts.ingest import THREAD_SHARED_REASON
from drafts.models import Conversation, Draft, InboundEvent, Message
from pipeline.runner import pipeline_run_for_message
from tests.faults.conftest import StackOptions, post_webhook
from tests.pipeline_support import channel_of, demo_workspace
from tests.webhooks import payload
from workspaces.models import WorkspaceSettings

pytestmark = pytest.mark.faults

COPIES = 12


@pytest.fixture(scope="module")
def stack_options() -> StackOptions:
    """One gunicorn (2 processes of 6 threads, so copies really race) for both tests; no
    worker: the pipeline runs in the test where it must (it is not what is under test)."""
    return StackOptions(up={"web_workers": 2, "web_threads": 6, "workers": (), "beat": False})


def test_concurrent_copies_of_one_webhook_make_one_message(shared_stack):
    stack = shared_stack
    demo = demo_workspace()
    channel = channel_of(demo, "email")
    body = payload(message={"external_id": "dup-1"})

    with ThreadPoolExecutor(max_workers=COPIES) as pool:
        answers = list(pool.map(lambda _: post_webhook(stack.url, channel, body), range(COPIES)))

    assert sorted(a.status_code for a in answers) == [200] * (COPIES - 1) + [202]
    assert len({a.json()["message_id"] for a in answers}) == 1
    assert [a.json()["duplicate"] for a in answers].count(False) == 1
    assert Message.objects.filter(external_id="dup-1").count() == 1
    assert InboundEvent.objects.filter(status="processed").count() == 1


def test_a_thread_id_reused_by_another_lead_never_gets_an_automatic_reply(shared_stack):
    stack = shared_stack
    demo = demo_workspace()
    WorkspaceSettings.objects.filter(workspace=demo.workspace).update(auto_send_enabled=True)
    channel = channel_of(demo, "email")
    sent_at = (timezone.now() - timedelta(minutes=20)).replace(microsecond=0)

    def write(external_id: str, lead: dict[str, str], at: timedelta) -> str:
        body = payload(
            message={"external_id": external_id, "sent_at": (sent_at + at).isoformat(),
                     "body_text": "Hi, roughly how much would a 7kW system cost?",
                     "attachments": []},
            lead=lead,
            thread={"external_id": "thread-dana", "subject": "Pricing"},
        )  # fmt: skip
        response = post_webhook(stack.url, channel, body)
        assert response.status_code == 202
        return str(response.json()["message_id"])

    dana = write("d-1", {"external_id": "dana", "name": "Dana Cole"}, timedelta())
    taylor = write("t-1", {"external_id": "taylor", "name": "Taylor Moss"}, timedelta(minutes=1))
    for message_id in (dana, taylor):
        pipeline_run_for_message(message_id=message_id)
    scheduled_sends_deliver_due()

    dana_conversation = Message.objects.get(pk=dana).conversation_id
    taylor_draft = Draft.objects.get(trigger_message_id=taylor)
    assert taylor_draft.conversation_id != dana_conversation
    assert Conversation.objects.filter(external_id="thread-dana").count() == 2
    assert list(
        Message.objects.filter(conversation_id=dana_conversation, direction="inbound").values_list(
            "external_id", flat=True
        )
    ) == ["d-1"]
    assert (taylor_draft.auto_send_action, taylor_draft.held_reason) == (
        "review",
        THREAD_SHARED_REASON,
    )
    replies = Message.objects.filter(direction="outbound")
    assert [r.conversation_id for r in replies] == [dana_conversation]
    assert "Taylor" not in replies.get().body_text
