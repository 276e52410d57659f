"""Response timing: for every inbound message, how long the setter and the AI took to answer.

Rows are derived data, written only by `timing.processor` (set-based SQL), never by hand.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from drafts.models import Draft, Message
from workspaces.models import Channel, Lead, Workspace


class ResponseTimingEvent(models.Model):
    """One inbound message and the first setter reply and first AI reply after it in its
    thread (lead + channel), with the AI send's delay attribution.

    `opened_burst`: the inbound was the first one since the last outbound message (of any
    sender), or the first ever. Summaries count only those, so a lead who sends five lines in
    a row is one wait, not five.
    """

    inbound_message = models.OneToOneField(
        Message, on_delete=models.CASCADE, primary_key=True, related_name="response_timing"
    )
    # Every other reference is copied from rows the processor reads in the same statement, so
    # it holds by construction: no database FK constraint on them (db_constraint=False). The
    # deferred FK checks were most of the write cost: 7.9 s of 11.4 s to insert 110,000 rows.
    # Deletes still cascade or null them through Django's on_delete.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    inbound_sent_at = models.DateTimeField()
    opened_burst = models.BooleanField()

    # The setter's (a human's) first reply after the inbound message.
    setter_message = models.ForeignKey(
        Message,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    setter_replied_at = models.DateTimeField(null=True, blank=True)
    setter_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    # Outbound events from another tool may name a setter who has no account here.
    setter_email = models.CharField(max_length=254, blank=True, default="")
    setter_ms = models.BigIntegerField(null=True, blank=True)

    # The AI's first reply after the inbound message.
    ai_draft = models.ForeignKey(
        Draft,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    ai_message = models.ForeignKey(
        Message,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    ai_replied_at = models.DateTimeField(null=True, blank=True)
    ai_ms = models.BigIntegerField(null=True, blank=True)

    # Delay attribution, from the ScheduledSend that delivered the AI reply: the configured
    # bounds, the delay the deterministic function picks for THIS inbound message, the delay
    # that actually passed (AI reply minus inbound), and the send's due, start and finish times.
    delay_min_seconds = models.IntegerField(null=True, blank=True)
    delay_max_seconds = models.IntegerField(null=True, blank=True)
    delay_chosen_seconds = models.IntegerField(null=True, blank=True)
    delay_actual_ms = models.BigIntegerField(null=True, blank=True)
    send_due_at = models.DateTimeField(null=True, blank=True)
    send_started_at = models.DateTimeField(null=True, blank=True)
    send_finished_at = models.DateTimeField(null=True, blank=True)

    # When the row was last written with different values (an unchanged rerun leaves it).
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["inbound_sent_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(setter_ms__isnull=True) | Q(setter_ms__gte=0),
                name="timing_setter_ms_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(ai_ms__isnull=True) | Q(ai_ms__gte=0),
                name="timing_ai_ms_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(delay_chosen_seconds__isnull=True)
                | (
                    Q(delay_chosen_seconds__gte=F("delay_min_seconds"))
                    & Q(delay_chosen_seconds__lte=F("delay_max_seconds"))
                ),
                name="timing_chosen_delay_within_bounds",
            ),
        ]
        indexes = [
            # Workspace windowing: summaries, the per-day chart and the distribution.
            models.Index(fields=["workspace", "inbound_sent_at"], name="timing_ws_time"),
            # Lead windowing: one lead's thread history on one channel.
            models.Index(fields=["lead", "channel", "inbound_sent_at"], name="timing_lead_time"),
            # Per-setter aggregation (summaries count burst openers only).
            models.Index(
                fields=["workspace", "setter_user", "inbound_sent_at"],
                condition=Q(opened_burst=True, setter_ms__isnull=False),
                name="timing_setter",
            ),
            # Delay buckets: chosen versus actual, read from the index alone. Key columns
            # rather than INCLUDE, which the embedded SQLite fallback does not know.
            models.Index(
                fields=["workspace", "inbound_sent_at", "delay_chosen_seconds", "delay_actual_ms"],
                condition=Q(opened_burst=True, delay_chosen_seconds__isnull=False),
                name="timing_ai_delay",
            ),
            # AI replies whose send had not finished when the row was written (refreshed later).
            models.Index(
                fields=["ai_draft"],
                condition=Q(ai_draft__isnull=False, send_finished_at__isnull=True),
                name="timing_send_unfinished",
            ),
        ]

    def __str__(self) -> str:
        return f"Timing of {self.inbound_message_id}"


class TimingWatermark(models.Model):
    """How far the processor has read `drafts.Message` in (received_at, id) order.

    One row per processor (`name`); locked FOR UPDATE while a batch runs so two beat ticks
    never work the same range.
    """

    name = models.CharField(max_length=40, primary_key=True)
    received_at = models.DateTimeField(null=True, blank=True)
    message_id = models.UUIDField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(received_at__isnull=True, message_id__isnull=True)
                | Q(received_at__isnull=False, message_id__isnull=False),
                name="timing_watermark_both_or_neither",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} @ {self.received_at} / {self.message_id}"
