"""`/metrics`: Prometheus text a dashboard scrapes, read from the database at scrape time, and
only for a scraper with the token or on an allowed network."""

from __future__ import annotations

from datetime import timedelta
from ipaddress import ip_network
from typing import Any

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from autosend.models import ScheduledSend
from drafts.models import Draft, Message
from pipeline.llm.limits import llm_rate_limited
from pipeline.models import AIInteraction, PipelineRun
from tests.factories import PipelineRunFactory, make_draft

OUTSIDER = "203.0.113.9"


def samples(response: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(name, sorted labels): value} of every sample in a scrape."""
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def _call(workspace: Any, provider: str, outcome: str, latency_ms: int, **extra: Any) -> None:
    AIInteraction.objects.create(
        workspace=workspace,
        stage="draft_generation_step2",
        provider=provider,
        model="m",
        outcome=outcome,
        latency_ms=latency_ms,
        **extra,
    )


@pytest.fixture
def figures(tenant: Any) -> Any:
    """A little of everything: calls that worked and failed, a parked run, a resumed one, a
    message the sweeper re-published, sends that went and failed."""
    ws = tenant.workspace
    for latency in (100, 200, 300):
        _call(ws, "openai", "ok", latency)
    _call(ws, "openai", "server_error", 50, status_code=500)
    _call(ws, "openai", "rate_limited", 60, status_code=429)
    stale = timezone.now() - timedelta(hours=2)
    AIInteraction.objects.filter(pk=AIInteraction.objects.order_by("pk").first().pk).update(
        created_at=stale
    )  # outside the 15-minute window
    PipelineRunFactory(
        trigger_message__conversation__channel=tenant.email_channel,
        status=PipelineRun.Status.RUNNING,
        waiting_reason="Waiting for the model provider (server_error)",
    )
    PipelineRunFactory(trigger_message__conversation__channel=tenant.email_channel, attempts=2)
    PipelineRunFactory(  # resumed twice, both times for a parked retry: not a recovery
        trigger_message__conversation__channel=tenant.email_channel, attempts=3, retries=2
    )
    PipelineRunFactory(
        trigger_message__conversation__channel=tenant.email_channel,
        status=PipelineRun.Status.FAILED,
    )
    requeued = make_draft(ws, tenant.email_channel).trigger_message
    Message.objects.filter(pk=requeued.pk).update(pipeline_requeued_at=timezone.now())
    for status in ("sent", "sent", "failed"):
        draft = make_draft(ws, tenant.email_channel, status=Draft.Status.SCHEDULED)
        ScheduledSend.objects.create(
            workspace=ws,
            draft=draft,
            conversation=draft.conversation,
            text=draft.text,
            run_at=timezone.now(),
            status=status,
        )
    return tenant


def test_a_loopback_scrape_shows_runs_providers_sends_and_recoveries(client, figures):
    got = samples(client.get("/metrics"))

    runs = {dict(k[1])["status"]: v for k, v in got.items() if k[0] == "replydesk_pipeline_runs"}
    assert runs == {"running": 1, "completed": 2, "failed": 1, "aborted": 0}
    assert got[("replydesk_pipeline_runs_waiting_for_provider", ())] == 1
    assert got[("replydesk_recoveries", (("kind", "resumed_run"), ("window", "24h")))] == 1
    assert got[("replydesk_recoveries", (("kind", "requeued_message"), ("window", "24h")))] == 1
    calls = {
        dict(k[1])["outcome"]: v
        for k, v in got.items()
        if k[0] == "replydesk_llm_calls" and dict(k[1])["provider"] == "openai"
    }
    assert calls == {"ok": 2, "server_error": 1, "rate_limited": 1}
    assert got[("replydesk_llm_errors", (("provider", "openai"), ("window", "15m")))] == 2
    p50 = (
        "replydesk_llm_latency_seconds",
        (("provider", "openai"), ("quantile", "0.5"), ("window", "15m")),
    )
    assert got[p50] == pytest.approx(0.13)  # median of 200, 300, 50, 60 ms
    assert ("replydesk_llm_last_success_timestamp_seconds", (("provider", "openai"),)) in got
    sends = {dict(k[1])["status"]: v for k, v in got.items() if k[0] == "replydesk_sends"}
    assert (sends["sent"], sends["failed"], sends["unknown"]) == (2, 1, 0)
    assert got[("replydesk_drafts_pending_review", ())] >= 1


def test_from_outside_the_allowed_networks_no_figure_is_shown(client, figures, settings):
    settings.METRICS_TOKEN = "scrape-secret-123"

    refused = client.get("/metrics", REMOTE_ADDR=OUTSIDER)
    wrong = client.get("/metrics", REMOTE_ADDR=OUTSIDER, HTTP_AUTHORIZATION="Bearer not-the-token")
    right = client.get(
        "/metrics", REMOTE_ADDR=OUTSIDER, HTTP_AUTHORIZATION="Bearer scrape-secret-123"
    )

    assert refused.status_code == 403
    assert wrong.status_code == 401
    assert b"replydesk_" not in refused.content + wrong.content
    assert ("replydesk_pipeline_runs_waiting_for_provider", ()) in samples(right)


def test_without_a_configured_token_no_bearer_is_accepted(client, figures, settings):
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics", REMOTE_ADDR=OUTSIDER, HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 403
    assert (
        client.get("/metrics", REMOTE_ADDR=OUTSIDER, HTTP_AUTHORIZATION="Bearer x").status_code
        == 401
    )


def test_an_allowed_network_needs_no_token(client, figures, settings):
    settings.METRICS_ALLOWED_NETWORKS = [ip_network("203.0.113.0/24")]
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDER).status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="198.51.100.1").status_code == 403


def test_a_scrape_costs_a_fixed_number_of_queries(client, figures, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        assert client.get("/metrics").status_code == 200


def test_the_calls_in_flight_window_shows_a_429s_cut(client, figures, settings):
    settings.LLM_LIMITER_PREFIX = f"replydesk-test-metrics-{timezone.now().timestamp()}"
    settings.LLM_MAX_CONCURRENCY = 40
    assert samples(client.get("/metrics"))[("replydesk_llm_window", ())] == 40

    llm_rate_limited(1.0)  # the provider refused a call: everyone's window halves

    assert samples(client.get("/metrics"))[("replydesk_llm_window", ())] == 20
