"""A slow or failing model server, against one set of real processes for the module (gunicorn,
a worker, beat): 500s for a while, answers slower than the client's timeout, 429 with
Retry-After, and replies that are not JSON.

What a user sees: for a transient cause (500, timeout, 429) the run waits ("waiting for the
model provider"), nobody is told it failed, and the message gets its one draft once the
provider behaves. A reply that is not JSON is recorded `malformed` and asked again
(`LLM_MAX_RETRIES`); if it stays malformed the message goes to a person at once, with the
reason, and is not retried."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from drafts.models import Draft, Notification
from pipeline.models import AIInteraction, PipelineRun
from tests.faults.conftest import StackOptions, post_webhook, wait_until
from tests.pipeline_support import channel_of, demo_workspace
from tests.test_llm_openai import Reply, canned, schema_name
from tests.webhooks import payload

pytestmark = [pytest.mark.faults, pytest.mark.worker]

CLIENT_TIMEOUT_SECONDS = 2
GATEWAY_RETRIES = 1
FAULT_SECONDS = 4
RETRY_AFTER_SECONDS = 3
NOT_JSON = "Sure! Here is what I think about that"


@pytest.fixture(scope="module")
def stack_options() -> StackOptions:
    return StackOptions(
        env={
            "LLM_TIMEOUT_SECONDS": str(CLIENT_TIMEOUT_SECONDS),
            "LLM_MAX_RETRIES": str(GATEWAY_RETRIES),
        }
    )


class FaultWindow:
    """A fault that starts with the first model call (so the run meets it however slow the
    machine is to get there) and lasts `seconds`; every call's time is kept."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started: float | None = None
        self.calls: list[tuple[float, bool]] = []  # (when, faulted)
        self.lock = threading.Lock()

    def now_faulty(self) -> bool:
        with self.lock:
            now = time.monotonic()
            if self.started is None:
                self.started = now
            faulty = now < self.started + self.seconds
            self.calls.append((now, faulty))
            return faulty

    @property
    def ended_at(self) -> float:
        assert self.started is not None, "the model was never called"
        return self.started + self.seconds


def _message_posted(stack: Any, external_id: str) -> str:
    channel = channel_of(demo_workspace(), "email")
    response = post_webhook(stack.url, channel, payload(message={"external_id": external_id}))
    assert response.status_code == 202
    return str(response.json()["message_id"])


def _calls(message_id: str) -> list[tuple[str, str, int]]:
    return list(
        AIInteraction.objects.filter(run__trigger_message_id=message_id)
        .order_by("created_at")
        .values_list("stage", "outcome", "attempt")
    )


def _parked(message_id: str) -> PipelineRun:
    return wait_until(
        lambda: (
            PipelineRun.objects.filter(trigger_message_id=message_id)
            .exclude(waiting_reason="")
            .first()
        ),
        timeout=20,
        what=lambda: f"the run to be parked (calls: {_calls(message_id)})",
    )


def _drafted_once_without_failure(
    message_id: str, *, outcome: str, parked: bool = True
) -> PipelineRun:
    """The message's one draft arrives; its run completed (after at least one parked retry
    on `outcome` when `parked`), and nobody was told drafting failed."""
    wait_until(
        lambda: Draft.objects.filter(trigger_message_id=message_id).exists(),
        timeout=45,
        what=lambda: f"the draft once the provider behaves (calls: {_calls(message_id)})",
    )
    run = PipelineRun.objects.get(trigger_message_id=message_id)
    assert run.status == "completed"
    assert run.retries >= 1 if parked else run.retries == 0
    assert AIInteraction.objects.filter(run=run, outcome=outcome).exists()
    assert Draft.objects.filter(trigger_message_id=message_id).count() == 1
    assert not Notification.objects.filter(kind="pipeline_failed").exists()
    return run


def test_a_provider_outage_that_ends_delays_the_draft_and_fails_nothing(shared_stack):
    outage = FaultWindow(FAULT_SECONDS)

    def responder(request: dict[str, Any]) -> Reply:
        return Reply(status=500) if outage.now_faulty() else canned(request)

    shared_stack.model.responder = responder
    message_id = _message_posted(shared_stack, "outage-1")

    parked = _parked(message_id)
    assert parked.status == "running"
    assert parked.waiting_reason == "waiting for the model provider: server_error"
    _drafted_once_without_failure(message_id, outcome="server_error")
    recovery = time.monotonic() - outage.ended_at
    print(f"\nfault: LLM 500s for {FAULT_SECONDS} s -> drafted {recovery:.1f} s after it ended")


def test_answers_slower_than_the_client_timeout_park_the_run_until_the_model_is_fast(
    shared_stack,
):
    slow = FaultWindow(FAULT_SECONDS)

    def responder(request: dict[str, Any]) -> Reply:
        reply = canned(request)
        if slow.now_faulty():
            reply.delay = CLIENT_TIMEOUT_SECONDS * 4  # the client gives up long before
        return reply

    shared_stack.model.responder = responder
    message_id = _message_posted(shared_stack, "slow-1")

    parked = _parked(message_id)
    assert parked.waiting_reason == "waiting for the model provider: timeout"
    run = _drafted_once_without_failure(message_id, outcome="timeout")
    recovery = time.monotonic() - slow.ended_at
    timeouts = AIInteraction.objects.filter(run=run, outcome="timeout")
    # The client really gave up at its timeout, not when the slow answer came.
    assert all(
        CLIENT_TIMEOUT_SECONDS * 1000 <= ms < CLIENT_TIMEOUT_SECONDS * 3 * 1000
        for ms in timeouts.values_list("latency_ms", flat=True)
    )
    print(
        f"\nfault: LLM slower than the {CLIENT_TIMEOUT_SECONDS} s timeout for {FAULT_SECONDS} s "
        f"-> drafted {recovery:.1f} s after it ended ({timeouts.count()} timeouts)"
    )


def test_429_with_retry_after_is_waited_out_and_the_message_drafted(shared_stack):
    limited = FaultWindow(FAULT_SECONDS)

    def responder(request: dict[str, Any]) -> Reply:
        if limited.now_faulty():
            return Reply(status=429, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        return canned(request)

    shared_stack.model.responder = responder
    message_id = _message_posted(shared_stack, "limited-1")

    # A 429 is pacing, not failure: the call waits out each Retry-After itself (for up to
    # LLM_SLOT_WAIT_SECONDS) instead of parking the run; a longer storm parks it
    # (tests/test_llm_openai.py).
    _drafted_once_without_failure(message_id, outcome="rate_limited", parked=False)
    recovery = time.monotonic() - limited.ended_at
    # Nobody asked again before the provider said to: each call after a 429 waited it out.
    for (before, was_429), (after, _) in zip(limited.calls, limited.calls[1:], strict=False):
        if was_429:
            assert after - before >= RETRY_AFTER_SECONDS - 0.3, limited.calls
    throttled = sum(faulted for _, faulted in limited.calls)
    print(
        f"\nfault: LLM 429 (Retry-After {RETRY_AFTER_SECONDS} s) for {FAULT_SECONDS} s -> "
        f"{throttled} calls throttled, drafted {recovery:.1f} s after it ended"
    )


def test_a_reply_that_is_not_json_once_is_asked_again_and_drafted(shared_stack):
    garbled: list[str] = []

    def responder(request: dict[str, Any]) -> Reply:
        if not garbled:
            garbled.append(schema_name(request))
            return Reply(content=NOT_JSON)
        return canned(request)

    shared_stack.model.responder = responder
    started = time.monotonic()
    message_id = _message_posted(shared_stack, "garbage-1")

    wait_until(
        lambda: Draft.objects.filter(trigger_message_id=message_id).exists(),
        timeout=30,
        what=lambda: f"the draft (calls: {_calls(message_id)})",
    )
    drafted_in = time.monotonic() - started
    run = PipelineRun.objects.get(trigger_message_id=message_id)
    assert run.status == "completed"
    calls = _calls(message_id)
    stage = calls[0][0]
    assert calls[:2] == [(stage, "malformed", 1), (stage, "ok", 2)]  # asked again at once
    assert run.retries == 0  # no parking: the gateway's own re-ask was enough
    assert Draft.objects.filter(trigger_message_id=message_id).count() == 1
    assert not Notification.objects.filter(kind="pipeline_failed").exists()
    print(
        f"\nfault: one LLM reply not JSON -> recorded malformed, re-asked, drafted "
        f"{drafted_in:.1f} s after the webhook"
    )


def test_replies_that_stay_malformed_go_to_a_person_at_once_with_the_reason(shared_stack):
    def responder(request: dict[str, Any]) -> Reply:
        return Reply(content=NOT_JSON)

    shared_stack.model.responder = responder
    started = time.monotonic()
    message_id = _message_posted(shared_stack, "garbage-2")

    notice = wait_until(
        lambda: Notification.objects.filter(kind="pipeline_failed").first(),
        timeout=30,
        what=lambda: f"a person to be told (calls: {_calls(message_id)})",
    )
    told_in = time.monotonic() - started
    assert str(notice.message_id) == message_id
    assert "needs a reply from a person" in notice.title
    run = PipelineRun.objects.get(trigger_message_id=message_id)
    assert (run.status, run.error, run.retries) == ("failed", "llm_malformed", 0)
    # Asked 1 + LLM_MAX_RETRIES times, then given up on: not parked for later.
    assert [outcome for _, outcome, _ in _calls(message_id)] == ["malformed"] * (
        1 + GATEWAY_RETRIES
    )
    assert not Draft.objects.filter(trigger_message_id=message_id).exists()
    print(
        f"\nfault: LLM replies never JSON -> run failed llm_malformed after "
        f"{1 + GATEWAY_RETRIES} calls, a person told {told_in:.1f} s after the webhook"
    )
