"""The health snapshot and the auto-send / revision figures of /ops/, against data built
here, with exact expected numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from autosend.models import ScheduledSend
from config.celery import app as celery_app
from drafts.models import Draft, Message
from ops.figures import (
    ChannelRate,
    ai_ops_feed,
    backlog_snapshot,
    bucket_start,
    celery_queue_depth,
    ops_health_snapshot,
    rates_over_time,
    revision_figures,
    revision_latency_histogram,
    stage_summary,
)
from pipeline.models import AIInteraction, PipelineArtifact, PipelineRun
from tests.ops_builders import inbound_message, make_draft

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
SEND, REVIEW, BLOCK, NONE = "send", "review", "block", "none"


@pytest.fixture
def revision_data(tenant, other_tenant):
    """Revision attempts, auto-send decisions and blocks in two workspaces and two channels."""
    email, sms = tenant.email_channel, tenant.sms_channel

    def revised(channel, hours_ago, *, applied, original, final, loop_ms, action):
        at = NOW - hours_ago * H
        return make_draft(
            channel,
            created_at=at,
            revision_attempted_at=at,
            revision_applied=applied,
            original_confidence=original,
            final_confidence=final,
            auto_send_confidence=final,
            auto_send_action=action,
            loop_ms=loop_ms,
        )

    # In the last 24 hours.
    revised(
        email, 1, applied=True, original=0.6, final=0.9, loop_ms=[100, 400, 300], action=SEND
    )  # 800 ms
    revised(
        email,
        2,
        applied=False,
        original=0.5,
        final=0.5,
        loop_ms=[200, 600, 200, 300, 400, 300],
        action=REVIEW,
    )  # 2000 ms
    revised(
        other_tenant.email_channel,
        3,
        applied=True,
        original=0.7,
        final=None,
        loop_ms=None,
        action=REVIEW,
    )  # applied, but no final confidence and no run
    # Between 24 hours and 3 days ago.
    revised(
        sms, 30, applied=True, original=0.7, final=0.8, loop_ms=[1000, 2000, 1000], action=SEND
    )  # 4000 ms
    revised(
        sms, 50, applied=True, original=0.4, final=0.95, loop_ms=[200, 800, 200], action=REVIEW
    )  # 1200 ms
    # Outside both windows, and in the future (not yet in any window).
    revised(email, 4 * 24, applied=True, original=0.1, final=0.9, loop_ms=[50_000], action=SEND)
    revised(email, -1, applied=True, original=0.1, final=0.9, loop_ms=[50_000], action=SEND)

    def decided(channel, hours_ago, action, reason=""):
        make_draft(
            channel, created_at=NOW - hours_ago * H, auto_send_action=action, blocked_reason=reason
        )

    decided(email, 1, SEND)
    decided(email, 1, REVIEW)
    decided(sms, 2, BLOCK, "opt_out")
    decided(email, 5, NONE)
    decided(email, 30, SEND)
    decided(other_tenant.sms_channel, 31, BLOCK, "legal_threat")
    decided(sms, 40, BLOCK, "opt_out")
    decided(email, 80, SEND)


def test_revision_and_auto_send_figures_per_window(revision_data, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        figures = revision_figures(now=NOW)
    day, three = figures["24h"], figures["3d"]

    assert (day.revision_attempted, day.revision_applied) == (3, 2)
    assert day.mean_confidence_gain == pytest.approx(0.3)
    assert day.revision_latency_drafts == 2
    assert day.revision_latency_p50_ms == pytest.approx(1400)
    assert day.revision_latency_p95_ms == pytest.approx(1940)
    assert day.applied_by_channel == [ChannelRate("email", attempted=3, applied=2)]
    assert (day.drafts_evaluated, day.drafts_auto_sent) == (6, 2)
    assert day.auto_send_rate == pytest.approx(2 / 6)
    assert day.block_reasons == [("opt_out", 1)]

    assert (three.revision_attempted, three.revision_applied) == (5, 4)
    assert three.applied_rate == pytest.approx(0.8)
    assert three.mean_confidence_gain == pytest.approx((0.3 + 0.1 + 0.55) / 3)
    assert three.revision_latency_drafts == 4
    # Latencies 800, 1200, 2000, 4000: interpolated percentiles.
    assert three.revision_latency_p50_ms == pytest.approx(1600)
    assert three.revision_latency_p95_ms == pytest.approx(3700)
    assert three.applied_by_channel == [
        ChannelRate("email", attempted=3, applied=2),
        ChannelRate("sms", attempted=2, applied=2),
    ]
    assert (three.drafts_evaluated, three.drafts_auto_sent) == (11, 4)
    assert three.block_reasons == [("opt_out", 2), ("legal_threat", 1)]


def test_figures_are_empty_not_errors_without_data(db):
    figures = revision_figures(now=NOW)
    assert figures["24h"].revision_attempted == 0
    assert figures["24h"].mean_confidence_gain is None
    assert figures["24h"].revision_latency_p50_ms is None
    assert figures["3d"].applied_rate is None
    assert figures["3d"].auto_send_rate is None
    assert figures["3d"].applied_by_channel == []


def test_latency_histogram_counts_each_draft_once(revision_data):
    assert revision_latency_histogram(now=NOW) == [
        ("0-1 s", 1),
        ("1-2 s", 1),
        ("2-5 s", 2),
        ("5-10 s", 0),
        ("10-20 s", 0),
        ("20-30 s", 0),
        ("30-60 s", 0),
        ("≥60 s", 0),
    ]


def test_rates_over_time_in_six_hour_buckets(revision_data):
    buckets = rates_over_time(now=NOW)
    # [NOW - 72h, NOW) touches 12 clock-aligned 6-hour buckets, from 12:00 three days ago.
    assert len(buckets) == 12
    assert buckets[0].start == NOW - 72 * H
    assert buckets[-1].start == NOW - 6 * H
    last = buckets[-1]  # 06:00-12:00 today: drafts created 1, 1, 1, 2, 2, 3 and 5 hours ago
    assert (last.evaluated, last.auto_sent) == (6, 2)
    assert (last.attempted, last.applied) == (3, 2)
    assert [b.evaluated for b in buckets] == [0, 0, 0, 1, 0, 1, 1, 2, 0, 0, 0, 6]
    assert [b.auto_sent for b in buckets] == [0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2]
    assert [b.attempted for b in buckets] == [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 3]
    assert last.auto_send_rate == pytest.approx(2 / 6)
    assert buckets[0].auto_send_rate is None


def test_bucket_start_is_clock_aligned():
    assert bucket_start(datetime(2026, 3, 10, 17, 59, 59, tzinfo=UTC)) == datetime(
        2026, 3, 10, 12, 0, tzinfo=UTC
    )
    assert bucket_start(datetime(2026, 3, 10, 0, 0, tzinfo=UTC)) == datetime(
        2026, 3, 10, 0, 0, tzinfo=UTC
    )


def test_backlog_counts_what_is_waiting(tenant, django_assert_max_num_queries):
    now = timezone.now()
    email = tenant.email_channel
    oldest = inbound_message(email, received_at=now - 2 * H)
    inbound_message(email, received_at=now - timedelta(minutes=10))
    running = inbound_message(email)  # has a run, no draft yet: not waiting
    PipelineRun.objects.create(workspace=tenant.workspace, trigger_message=running, channel=email)
    inbound_message(email, received_at=now - timedelta(days=40))  # older than run retention
    inbound_message(
        email, direction=Message.Direction.OUTBOUND, sender_kind=Message.Sender.USER
    )  # outbound: never waits for a pipeline

    make_draft(email, created_at=now - H)  # pending
    make_draft(tenant.sms_channel, created_at=now - H)  # pending
    make_draft(email, created_at=now - H, status=Draft.Status.SENT)

    def send(status, run_at):
        draft = make_draft(email, created_at=now - H, status=Draft.Status.SCHEDULED)
        return ScheduledSend.objects.create(
            workspace=tenant.workspace,
            draft=draft,
            conversation=draft.conversation,
            text=draft.text,
            run_at=run_at,
            status=status,
        )

    due = send(ScheduledSend.Status.SCHEDULED, now - timedelta(minutes=5))
    send(ScheduledSend.Status.SCHEDULED, now + timedelta(minutes=5))  # not due yet
    send(ScheduledSend.Status.UNKNOWN, now - H)
    send(ScheduledSend.Status.SENT, now - H)

    with django_assert_max_num_queries(3):
        backlog = backlog_snapshot(now=now)
    assert backlog.inbound_waiting == 2
    assert backlog.oldest_inbound_waiting_at == Message.objects.get(pk=oldest.pk).received_at
    assert backlog.drafts_pending_review == 2
    assert backlog.sends_due == 1
    assert backlog.oldest_send_due_at == due.run_at
    assert backlog.sends_unknown == 1


@pytest.fixture
def empty_queue():
    celery_app.control.purge()
    yield
    celery_app.control.purge()


def test_queue_depth_counts_messages_waiting_on_redis(db, empty_queue):
    assert celery_queue_depth() == 0
    for _ in range(3):
        celery_app.send_task("ops.tests.never_consumed")
    celery_app.send_task("ops.tests.never_consumed", priority=9)
    assert celery_queue_depth() == 4
    assert ops_health_snapshot().queue_depth == 4


@override_settings(CELERY_BROKER_URL="amqp://guest@127.0.0.1:1//")
def test_queue_depth_is_not_available_on_other_brokers(db):
    assert celery_queue_depth() is None


@override_settings(AUTO_SEND_DISABLED=True)
def test_health_snapshot_shows_kill_switches_and_services(db, empty_queue):
    snapshot = ops_health_snapshot()
    assert snapshot.kill_switches == {"auto_send_disabled": True, "revision_disabled": False}
    assert (snapshot.database, snapshot.broker, snapshot.queue_depth) == ("ok", "ok", 0)


@pytest.fixture
def feed_data(tenant, other_tenant):
    run = PipelineRun.objects.create(
        workspace=tenant.workspace,
        trigger_message=inbound_message(tenant.email_channel),
        channel=tenant.email_channel,
    )
    other_run = PipelineRun.objects.create(
        workspace=other_tenant.workspace,
        trigger_message=inbound_message(other_tenant.email_channel),
        channel=other_tenant.email_channel,
    )

    def call(workspace, stage, outcome, ms, hours_ago, run_=None):
        row = AIInteraction.objects.create(
            workspace=workspace,
            run=run_,
            stage=stage,
            provider="offline",
            model="m",
            outcome=outcome,
            latency_ms=ms,
            input_tokens=10,
            output_tokens=5,
        )
        AIInteraction.objects.filter(pk=row.pk).update(created_at=NOW - hours_ago * H)

    def artifact(run_, stage, ms, hours_ago, iteration=0):
        row = PipelineArtifact.objects.create(
            run=run_, stage=stage, iteration=iteration, latency_ms=ms, text="never shown"
        )
        PipelineArtifact.objects.filter(pk=row.pk).update(created_at=NOW - hours_ago * H)

    call(tenant.workspace, "draft_generation_step2", "ok", 100, 1, run)
    call(tenant.workspace, "draft_generation_step2", "timeout", 300, 2, run)
    call(tenant.workspace, "auto_send_evaluation", "ok", 50, 3, run)
    call(other_tenant.workspace, "draft_generation_step2", "ok", 500, 4, other_run)
    call(tenant.workspace, "draft_generation_step2", "ok", 999, 80)  # older than 3 days
    artifact(run, "draft_generation_step2", 120, 1.5)
    artifact(run, "loop_error", 0, 2.5)
    artifact(other_run, "final_draft", 0, 5)
    artifact(run, "final_draft", 0, 90)  # older than 3 days


def _feed(**filters):
    return [
        (e["src"], e["stage_name"], e["result"], e["ms"]) for e in ai_ops_feed(now=NOW, **filters)
    ]


def test_feed_merges_calls_and_artifacts_newest_first(feed_data):
    assert _feed() == [
        ("call", "draft_generation_step2", "ok", 100),
        ("artifact", "draft_generation_step2", "ok", 120),
        ("call", "draft_generation_step2", "timeout", 300),
        ("artifact", "loop_error", "error", 0),
        ("call", "auto_send_evaluation", "ok", 50),
        ("call", "draft_generation_step2", "ok", 500),
        ("artifact", "final_draft", "ok", 0),
    ]
    row = ai_ops_feed(now=NOW)[0]
    assert set(row) == {
        "at",
        "src",
        "ws_id",
        "ws_name",
        "run_ref",
        "stage_name",
        "iter",
        "model_name",
        "prompt_ver",
        "result",
        "attempt_no",
        "tokens_in",
        "tokens_out",
        "ms",
        "row_id",
    }


def test_feed_filters(feed_data, tenant, other_tenant):
    assert _feed(stage="draft_generation_step2", outcome="ok") == [
        ("call", "draft_generation_step2", "ok", 100),
        ("artifact", "draft_generation_step2", "ok", 120),
        ("call", "draft_generation_step2", "ok", 500),
    ]
    assert _feed(workspace_id=other_tenant.workspace.pk) == [
        ("call", "draft_generation_step2", "ok", 500),
        ("artifact", "final_draft", "ok", 0),
    ]
    assert _feed(outcome="error") == [("artifact", "loop_error", "error", 0)]
    assert _feed(source="call", outcome="timeout") == [
        ("call", "draft_generation_step2", "timeout", 300)
    ]
    assert [s for s, *_ in _feed(source="artifact")] == ["artifact"] * 3


def test_stage_summary_over_three_days(feed_data, tenant):
    summary = {s.stage: s for s in stage_summary(now=NOW)}
    generation = summary["draft_generation_step2"]
    assert (generation.calls, generation.failures, generation.tokens) == (3, 1, 45)
    assert generation.p50_ms == pytest.approx(300)
    assert generation.p95_ms == pytest.approx(480)
    assert summary["auto_send_evaluation"].calls == 1
    mine = {s.stage: s.calls for s in stage_summary(now=NOW, workspace_id=tenant.workspace.pk)}
    assert mine == {"draft_generation_step2": 2, "auto_send_evaluation": 1}
