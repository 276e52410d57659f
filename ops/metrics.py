"""`GET /metrics`: what a dashboard needs to see a fault before a customer reports it, in the
Prometheus text format (prometheus-client).

Every figure is read from the database (and the broker's queue length) at scrape time by one
collector, so it holds whatever process answers, however many web and worker processes run:
nothing lives in one process's memory. Windowed figures carry a `window` label (`15m` for the
model providers, as on /ops/, `24h` for runs and sends) and are gauges, not counters: a
dashboard graphs them as they are. The queries read recent rows through indexes only.

Access: `Authorization: Bearer <METRICS_TOKEN>` from anywhere, or no token from
`METRICS_ALLOWED_NETWORKS` (loopback by default); anyone else gets a 403 (401 for a wrong
token) and no figures.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from autosend.models import ScheduledSend
from drafts.models import Message
from ops.figures import backlog_snapshot, celery_queue_depth
from pipeline.llm.limits import llm_window
from pipeline.models import PipelineRun
from pipeline.provider_health import HEALTH_WINDOW, providers_health

RECENT = timedelta(hours=24)
RECENT_LABEL = "24h"
HEALTH_LABEL = f"{int(HEALTH_WINDOW.total_seconds() // 60)}m"


class ReplydeskCollector(Collector):
    """Reads the figures when scraped; registered on a registry of its own per request."""

    def __init__(self, *, now: datetime | None = None) -> None:
        self.now = now

    def collect(self) -> Iterator[Metric]:
        now = self.now or timezone.now()
        yield from _queue(now)
        yield from _runs(now)
        yield from _providers(now)
        yield from _sends(now)


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


def _by_status(name: str, doc: str, rows: QuerySet[Any], statuses: list[str]) -> GaugeMetricFamily:
    """One gauge per status over the window, zeros included (a status that stops happening
    reads 0 on the dashboard rather than vanishing)."""
    counts = dict(
        rows.values_list("status").annotate(n=Count("pk")).order_by().values_list("status", "n")
    )
    g = _gauge(name, doc, ["status", "window"])
    for status in statuses:
        g.add_metric([status, RECENT_LABEL], counts.get(status, 0))
    return g


def _queue(now: datetime) -> Iterator[Metric]:
    depth = celery_queue_depth()
    if depth is not None:  # unknown (broker down, or not Redis): absent, not a false zero
        g = _gauge("replydesk_broker_queue_depth", "Tasks waiting in the Celery queue.")
        g.add_metric([], depth)
        yield g
    backlog = backlog_snapshot(now=now)
    g = _gauge("replydesk_inbound_waiting", "Inbound messages with neither a run nor a draft.")
    g.add_metric([], backlog.inbound_waiting)
    yield g
    g = _gauge(
        "replydesk_inbound_oldest_waiting_seconds",
        "Age of the oldest inbound message waiting for its pipeline (0: none waiting).",
    )
    oldest = backlog.oldest_inbound_waiting_at
    g.add_metric([], (now - oldest).total_seconds() if oldest else 0.0)
    yield g
    g = _gauge("replydesk_drafts_pending_review", "Drafts waiting for an operator.")
    g.add_metric([], backlog.drafts_pending_review)
    yield g


def _runs(now: datetime) -> Iterator[Metric]:
    since = now - RECENT
    yield _by_status(
        "replydesk_pipeline_runs",
        "Pipeline runs started in the window, by status.",
        PipelineRun.objects.filter(started_at__gte=since),
        PipelineRun.Status.values,
    )
    waiting = (
        PipelineRun.objects.filter(status=PipelineRun.Status.RUNNING)
        .exclude(waiting_reason="")
        .count()
    )
    g = _gauge(
        "replydesk_pipeline_runs_waiting_for_provider",
        "Running runs parked for a retry because the model provider failed transiently.",
    )
    g.add_metric([], waiting)
    yield g
    # Every resume counts an attempt; those a parked retry explains are not recoveries.
    resumed = PipelineRun.objects.filter(
        started_at__gte=since, attempts__gt=F("retries") + 1
    ).count()
    g = _gauge(
        "replydesk_recoveries",
        "Recoveries in the window: runs resumed after their worker died (`resumed_run`) and "
        "unstarted messages published again by the sweeper (`requeued_message`).",
        ["kind", "window"],
    )
    g.add_metric(["resumed_run", RECENT_LABEL], resumed)
    requeued = Message.objects.filter(
        direction=Message.Direction.INBOUND,
        received_at__gte=since,
        pipeline_requeued_at__isnull=False,
    ).count()
    g.add_metric(["requeued_message", RECENT_LABEL], requeued)
    yield g


def _providers(now: datetime) -> Iterator[Metric]:
    health = providers_health(now=now)
    calls = _gauge(
        "replydesk_llm_calls",
        "LLM calls in the window, by provider and outcome.",
        ["provider", "outcome", "window"],
    )
    errors = _gauge(
        "replydesk_llm_errors",
        "Failed LLM calls in the window, by provider.",
        ["provider", "window"],
    )
    latency = _gauge(
        "replydesk_llm_latency_seconds",
        "LLM call latency quantiles in the window.",
        ["provider", "quantile", "window"],
    )
    last_ok = _gauge(
        "replydesk_llm_last_success_timestamp_seconds",
        "Unix time of the provider's last successful call (within a day).",
        ["provider"],
    )
    window = _gauge(
        "replydesk_llm_window",
        "Model calls the deployment may have in flight now: LLM_MAX_CONCURRENCY, or less "
        "while the provider's 429s have shrunk it.",
    )
    window.add_metric([], llm_window())
    for p in health:
        for outcome, n in p.outcomes.items():
            calls.add_metric([p.provider, outcome, HEALTH_LABEL], n)
        errors.add_metric([p.provider, HEALTH_LABEL], p.errors)
        for q, ms in p.latency_ms.items():
            latency.add_metric([p.provider, str(q), HEALTH_LABEL], ms / 1000)
        if p.last_success_at is not None:
            last_ok.add_metric([p.provider], p.last_success_at.timestamp())
    yield from (calls, errors, latency, last_ok, window)


def _sends(now: datetime) -> Iterator[Metric]:
    yield _by_status(
        "replydesk_sends",
        "Replies booked in the window, by outcome (status).",
        ScheduledSend.objects.filter(created_at__gte=now - RECENT),
        ScheduledSend.Status.values,
    )


# --- Access and the view ---------------------------------------------------------------------


def metrics_access_status(*, authorization: str, remote_addr: str | None) -> int | None:
    """None when the scraper may read the figures, else the HTTP status to answer."""
    token = settings.METRICS_TOKEN
    scheme, _, presented = authorization.partition(" ")
    if presented and scheme.lower() == "bearer":
        if token and hmac.compare_digest(presented.strip().encode(), token.encode()):
            return None
        return 401
    try:
        peer = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return 403
    if any(peer in network for network in settings.METRICS_ALLOWED_NETWORKS):
        return None
    return 403


def metrics_render(*, now: datetime | None = None) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ReplydeskCollector(now=now))
    return generate_latest(registry)


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    refused = metrics_access_status(
        authorization=request.headers.get("Authorization", ""),
        remote_addr=request.META.get("REMOTE_ADDR"),
    )
    if refused is not None:
        response = HttpResponse(b"forbidden\n", status=refused, content_type="text/plain")
        if refused == 401:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics_render(), content_type=CONTENT_TYPE_LATEST)
