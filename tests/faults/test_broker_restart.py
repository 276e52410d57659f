"""The broker stopped, a lead writes, the broker comes back empty: the webhook still answers
202 at once, and the message is drafted soon after the broker's return, because the sweep
finds the message that has no run (the publish was lost with the broker): within
PIPELINE_SWEEP_AFTER_SECONDS + one sweep period (production 15 + 10 s; here 5 + 3 s)."""

from __future__ import annotations

import time

import pytest

from drafts.models import Draft, Message
from pipeline.models import PipelineRun
from tests.faults.conftest import (
    SWEEP_AFTER_SECONDS,
    SWEEP_EVERY_SECONDS,
    post_webhook,
    wait_until,
)
from tests.pipeline_support import channel_of, demo_workspace
from tests.webhooks import payload

pytestmark = [pytest.mark.faults, pytest.mark.worker]


def test_a_message_sent_while_the_broker_was_down_is_drafted_once_it_is_back(stack):
    demo = demo_workspace()
    channel = channel_of(demo, "sms")
    stack.up()

    stack.redis.kill()
    started = time.monotonic()
    response = post_webhook(stack.url, channel, payload(message={"external_id": "during-outage"}))
    answered_in = time.monotonic() - started
    assert response.status_code == 202
    assert answered_in < 5  # the sender is not held hostage by the dead broker
    message_id = response.json()["message_id"]
    assert Message.objects.filter(pk=message_id).exists()

    stack.redis.start()  # back, and empty: the publish is gone for good
    back_at = time.monotonic()
    wait_until(
        lambda: Draft.objects.filter(trigger_message_id=message_id).exists(),
        timeout=40,
        what="the message to be drafted after the broker came back",
    )
    recovery = time.monotonic() - back_at

    assert PipelineRun.objects.filter(trigger_message_id=message_id).count() == 1
    assert Draft.objects.filter(trigger_message_id=message_id).count() == 1
    # Unstarted after SWEEP_AFTER_SECONDS, found by the next sweep, then a run on a busy machine.
    assert recovery < SWEEP_AFTER_SECONDS + SWEEP_EVERY_SECONDS + 20
    print(
        f"\nfault: broker down at ingest, back empty -> drafted {recovery:.1f} s later "
        f"(unstarted after {SWEEP_AFTER_SECONDS} s, sweep every {SWEEP_EVERY_SECONDS} s)"
    )
