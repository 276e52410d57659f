"""Provider trouble as people see it: /ops/ shows each provider's error rate and last success
over the last 15 minutes, and operators see "Waiting for the model provider" where a message's
run is parked instead of a failure or nothing at all."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from pipeline.models import AIInteraction, PipelineRun
from pipeline.provider_health import providers_health
from tests.factories import ConversationFactory, LeadFactory, MessageFactory, make_draft


@pytest.fixture
def operator_client(client: Any, tenant: Any) -> Any:
    client.force_login(tenant.operator)
    return client


def _call(workspace: Any, provider: str, outcome: str, *, ago: timedelta = timedelta()) -> None:
    row = AIInteraction.objects.create(
        workspace=workspace,
        stage="draft_generation_step2",
        provider=provider,
        model="m",
        outcome=outcome,
        latency_ms=400,
    )
    if ago:
        AIInteraction.objects.filter(pk=row.pk).update(created_at=timezone.now() - ago)


def _parked_run(tenant: Any, *, lead_name: str, conversation: Any = None) -> PipelineRun:
    conversation = conversation or ConversationFactory(
        lead=LeadFactory(workspace=tenant.workspace, name=lead_name), channel=tenant.email_channel
    )
    message = MessageFactory(conversation=conversation)
    return PipelineRun.objects.create(
        workspace=tenant.workspace,
        trigger_message=message,
        channel=tenant.email_channel,
        retries=2,
        waiting_reason="waiting for the model provider: rate_limited",
        lease_expires_at=timezone.now() + timedelta(seconds=40),
    )


def test_provider_health_counts_the_window_and_finds_the_last_success(tenant):
    ws = tenant.workspace
    _call(ws, "openai", "ok", ago=timedelta(minutes=40))  # before the window
    for _ in range(3):
        _call(ws, "openai", "server_error")
    _call(ws, "offline", "ok")

    [offline, openai] = providers_health()

    assert (openai.provider, openai.calls, openai.errors, openai.failing) == ("openai", 3, 3, True)
    assert openai.error_rate == 1.0
    assert openai.last_success_at is not None
    assert timezone.now() - openai.last_success_at > timedelta(minutes=39)
    assert (offline.calls, offline.errors, offline.failing) == (1, 0, False)


def test_ops_shows_a_provider_that_is_down_with_its_last_success(client, superadmin, tenant):
    ws = tenant.workspace
    _call(ws, "openai", "ok", ago=timedelta(minutes=20))
    _call(ws, "openai", "rate_limited")
    _call(ws, "openai", "timeout")
    client.force_login(superadmin)

    body = client.get("/ops/").content.decode()

    assert 'id="provider-health"' in body
    assert "down: every call failed" in body
    assert 'data-testid="error-rate-openai">100%' in body
    assert 'data-testid="last-success-openai"><time' in body
    assert ">20m</time>" in body
    assert "rate limited 1" in body


def test_ops_says_when_no_model_was_called(client, superadmin, tenant):
    client.force_login(superadmin)
    assert "No model calls in the last 15 minutes." in client.get("/ops/").content.decode()


def test_operators_see_messages_waiting_for_the_provider_in_the_queue(operator_client, tenant):
    _parked_run(tenant, lead_name="Dana Cole")
    _parked_run(tenant, lead_name="Sam Rivera")

    body = operator_client.get("/").content.decode()

    assert "Waiting for the model provider" in body
    assert "2 messages have no draft yet" in body
    assert "Dana Cole · email" in body
    assert "rate limited · retried 2 times" in body


def test_a_queue_without_parked_runs_says_nothing_about_the_provider(operator_client, tenant):
    make_draft(tenant.workspace, tenant.email_channel)
    finished = _parked_run(tenant, lead_name="Done Lead")
    PipelineRun.objects.filter(pk=finished.pk).update(
        status=PipelineRun.Status.COMPLETED, lease_expires_at=None
    )
    assert "Waiting for the model provider" not in operator_client.get("/").content.decode()


def test_the_draft_page_says_a_newer_message_waits_for_the_provider(operator_client, tenant):
    draft = make_draft(tenant.workspace, tenant.email_channel)
    other = make_draft(tenant.workspace, tenant.email_channel)
    _parked_run(tenant, lead_name="x", conversation=draft.conversation)

    waiting = operator_client.get(f"/drafts/{draft.pk}").content.decode()
    calm = operator_client.get(f"/drafts/{other.pk}").content.decode()

    assert "a newer message in this conversation has no draft yet" in waiting
    assert "Waiting for the model provider" not in calm
