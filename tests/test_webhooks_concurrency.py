"""Ten copies of one message at once, over real HTTP against real PostgreSQL."""

from __future__ import annotations

import threading

import httpx

from drafts.models import Attachment, Conversation, InboundEvent, Message
from tests.webhooks import encode, payload, purge_queue, signature_headers
from workspaces.models import Lead

COPIES = 10


def test_ten_concurrent_copies_store_one_message_and_all_get_2xx(live_server, tenant):
    channel = tenant.email_channel
    body = encode(payload())
    headers = {
        **signature_headers(channel.secret, body, msg_id="msg_same"),
        "content-type": "application/json",
    }
    start = threading.Barrier(COPIES)
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def deliver() -> None:
        with httpx.Client(base_url=live_server.url, timeout=30) as http:
            start.wait()
            response = http.post(channel.webhook_path, content=body, headers=headers)
        with lock:
            answers.append((response.status_code, response.json()))

    threads = [threading.Thread(target=deliver) for _ in range(COPIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    message = Message.objects.get()
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] * (COPIES - 1) + [202]
    assert {answer["message_id"] for _, answer in answers} == {str(message.pk)}
    assert [answer["duplicate"] for status, answer in answers if status == 202] == [False]
    assert InboundEvent.objects.count() == 1
    assert (Lead.objects.count(), Conversation.objects.count(), Attachment.objects.count()) == (
        1,
        1,
        1,
    )
    purge_queue()  # the live server published the pipeline task; no worker here runs it
