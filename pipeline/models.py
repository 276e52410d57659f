"""Pipeline runs, their artifacts, workspace knowledge and LLM call telemetry."""

from __future__ import annotations

from datetime import timedelta

from django.db import models

from config.ids import uuid7
from workspaces.models import Workspace


class KnowledgeDocument(models.Model):
    """Workspace knowledge the drafts are grounded in, with where it came from."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="knowledge_documents"
    )
    title = models.CharField(max_length=300)
    body = models.TextField()
    source_url = models.URLField(max_length=1000, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Freshness (`pipeline.refresh`): a document with a source URL and an interval is fetched
    # again when `next_refresh_at` passes. No interval: never refreshed.
    refresh_interval = models.DurationField(null=True, blank=True)
    next_refresh_at = models.DateTimeField(null=True, blank=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_refresh_error = models.CharField(max_length=300, blank=True, default="")
    refresh_failures = models.SmallIntegerField(default=0)
    # SHA-256 of the body, so an unchanged page changes nothing.
    content_hash = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["title"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(refresh_interval__isnull=True)
                | (
                    models.Q(refresh_interval__gte=timedelta(hours=1))
                    & ~models.Q(source_url="")
                    & models.Q(next_refresh_at__isnull=False)
                ),
                name="knowledge_refresh_needs_source_and_time",
                violation_error_message="A refresh interval must be at least 1 hour, and needs "
                "a source URL and a next refresh time.",
            ),
            models.CheckConstraint(
                condition=models.Q(refresh_failures__gte=0), name="knowledge_refresh_failures_gte_0"
            ),
        ]
        # Full-text search uses the GIN index `knowledge_fts` on
        # SearchVector("title", "body", config="english"), created in migration 0001 on
        # PostgreSQL only (see config/migration_ops.py).
        indexes = [
            # The refresh beat task's claim: due documents, soonest first.
            models.Index(
                fields=["next_refresh_at"],
                condition=models.Q(refresh_interval__isnull=False),
                name="knowledge_refresh_due",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def refresh_interval_hours(self) -> int | None:
        interval = self.refresh_interval
        return int(interval.total_seconds() // 3600) if interval is not None else None


class Stage(models.TextChoices):
    """The canonical stage names every artifact and telemetry row uses."""

    STRATEGY = "draft_strategy_step1", "Strategy"
    GENERATION = "draft_generation_step2", "Generation"
    VERIFIER = "draft_verifier_step3", "Verifier"
    MEETING_EXTRACT = "meeting_overseer_extract", "Meeting overseer: extract"
    MEETING_GATE = "meeting_overseer_gate", "Meeting overseer: gate"
    EVALUATION = "auto_send_evaluation", "Auto-send evaluation"
    REVISION_SELECTOR = "auto_send_revision_selector", "Revision selector"
    REVISION_REVISER = "auto_send_revision_reviser", "Revision reviser"
    FINAL_DRAFT = "final_draft", "Final draft"
    LOOP_ERROR = "loop_error", "Loop error"


class PipelineRun(models.Model):
    """One run of the pipeline for one inbound message. Status moves forward only
    (RUNNING → COMPLETED | FAILED | ABORTED), through `pipeline.runs`."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        ABORTED = "aborted", "Aborted"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="pipeline_runs")
    trigger_message = models.ForeignKey(
        "drafts.Message", on_delete=models.CASCADE, related_name="pipeline_runs"
    )
    channel = models.ForeignKey(
        "workspaces.Channel", on_delete=models.CASCADE, related_name="pipeline_runs"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    attempts = models.SmallIntegerField(default=1)
    error = models.TextField(blank=True, default="")
    context_pack = models.JSONField(null=True, blank=True)
    provider = models.CharField(max_length=20, blank=True, default="")
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The worker working on a RUNNING run holds its lease and renews it; a lapsed lease (a
    # dead worker) or a parked retry that is due makes the run eligible to resume.
    lease_token = models.UUIDField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Transient provider trouble parks the run for a retry rather than failing it.
    retries = models.SmallIntegerField(default=0)
    waiting_reason = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(
                fields=["lease_expires_at"],
                condition=models.Q(status="running"),
                name="run_running_lease",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["trigger_message", "channel"], name="run_one_per_message"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["running", "completed", "failed", "aborted"]),
                name="run_status_known",
            ),
            models.CheckConstraint(
                condition=models.Q(lease_token__isnull=True) | models.Q(status="running"),
                name="run_lease_only_while_running",
            ),
        ]

    def __str__(self) -> str:
        return f"Run {self.pk} ({self.status})"


class PipelineArtifact(models.Model):
    """What one stage produced in one iteration: output, model, prompt version, cost, time."""

    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(PipelineRun, on_delete=models.CASCADE, related_name="artifacts")
    stage = models.CharField(max_length=40, choices=Stage.choices)
    iteration = models.SmallIntegerField(default=0)
    prompt_key = models.CharField(max_length=80, blank=True, default="")
    prompt_version = models.CharField(max_length=20, blank=True, default="")
    model = models.CharField(max_length=80, blank=True, default="")
    payload = models.JSONField(default=dict)
    text = models.TextField(blank=True, default="")
    input_tokens = models.IntegerField(default=0)
    output_tokens = models.IntegerField(default=0)
    latency_ms = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "stage", "iteration"], name="artifact_unique_stage_iteration"
            ),
            models.CheckConstraint(
                condition=models.Q(iteration__gte=0) & models.Q(iteration__lte=3),
                name="artifact_iteration_0_to_3",
            ),
            models.CheckConstraint(
                condition=models.Q(stage__in=Stage.values), name="artifact_stage_known"
            ),
        ]
        indexes = [models.Index(fields=["run", "created_at"], name="artifact_run_time")]

    def __str__(self) -> str:
        return f"{self.stage}[{self.iteration}]"


class AIInteraction(models.Model):
    """Telemetry for one LLM call: numbers and flags only, never message or draft text."""

    class Outcome(models.TextChoices):
        OK = "ok", "OK"
        TIMEOUT = "timeout", "Timeout"
        RATE_LIMITED = "rate_limited", "Rate limited"
        SERVER_ERROR = "server_error", "Server error"
        REFUSAL = "refusal", "Refusal"
        TRUNCATED = "truncated", "Truncated"
        MALFORMED = "malformed", "Malformed output"
        REJECTED = "rejected", "Rejected by the model server"
        ERROR = "error", "Error"

    id = models.BigAutoField(primary_key=True)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(
        PipelineRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="interactions"
    )
    stage = models.CharField(max_length=40, choices=Stage.choices)
    iteration = models.SmallIntegerField(default=0)
    provider = models.CharField(max_length=20)
    model = models.CharField(max_length=80)
    prompt_key = models.CharField(max_length=80, blank=True, default="")
    prompt_version = models.CharField(max_length=20, blank=True, default="")
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    attempt = models.SmallIntegerField(default=1)
    input_tokens = models.IntegerField(default=0)
    output_tokens = models.IntegerField(default=0)
    reasoning_tokens = models.IntegerField(default=0)
    cached_tokens = models.IntegerField(default=0)
    latency_ms = models.IntegerField(default=0)
    request_id = models.CharField(max_length=120, blank=True, default="")
    # A failed call's HTTP status and the model server's own error text (never request or
    # reply text): what an operator needs to see why the server refused.
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    server_message = models.CharField(max_length=240, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["workspace", "stage", "-created_at"], name="ai_ws_stage_time")
        ]

    def __str__(self) -> str:
        return f"{self.stage} {self.model} {self.outcome}"
