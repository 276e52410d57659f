"""Artifact payloads are capped at 32 KB, writes are idempotent, runs move forward only, and
old runs are purged in batches."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from drafts.models import Draft
from pipeline import tasks
from pipeline.artifacts import PAYLOAD_CAP_BYTES, artifact_build, artifacts_write, payload_cap
from pipeline.models import AIInteraction, PipelineArtifact, PipelineRun, Stage
from pipeline.retention import pipeline_runs_purge
from pipeline.runner import pipeline_run_for_message
from pipeline.runs import IllegalTransition, run_transition
from tests.pipeline_support import channel_of, demo_workspace, inbound

pytestmark = pytest.mark.django_db


def test_small_payloads_are_kept_as_they_are():
    payload = {"text": "é" * 100, "items": [1, 2, 3]}
    assert payload_cap(payload) is payload


def test_a_payload_over_32_kb_becomes_a_marker_with_size_and_preview():
    payload = {"text": "x" * (PAYLOAD_CAP_BYTES + 10)}
    capped = payload_cap(payload)
    original = len(json.dumps(payload, separators=(",", ":")).encode())
    assert capped["capped"] is True
    assert capped["original_bytes"] == original
    assert capped["preview"].startswith('{"text":"xxx')
    assert len(json.dumps(capped)) < PAYLOAD_CAP_BYTES


def test_multibyte_text_is_measured_in_bytes():
    payload = {"text": "é" * (PAYLOAD_CAP_BYTES // 2)}  # fewer characters than the cap
    assert payload_cap(payload)["capped"] is True


@pytest.fixture
def run():
    demo = demo_workspace()
    message = inbound(channel_of(demo, "email"), "Is there a lease option?")
    return pipeline_run_for_message(message_id=message.pk)


def test_a_huge_artifact_is_stored_capped_not_refused(run):
    artifact = artifact_build(
        run_id=run.pk, stage=Stage.FINAL_DRAFT, payload={"blob": "y" * 100_000}, text="t"
    )
    artifacts_write(artifacts=[artifact])
    stored = PipelineArtifact.objects.get(run=run, stage=Stage.FINAL_DRAFT)
    assert stored.payload["capped"] is True
    assert stored.payload["original_bytes"] > 100_000


def test_writing_the_same_stage_and_iteration_again_keeps_the_first(run):
    first = PipelineArtifact.objects.get(run=run, stage=Stage.STRATEGY)
    again = artifact_build(run_id=run.pk, stage=Stage.STRATEGY, payload={"other": True})
    artifacts_write(artifacts=[again])
    assert PipelineArtifact.objects.filter(run=run, stage=Stage.STRATEGY).count() == 1
    assert PipelineArtifact.objects.get(run=run, stage=Stage.STRATEGY).payload == first.payload


def test_iterations_beyond_three_are_refused_by_the_database(run):
    with pytest.raises(IntegrityError), transaction.atomic():
        PipelineArtifact.objects.create(run=run, stage=Stage.EVALUATION, iteration=4)


def test_runs_move_forward_only(run):
    assert run.status == PipelineRun.Status.COMPLETED
    with pytest.raises(IllegalTransition):
        run_transition(run_id=run.pk, from_status="completed", to_status="running")
    assert run_transition(run_id=run.pk, from_status="running", to_status="failed") is False
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.COMPLETED


def _age(run_ids, days):
    PipelineRun.objects.filter(pk__in=run_ids).update(
        started_at=timezone.now() - timedelta(days=days)
    )


def test_old_runs_are_purged_in_batches_and_drafts_survive(settings):
    settings.DRAFT_PIPELINE_RUN_RETENTION_DAYS = 30
    demo = demo_workspace()
    channel = channel_of(demo, "email")
    runs = [
        pipeline_run_for_message(message_id=inbound(channel, f"Question {i}?").pk) for i in range(4)
    ]
    _age([r.pk for r in runs[:3]], days=31)
    _age([runs[3].pk], days=29)

    assert pipeline_runs_purge(batch_size=2) == 2
    assert pipeline_runs_purge(batch_size=2) == 1
    assert pipeline_runs_purge(batch_size=2) == 0
    assert list(PipelineRun.objects.values_list("pk", flat=True)) == [runs[3].pk]
    assert PipelineArtifact.objects.filter(run_id__in=[r.pk for r in runs[:3]]).count() == 0
    # Five drafting stages and the shadow evaluation (auto-send is off) per run.
    assert PipelineArtifact.objects.filter(run=runs[3]).count() == 6
    assert Draft.objects.count() == 4
    assert Draft.objects.filter(run__isnull=True).count() == 3
    assert AIInteraction.objects.filter(run__isnull=True).count() == 18


def test_the_purge_task_queues_itself_again_while_batches_are_full(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    demo = demo_workspace()
    channel = channel_of(demo, "email")
    runs = [
        pipeline_run_for_message(message_id=inbound(channel, f"Question {i}?").pk) for i in range(3)
    ]
    _age([r.pk for r in runs], days=40)
    monkeypatch.setattr(tasks, "PURGE_BATCH_SIZE", 2)
    with django_capture_on_commit_callbacks() as callbacks:
        tasks.purge_old_runs()
    assert len(callbacks) == 1
    assert PipelineRun.objects.count() == 1
    with django_capture_on_commit_callbacks() as callbacks:
        tasks.purge_old_runs()
    assert callbacks == []
    assert PipelineRun.objects.count() == 0


def test_a_run_stuck_running_is_delivered_again_and_resumes(django_capture_on_commit_callbacks):
    demo = demo_workspace()
    message = inbound(channel_of(demo, "email"), "Is there a lease option?")
    run = pipeline_run_for_message(message_id=message.pk)
    Draft.objects.all().delete()
    PipelineArtifact.objects.filter(run=run, stage=Stage.MEETING_GATE).delete()
    PipelineRun.objects.filter(pk=run.pk).update(
        status="running", finished_at=None, started_at=timezone.now() - timedelta(hours=1)
    )
    fresh = pipeline_run_for_message(message_id=inbound(channel_of(demo, "sms"), "Hi?").pk)
    # A live worker holds this one's lease.
    PipelineRun.objects.filter(pk=fresh.pk).update(
        status="running",
        finished_at=None,
        lease_token=uuid.uuid4(),
        lease_expires_at=timezone.now() + timedelta(seconds=30),
    )

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        tasks.resume_stale_runs()
    assert len(callbacks) == 1  # the fresh one is not stale

    # What the redelivered task does:
    pipeline_run_for_message(message_id=message.pk)
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.COMPLETED
    # The drafting stages and one shadow evaluation (the second one's artifact is the first's).
    assert PipelineArtifact.objects.filter(run=run).count() == 6
    assert Draft.objects.filter(trigger_message=message).count() == 1


def test_a_run_stuck_too_often_is_failed_for_a_person():
    demo = demo_workspace()
    message = inbound(channel_of(demo, "email"), "Is there a lease option?")
    run = pipeline_run_for_message(message_id=message.pk)
    Draft.objects.all().delete()
    PipelineRun.objects.filter(pk=run.pk).update(
        status="running",
        finished_at=None,
        attempts=10,
        started_at=timezone.now() - timedelta(hours=2),
    )
    tasks.resume_stale_runs()
    run.refresh_from_db()
    assert (run.status, run.error) == ("failed", "stuck: too many attempts")
