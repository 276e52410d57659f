"""Reply transports whose URL names an internal address, in every spelling the issue found
reaching a loopback receiver: the worker's delivery beat refuses each one, records the send
failed with the reason and hands the draft back to a person; nothing reaches the receiver."""

from __future__ import annotations

import pytest

from autosend.models import ScheduledSend
from drafts.models import Draft, Notification
from tests.factories import make_channel
from tests.faults.conftest import wait_until
from tests.test_delivery import book
from tests.test_outbound_guard import Listener, listener, refusal
from workspaces.models import Channel, Transport

pytestmark = [pytest.mark.faults, pytest.mark.worker]
__all__ = ["listener"]  # the fixture, used by name

SPELLINGS = [
    "localhost",
    "127.1",
    "0x7f000001",
    "2130706433",
    "0177.0.0.1",
    "[::ffff:127.0.0.1]",
    "127.0.0.1",
]


def test_every_internal_spelling_is_refused_by_the_worker_and_recorded_failed(
    stack, tenant, listener: Listener
):
    sends = {}
    for host in SPELLINGS:
        channel = make_channel(tenant.workspace, kind="sms")
        # Stored as if from before the guard (configuration refuses these URLs now).
        Channel.objects.filter(pk=channel.pk).update(
            transport=Transport.WEBHOOK, outbound_url=f"http://{host}:{listener.port}/hook"
        )
        channel.refresh_from_db()
        sends[host] = book(tenant, channel=channel)
    stack.up(web=False)  # beat's `autosend.deliver_due` (every 5 s) has a worker claim them

    wait_until(
        lambda: not ScheduledSend.objects.filter(status__in=["scheduled", "sending"]).exists(),
        timeout=30,
        what="the worker to attempt every send",
    )

    assert listener.requests == []
    for host, send in sends.items():
        send.refresh_from_db()
        assert (host, send.status, send.attempts) == (host, "failed", 1)
        assert send.last_error == refusal(host.strip("[]"))
        assert Draft.objects.get(pk=send.draft_id).status == "pending"  # with a person again
    assert Notification.objects.filter(kind="send_failed").count() == len(SPELLINGS)
