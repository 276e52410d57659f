"""Delayed sends live in the database, not the broker: one row per draft to send."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from config.ids import uuid7
from workspaces.models import Workspace


class ScheduledSend(models.Model):
    """A reply due at `run_at`. Claimed by the delivery beat with a compare-and-swap to
    `sending`; a row stuck in `sending` becomes `unknown` and is never retried automatically.

    scheduled → sending → sent | failed | unknown;  scheduled → cancelled.
    """

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        CANCELLED = "cancelled", "Cancelled"
        UNKNOWN = "unknown", "Unknown (check the transport)"
        FAILED = "failed", "Failed"

    class Origin(models.TextChoices):
        AUTO = "auto", "Automatic"
        APPROVAL = "approval", "Operator approval"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="scheduled_sends"
    )
    draft = models.OneToOneField(
        "drafts.Draft", on_delete=models.CASCADE, related_name="scheduled_send"
    )
    conversation = models.ForeignKey(
        "drafts.Conversation", on_delete=models.CASCADE, related_name="scheduled_sends"
    )
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.AUTO)
    # Who approved an operator-origin send; the outbound message is recorded as theirs.
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    text = models.TextField(help_text="The exact text to send; a changed draft cancels the send.")
    run_at = models.DateTimeField()
    chosen_delay_seconds = models.IntegerField(default=0)
    delay_min_seconds = models.IntegerField(default=0)
    delay_max_seconds = models.IntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.SmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    cancel_reason = models.CharField(max_length=80, blank=True, default="")
    transport_message_id = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=["scheduled", "sending", "sent", "cancelled", "unknown", "failed"]
                ),
                name="scheduledsend_status_known",
            ),
            models.CheckConstraint(
                condition=Q(chosen_delay_seconds__gte=0), name="scheduledsend_delay_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(origin__in=["auto", "approval"]), name="scheduledsend_origin_known"
            ),
        ]
        indexes = [
            models.Index(
                fields=["run_at"], condition=Q(status="scheduled"), name="scheduledsend_due"
            ),
            models.Index(
                fields=["started_at"], condition=Q(status="sending"), name="scheduledsend_in_flight"
            ),
        ]

    def __str__(self) -> str:
        return f"Send {self.draft_id} at {self.run_at} ({self.status})"


class AutoSendVerdict(models.Model):
    """What auto-send decided for a draft, or, in shadow (auto-send off for the workspace or
    the kill switch set), what it would have decided: the evidence for turning auto-send on.
    One per draft; a later live decision for the same draft replaces a shadow one.

    `would_send` is the orchestrator's own test (confident at the threshold, not blocked, not
    held, every deterministic check passed), never whether a send really went out.
    """

    class Reason(models.TextChoices):
        CONFIDENT = "confident", "Confident, and it passed the safety gate and every check"
        BLOCKED = "blocked", "Blocked by the safety gate"
        HELD = "held", "Held for a person"
        BELOW_THRESHOLD = "below_threshold", "Confidence below the threshold"
        CHECK_FAILED = "check_failed", "A check on the reply failed"
        EVALUATION_ERROR = "evaluation_error", "The evaluation failed"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="auto_send_verdicts", db_index=False
    )
    draft = models.OneToOneField(
        "drafts.Draft", on_delete=models.CASCADE, related_name="auto_send_verdict"
    )
    shadow = models.BooleanField(
        help_text="True when auto-send did not act on the draft (off, or the kill switch)."
    )
    confidence = models.FloatField(null=True, blank=True)
    threshold = models.FloatField()
    gate_category = models.CharField(max_length=80, blank=True, default="")
    would_send = models.BooleanField()
    would_send_reason = models.CharField(max_length=20, choices=Reason.choices)
    detail = models.CharField(
        max_length=200, blank=True, default="", help_text="The held reason or the failed check."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    would_send_reason__in=[
                        "confident",
                        "blocked",
                        "held",
                        "below_threshold",
                        "check_failed",
                        "evaluation_error",
                    ]
                ),
                name="autosendverdict_reason_known",
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True)
                | (Q(confidence__gte=0) & Q(confidence__lte=1)),
                name="autosendverdict_confidence_in_unit_interval",
            ),
            # Would send ⇔ confident; and confident means scored at the threshold, unblocked.
            models.CheckConstraint(
                condition=(
                    Q(would_send=True, would_send_reason="confident", gate_category="")
                    & Q(confidence__gte=models.F("threshold"))
                )
                | (Q(would_send=False) & ~Q(would_send_reason="confident")),
                name="autosendverdict_would_send_means_confident",
            ),
            # Blocked ⇔ the gate named a category.
            models.CheckConstraint(
                condition=(Q(would_send_reason="blocked") & ~Q(gate_category=""))
                | (~Q(would_send_reason="blocked") & Q(gate_category="")),
                name="autosendverdict_blocked_has_category",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "created_at"], name="autosendverdict_ws_time"),
        ]

    def __str__(self) -> str:
        return f"Verdict on {self.draft_id}: {'send' if self.would_send else 'hold'}"
