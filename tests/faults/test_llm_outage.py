"""The model server answers 500 for a while, then recovers: the run waits (parked, "waiting
for the model provider"), nobody is told it failed, and the message is drafted once the
provider is back."""

from __future__ import annotations

import time
from typing import Any

import pytest

from drafts.models import Draft, Notification
from pipeline.models import AIInteraction, PipelineRun
from tests.faults.conftest import post_webhook, wait_until
from tests.pipeline_support import channel_of, demo_workspace
from tests.test_llm_openai import Reply, canned
from tests.webhooks import payload

pytestmark = [pytest.mark.faults, pytest.mark.worker]

OUTAGE_SECONDS = 8


def test_a_provider_outage_that_ends_delays_the_draft_and_fails_nothing(stack, fake_model):
    demo = demo_workspace()
    channel = channel_of(demo, "email")
    outage_until: list[float] = []

    def responder(request: dict[str, Any]) -> Reply:
        # The outage starts with the first call, so the run meets it however slow the
        # machine is to get there, and lasts OUTAGE_SECONDS.
        if not outage_until:
            outage_until.append(time.monotonic() + OUTAGE_SECONDS)
        return Reply(status=500) if time.monotonic() < outage_until[0] else canned(request)

    fake_model.responder = responder
    stack.up()

    response = post_webhook(stack.url, channel, payload(message={"external_id": "outage-1"}))
    assert response.status_code == 202
    message_id = response.json()["message_id"]
    parked = wait_until(
        lambda: (
            PipelineRun.objects.filter(trigger_message_id=message_id)
            .exclude(waiting_reason="")
            .first()
        ),
        timeout=15,
        what=lambda: (
            "the run to be parked (calls: "
            f"{list(AIInteraction.objects.values_list('stage', 'outcome', 'created_at'))})"
        ),
    )
    assert parked.status == "running"
    assert parked.waiting_reason.startswith("waiting for the model provider")

    wait_until(
        lambda: Draft.objects.filter(trigger_message_id=message_id).exists(),
        timeout=45,
        what="the draft after the outage",
    )
    after_outage = time.monotonic() - outage_until[0]

    run = PipelineRun.objects.get(trigger_message_id=message_id)
    assert run.status == "completed"
    assert run.retries >= 1
    assert AIInteraction.objects.filter(run=run, outcome="server_error").exists()
    assert Draft.objects.filter(trigger_message_id=message_id).count() == 1
    assert not Notification.objects.filter(kind="pipeline_failed").exists()
    print(
        f"\nfault: LLM 500s for {OUTAGE_SECONDS} s -> drafted {after_outage:.1f} s after it ended"
    )
