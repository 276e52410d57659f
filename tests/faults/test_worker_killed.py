"""kill -9 of a worker's whole process group while its run waits on the model: another worker
resumes the run once the dead one's lease lapses, well within a minute, and the message gets
exactly one run and one draft."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from drafts.models import Draft
from pipeline.models import PipelineRun
from tests.faults.conftest import LEASE_SECONDS, SWEEP_EVERY_SECONDS, post_webhook, wait_until
from tests.pipeline_support import channel_of, demo_workspace
from tests.test_llm_openai import Reply, canned
from tests.webhooks import payload

pytestmark = [pytest.mark.faults, pytest.mark.worker]


def test_a_worker_killed_mid_llm_call_is_resumed_by_another_with_one_draft(stack, fake_model):
    demo = demo_workspace()
    channel = channel_of(demo, "email")
    in_call, release = threading.Event(), threading.Event()
    first = threading.Lock()

    def responder(request: dict[str, Any]) -> Reply:
        # The first call hangs (the doomed worker waits on it); later calls answer at once.
        if first.acquire(blocking=False):
            in_call.set()
            release.wait(timeout=60)  # until the worker that asked is dead
            return Reply(content="{}")
        return canned(request)

    fake_model.responder = responder
    stack.up(workers=("first", "second"))  # and beat and the web, as in production

    response = post_webhook(stack.url, channel, payload(message={"external_id": "kill-1"}))
    assert response.status_code == 202
    message_id = response.json()["message_id"]
    assert in_call.wait(timeout=20), "no worker called the model"
    run = wait_until(
        lambda: PipelineRun.objects.filter(trigger_message_id=message_id).first(),
        timeout=5,
        what="the run",
    )
    assert run.lease_token is not None  # the worker waiting on the model holds it
    doomed = stack.worker_that_received("pipeline.run_for_message")
    assert doomed is not None

    stack.kill_group(stack.workers[doomed])
    killed_at = time.monotonic()
    release.set()
    draft = wait_until(
        lambda: Draft.objects.filter(trigger_message_id=message_id).first(),
        timeout=60,
        what="the resumed run's draft",
    )
    recovery = time.monotonic() - killed_at

    run.refresh_from_db()
    assert (run.status, run.attempts) == ("completed", 2)
    assert Draft.objects.filter(trigger_message_id=message_id).count() == 1
    assert PipelineRun.objects.filter(trigger_message_id=message_id).count() == 1
    assert draft.run_id == run.pk
    # The lease lapses within LEASE_SECONDS, the resume sweep runs every SWEEP_EVERY_SECONDS
    # (production: 30 s and 10 s, well inside the 60 s).
    assert recovery < 60
    print(f"\nfault: worker killed mid-LLM-call -> draft {recovery:.1f} s later "
          f"(lease {LEASE_SECONDS} s, sweep every {SWEEP_EVERY_SECONDS} s)")  # fmt: skip
