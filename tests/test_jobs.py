"""JobRun: the state machine, the `job_run` recorder, and the jobs that use it."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from drafts.review import draft_approve
from pipeline import tasks
from pipeline.models import PipelineRun
from tests.conftest import ApiClient
from tests.factories import PipelineRunFactory, make_draft
from tests.timing_helpers import Thread
from workspaces.jobs import IllegalJobTransition, job_run, job_run_create, job_run_transition
from workspaces.models import JobRun, JobType

S = JobRun.Status


def test_a_job_that_finishes_is_recorded_as_succeeded_with_its_counts(tenant: Any) -> None:
    before = timezone.now()
    with job_run(type=JobType.KNOWLEDGE_IMPORT, workspace=tenant.workspace) as job:
        assert JobRun.objects.get(pk=job.run.pk).status == S.RUNNING
        job.add("rows_processed", 3)
        job.add("created")
        job.set(skipped=2)

    run = JobRun.objects.get()
    assert (run.type, run.workspace_id, run.status, run.error) == (
        "knowledge_import",
        tenant.workspace.pk,
        "succeeded",
        "",
    )
    assert before <= run.started_at <= run.finished_at <= timezone.now()
    assert set(run.metrics) == {"rows_processed", "created", "skipped", "duration_ms"}
    assert (run.metrics["rows_processed"], run.metrics["created"], run.metrics["skipped"]) == (
        3,
        1,
        2,
    )
    assert run.metrics["duration_ms"] >= 0


def _broken_backfill() -> None:
    with job_run(type=JobType.TIMING_BACKFILL) as job:
        job.add("rows_processed", 10)
        raise ValueError("batch 3 is broken")


def _purge_hitting_a_constraint() -> None:
    with job_run(type=JobType.PIPELINE_RUN_PURGE), transaction.atomic():
        JobRun.objects.create(type="no_such_job")


def test_a_job_that_raises_is_recorded_as_failed_and_the_error_goes_on(db: None) -> None:
    with pytest.raises(ValueError, match="batch 3 is broken"):
        _broken_backfill()

    run = JobRun.objects.get()
    assert (run.workspace_id, run.status, run.error) == (
        None,
        "failed",
        "ValueError: batch 3 is broken",
    )
    assert run.metrics["rows_processed"] == 10
    assert run.finished_at is not None


def test_a_job_may_fail_without_raising(db: None) -> None:
    with job_run(type=JobType.KNOWLEDGE_REFRESH) as job:
        job.fail("1 of 2 documents could not be refreshed")

    run = JobRun.objects.get()
    assert (run.status, run.error) == ("failed", "1 of 2 documents could not be refreshed")


def test_a_failure_inside_a_rolled_back_savepoint_is_still_recorded(db: None) -> None:
    with pytest.raises(IntegrityError):
        _purge_hitting_a_constraint()

    assert list(JobRun.objects.values_list("type", "status")) == [("pipeline_run_purge", "failed")]


def test_status_moves_forward_only_and_once(db: None) -> None:
    run = job_run_create(type=JobType.MESSAGE_RETENTION)
    now = timezone.now()

    assert job_run_transition(
        job_run_id=run.pk, from_status=S.QUEUED, to_status=S.RUNNING, started_at=now
    )
    # A second worker trying the same move changes nothing.
    assert not job_run_transition(
        job_run_id=run.pk, from_status=S.QUEUED, to_status=S.RUNNING, started_at=now
    )
    assert job_run_transition(
        job_run_id=run.pk, from_status=S.RUNNING, to_status=S.SUCCEEDED, finished_at=now
    )
    for target in (S.QUEUED, S.RUNNING, S.FAILED):
        with pytest.raises(IllegalJobTransition):
            job_run_transition(job_run_id=run.pk, from_status=S.SUCCEEDED, to_status=target)
    with pytest.raises(IllegalJobTransition):
        job_run_transition(job_run_id=run.pk, from_status=S.RUNNING, to_status=S.QUEUED)
    assert JobRun.objects.get(pk=run.pk).status == S.SUCCEEDED


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "nightly_mystery"},
        {"type": "timing_backfill", "status": "paused"},
        # Running with no start, finished without an end, queued with an end.
        {"type": "timing_backfill", "status": "running"},
        {"type": "timing_backfill", "status": "succeeded", "started_at": timezone.now()},
        {"type": "timing_backfill", "finished_at": timezone.now()},
    ],
)
def test_the_database_refuses_impossible_rows(db: None, fields: dict[str, Any]) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        JobRun.objects.create(**fields)
    assert not JobRun.objects.exists()


# --- The jobs that record themselves ---------------------------------------------------------


def test_provisioning_with_knowledge_records_an_import_each_time(db: None, tmp_path: Any) -> None:
    path = tmp_path / "kb.jsonl"
    lines = [{"title": f"Doc {n}", "body": f"Body {n}", "source_url": ""} for n in range(3)]
    path.write_text("\n".join(json.dumps(line) for line in lines))

    for _ in range(2):
        call_command(
            "provision_workspace", "Acme Solar", "--channel", "email", "--knowledge", str(path),
            stdout=io.StringIO(),
        )  # fmt: skip

    runs = JobRun.objects.order_by("created_at")
    assert [(r.type, r.workspace.slug, r.status) for r in runs] == [
        ("knowledge_import", "acme-solar", "succeeded"),
        ("knowledge_import", "acme-solar", "succeeded"),
    ]
    assert [
        (r.metrics["rows_processed"], r.metrics["created"], r.metrics["skipped"]) for r in runs
    ] == [(3, 3, 0), (3, 0, 3)]


def _samples(tenant: Any, count: int) -> None:
    for n in range(count):
        draft = make_draft(tenant.workspace, tenant.email_channel, text=f"Hello {n}")
        draft_approve(draft=draft, user=tenant.operator, text=f"Hello there {n}")


def test_the_export_command_records_how_many_samples_it_wrote(tenant: Any, tmp_path: Any) -> None:
    _samples(tenant, 3)
    call_command(
        "export_learning_samples", "--workspace", tenant.workspace.slug,
        "--output", str(tmp_path / "out.jsonl"), stderr=io.StringIO(),
    )  # fmt: skip

    run = JobRun.objects.get()
    assert (run.type, run.workspace_id, run.status) == (
        "learning_sample_export",
        tenant.workspace.pk,
        "succeeded",
    )
    assert run.metrics["rows_processed"] == 3


def test_the_export_api_records_a_run_when_the_stream_is_read(tenant: Any, api: ApiClient) -> None:
    _samples(tenant, 2)
    response = api.get("/api/v1/learning-samples.jsonl")
    assert not JobRun.objects.exists()  # nothing has been streamed yet

    assert len(b"".join(response.streaming_content).splitlines()) == 2
    run = JobRun.objects.get()
    assert (run.type, run.workspace_id, run.status, run.metrics["rows_processed"]) == (
        "learning_sample_export",
        tenant.workspace.pk,
        "succeeded",
        2,
    )


def test_the_timing_backfill_records_messages_and_events(tenant: Any) -> None:
    thread = Thread.start(tenant.workspace, tenant.email_channel)
    thread.inbound(0)
    thread.setter(60, user=tenant.rep)
    thread.inbound(120)

    call_command("backfill_response_timing", stdout=io.StringIO())

    run = JobRun.objects.get()
    assert (run.type, run.workspace_id, run.status) == ("timing_backfill", None, "succeeded")
    assert (run.metrics["rows_processed"], run.metrics["events_written"]) == (3, 2)


def test_each_purge_batch_is_a_run(db: None, monkeypatch: Any, settings: Any) -> None:
    settings.DRAFT_PIPELINE_RUN_RETENTION_DAYS = 30
    runs = PipelineRunFactory.create_batch(3)
    PipelineRun.objects.filter(pk__in=[r.pk for r in runs]).update(
        started_at=timezone.now() - timedelta(days=31)
    )
    monkeypatch.setattr(tasks, "PURGE_BATCH_SIZE", 2)

    tasks.purge_old_runs()  # 2, and queues itself again (see test_pipeline_artifacts)
    tasks.purge_old_runs()  # 1
    tasks.purge_old_runs()  # 0

    recorded = JobRun.objects.order_by("created_at", "id")
    assert [(r.type, r.status, r.metrics["rows_processed"]) for r in recorded] == [
        ("pipeline_run_purge", "succeeded", 2),
        ("pipeline_run_purge", "succeeded", 1),
        ("pipeline_run_purge", "succeeded", 0),
    ]
    assert not PipelineRun.objects.exists()


def test_finished_job_runs_past_their_retention_are_purged(db: None, settings: Any) -> None:
    settings.JOB_RUN_RETENTION_DAYS = 90
    old_done = [job_run_create(type=JobType.TIMING_BACKFILL) for _ in range(2)]
    for job in old_done:
        job_run_transition(
            job_run_id=job.pk, from_status="queued", to_status="failed", finished_at=timezone.now()
        )
    stuck = job_run_create(type=JobType.TIMING_BACKFILL)  # never started: a person looks
    recent = job_run_create(type=JobType.TIMING_BACKFILL)
    JobRun.objects.filter(pk__in=[j.pk for j in [*old_done, stuck]]).update(
        created_at=timezone.now() - timedelta(days=91)
    )

    tasks.purge_old_runs()

    left = set(JobRun.objects.values_list("pk", flat=True))
    purge = JobRun.objects.get(type="pipeline_run_purge")
    assert left == {stuck.pk, recent.pk, purge.pk}
    assert purge.metrics["job_runs_deleted"] == 2
