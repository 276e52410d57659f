"""Tenants, their people, channels, leads, API tokens, the audited settings knobs, and the
outbound webhooks that carry workflow events to other systems."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q

from config.ids import uuid7
from config.netguard import OutboundRefused, outbound_url_check


def outbound_url_errors(field: str, url: str) -> dict[str, str]:
    """The outbound guard's configuration-time refusal of `url` as `{field: reason}` (empty
    when it is acceptable or unset). Literal private hosts only: DNS is checked at send time."""
    if not url:
        return {}
    try:
        outbound_url_check(url)
    except OutboundRefused as exc:
        return {field: str(exc)}
    return {}


class Workspace(models.Model):
    """A tenant: a business whose inbound messages Replydesk answers."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ReasoningEffort(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class WorkspaceSettings(models.Model):
    """Every per-workspace knob, each with a safe default. Changes go through
    `workspaces.services.workspace_settings_update`, which writes a `SettingsChange` per field."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, primary_key=True, related_name="settings"
    )
    auto_send_enabled = models.BooleanField(default=False)
    auto_send_confidence_threshold = models.FloatField(default=0.85)
    auto_send_delay_min_seconds = models.IntegerField(default=180)
    auto_send_delay_max_seconds = models.IntegerField(default=900)
    revision_enabled = models.BooleanField(
        default=False, help_text="Canary toggle for the auto-send revision loop."
    )
    revision_model = models.CharField(max_length=80, default="gpt-5.2")
    revision_reasoning_effort = models.CharField(
        max_length=10, choices=ReasoningEffort.choices, default=ReasoningEffort.HIGH
    )
    revision_max_iterations = models.SmallIntegerField(default=3)
    draft_model = models.CharField(max_length=80, default="gpt-5-mini")
    lead_context_bundle_enabled = models.BooleanField(default=False)
    meeting_booking_gate_enabled = models.BooleanField(default=True)
    reply_guidelines = models.TextField(
        blank=True, default="", help_text="House style the drafts follow (tone, sign-off)."
    )
    message_retention_days = models.IntegerField(
        null=True,
        blank=True,
        help_text="Erase message bodies of closed conversations after this many days "
        "(empty: keep them).",
    )
    undo_seconds = models.IntegerField(
        default=10,
        help_text="How long an approved reply waits before it goes out, so Undo can stop it.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "workspace settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(auto_send_confidence_threshold__gte=0)
                & Q(auto_send_confidence_threshold__lte=1),
                name="settings_threshold_in_unit_interval",
                violation_error_message="The confidence threshold must be between 0 and 1.",
            ),
            models.CheckConstraint(
                condition=Q(auto_send_delay_min_seconds__gte=0),
                name="settings_delay_min_not_negative",
                violation_error_message="The minimum delay cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(
                    auto_send_delay_max_seconds__gte=models.F("auto_send_delay_min_seconds")
                ),
                name="settings_delay_min_le_max",
                violation_error_message="The maximum delay must be at least the minimum delay.",
            ),
            models.CheckConstraint(
                condition=Q(revision_max_iterations__gte=1) & Q(revision_max_iterations__lte=3),
                name="settings_revision_iterations_1_to_3",
                violation_error_message="Revision iterations must be 1, 2 or 3.",
            ),
            models.CheckConstraint(
                condition=Q(revision_reasoning_effort__in=ReasoningEffort.values),
                name="settings_reasoning_effort_known",
                violation_error_message="Reasoning effort must be low, medium or high.",
            ),
            models.CheckConstraint(
                condition=Q(message_retention_days__isnull=True) | Q(message_retention_days__gte=1),
                name="settings_message_retention_at_least_1_day",
                violation_error_message="Message retention must be at least 1 day (or empty).",
            ),
            models.CheckConstraint(
                condition=Q(undo_seconds__gte=0) & Q(undo_seconds__lte=300),
                name="settings_undo_seconds_0_to_300",
                violation_error_message="The undo window must be between 0 and 300 seconds.",
            ),
        ]

    def __str__(self) -> str:
        return f"Settings for {self.workspace_id}"


# Which knobs each settings constraint is about, so an error can name the field it concerns.
SETTINGS_CONSTRAINT_FIELDS: dict[str, tuple[str, ...]] = {
    "settings_threshold_in_unit_interval": ("auto_send_confidence_threshold",),
    "settings_delay_min_not_negative": ("auto_send_delay_min_seconds",),
    "settings_delay_min_le_max": ("auto_send_delay_max_seconds", "auto_send_delay_min_seconds"),
    "settings_revision_iterations_1_to_3": ("revision_max_iterations",),
    "settings_reasoning_effort_known": ("revision_reasoning_effort",),
    "settings_message_retention_at_least_1_day": ("message_retention_days",),
    "settings_undo_seconds_0_to_300": ("undo_seconds",),
}

# Knobs that only a true super-admin (is_superuser) may change.
REVISION_KNOBS = frozenset(
    {
        "revision_enabled",
        "revision_model",
        "revision_reasoning_effort",
        "revision_max_iterations",
    }
)
# Every knob that can be changed through the control plane, the admin and the API.
KNOBS: tuple[str, ...] = (
    "auto_send_enabled",
    "auto_send_confidence_threshold",
    "auto_send_delay_min_seconds",
    "auto_send_delay_max_seconds",
    "revision_enabled",
    "revision_model",
    "revision_reasoning_effort",
    "revision_max_iterations",
    "draft_model",
    "lead_context_bundle_enabled",
    "meeting_booking_gate_enabled",
    "reply_guidelines",
    "message_retention_days",
    "undo_seconds",
)


class Role(models.TextChoices):
    OPERATOR = "operator", "Operator"
    ADMIN = "admin", "Admin"


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.OPERATOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="membership_unique"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_known"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.workspace_id} ({self.role})"


class ChannelKind(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    CHAT = "chat", "Chat"


class Transport(models.TextChoices):
    EMAIL = "email", "Email (SMTP)"
    WEBHOOK = "webhook", "Signed HTTP webhook"
    LOG = "log", "Log only (demo)"


class Channel(models.Model):
    """Where messages come from (a signed webhook) and how replies go out (a transport)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    name = models.CharField(max_length=120)
    key = models.CharField(max_length=64, unique=True, editable=False)
    secret = models.CharField(max_length=128, editable=False)
    previous_secret = models.CharField(max_length=128, blank=True, default="", editable=False)
    previous_secret_valid_until = models.DateTimeField(null=True, blank=True)
    transport = models.CharField(max_length=10, choices=Transport.choices, default=Transport.LOG)
    outbound_url = models.URLField(blank=True, default="")
    outbound_secret = models.CharField(max_length=128, blank=True, default="", editable=False)
    from_address = models.CharField(max_length=254, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workspace", "kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ChannelKind.values), name="channel_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(transport__in=Transport.values), name="channel_transport_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    def clean(self) -> None:
        """Admin and model forms refuse an internal `outbound_url` (see `config.netguard`)."""
        if errors := outbound_url_errors("outbound_url", self.outbound_url):
            raise ValidationError(errors)

    @property
    def webhook_path(self) -> str:
        return f"/webhooks/inbound/{self.key}"


class Lead(models.Model):
    """A person who writes in. Identity fields are filled where empty and otherwise changed
    only through accepted proposals."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="leads")
    external_id = models.CharField(max_length=200)
    name = models.CharField(max_length=200, blank=True, default="")
    email = models.EmailField(max_length=254, blank=True, default="")
    phone = models.CharField(max_length=40, blank=True, default="")
    company = models.CharField(max_length=200, blank=True, default="")
    title = models.CharField(max_length=200, blank=True, default="")
    timezone = models.CharField(max_length=64, blank=True, default="")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_leads",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "external_id"], name="lead_external_id_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name or self.external_id

    @property
    def display_name(self) -> str:
        return self.name or self.email or self.phone or self.external_id


class ApiToken(models.Model):
    """A bearer token that acts as one user in one workspace. Only a SHA-256 of it is kept."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_tokens")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=120, default="default")
    prefix = models.CharField(max_length=16, db_index=True, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"


class SettingsChange(models.Model):
    """One row per knob change: who, when, which field, from what, to what, through what."""

    id = models.BigAutoField(primary_key=True)
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="settings_changes"
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    field = models.CharField(max_length=64)
    old_value = models.JSONField(null=True)
    new_value = models.JSONField(null=True)
    source = models.CharField(max_length=20, default="api")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="settingschange_ws_time")]

    def __str__(self) -> str:
        return f"{self.field}: {self.old_value!r} → {self.new_value!r}"


def knob_values(ws_settings: WorkspaceSettings) -> dict[str, Any]:
    return {name: getattr(ws_settings, name) for name in KNOBS}


class WebhookEvent(models.TextChoices):
    """Workflow events a workspace can subscribe an outbound webhook to."""

    PROPOSAL_ACCEPTED = "proposal.accepted", "Proposal accepted"


class OutboundWebhook(models.Model):
    """Where a workspace wants its workflow events POSTed, signed per Standard Webhooks with
    this webhook's own `whsec_` secret (shown once, when the webhook is created)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="outbound_webhooks"
    )
    url = models.URLField(max_length=2000, validators=[URLValidator(schemes=["http", "https"])])
    secret = models.CharField(max_length=128, editable=False)
    events = models.JSONField(
        default=list, help_text='Event types sent to this URL, e.g. ["proposal.accepted"].'
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workspace", "created_at"]

    def __str__(self) -> str:
        return self.url

    def clean(self) -> None:
        """Admin and model forms refuse an internal `url` (see `config.netguard`)."""
        if errors := outbound_url_errors("url", self.url):
            raise ValidationError(errors)


class WebhookDelivery(models.Model):
    """One event for one outbound webhook, and how its delivery went. The row is the queue:
    the beat claims due `pending` rows; the broker never holds a retry delay. The id is the
    `webhook-id` header, so a receiver drops a redelivery.

    pending → delivering → delivered | failed, or back to pending for a retry (see
    `workspaces.webhooks_out`, which holds the transitions).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERING = "delivering", "Delivering"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    webhook = models.ForeignKey(
        OutboundWebhook, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    event_type = models.CharField(max_length=60, choices=WebhookEvent.choices)
    # What the event is about (e.g. `proposal:<id>`): an event is recorded once per webhook.
    event_key = models.CharField(max_length=200)
    payload = models.JSONField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.SmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    last_status_code = models.SmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["webhook", "event_type", "event_key"], name="webhookdelivery_once"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "delivering", "delivered", "failed"]),
                name="webhookdelivery_status_known",
            ),
            models.CheckConstraint(
                condition=Q(attempts__gte=0), name="webhookdelivery_attempts_not_negative"
            ),
        ]
        indexes = [
            # The beat's query: due pending rows, oldest first.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhookdelivery_due",
            ),
            # The sweep's query: attempts whose worker may have died.
            models.Index(
                fields=["started_at"],
                condition=Q(status="delivering"),
                name="webhookdelivery_delivering",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.pk} ({self.status})"


class JobType(models.TextChoices):
    """Every long-running background job that records a `JobRun`."""

    KNOWLEDGE_IMPORT = "knowledge_import", "Knowledge import"
    KNOWLEDGE_REFRESH = "knowledge_refresh", "Knowledge refresh"
    LEARNING_SAMPLE_EXPORT = "learning_sample_export", "Learning-sample export"
    TIMING_BACKFILL = "timing_backfill", "Response-timing backfill"
    PIPELINE_RUN_PURGE = "pipeline_run_purge", "Pipeline-run purge"
    MESSAGE_RETENTION = "message_retention", "Message retention"


class JobRun(models.Model):
    """One run of a background job: what, for which workspace (none: global), how it went and
    what it counted. Status moves forward only (QUEUED → RUNNING → SUCCEEDED | FAILED, or
    QUEUED → FAILED), through `workspaces.jobs`. The table keeps the name it had in pipeline,
    where the ledger began: every app records its jobs here, so it stands at the base."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    type = models.CharField(max_length=30, choices=JobType.choices)
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, null=True, blank=True, related_name="job_runs"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    # rows_processed and duration_ms always; job-specific counts beside them. Numbers only.
    metrics = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "pipeline_jobrun"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(type__in=JobType.values), name="jobrun_type_known"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["queued", "running", "succeeded", "failed"]),
                name="jobrun_status_known",
            ),
            # Started when it left the queue (a job failed before starting has no start);
            # finished exactly when it is over.
            models.CheckConstraint(
                condition=models.Q(
                    status="queued", started_at__isnull=True, finished_at__isnull=True
                )
                | models.Q(status="running", started_at__isnull=False, finished_at__isnull=True)
                | models.Q(status="succeeded", started_at__isnull=False, finished_at__isnull=False)
                | models.Q(status="failed", finished_at__isnull=False),
                name="jobrun_times_match_status",
            ),
        ]
        indexes = [
            models.Index(fields=["-created_at"], name="jobrun_time"),
            models.Index(fields=["type", "status", "-created_at"], name="jobrun_type_status_time"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.pk} ({self.status})"
