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
