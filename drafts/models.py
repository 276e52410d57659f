"""Conversations and messages, raw inbound events, drafts and what humans did with them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from config.ids import uuid7
from workspaces.models import Channel, Lead, Workspace


class Conversation(models.Model):
    """A thread between a lead and the workspace on one channel."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="conversations")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="conversations")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="conversations")
    # The sender's thread id; empty when the sender does not thread (one thread per lead).
    external_id = models.CharField(max_length=200, blank=True, default="")
    subject = models.CharField(max_length=500, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    # The operator who owns the thread. Until someone assigns it (`owner_set_at`), the owner
    # is the lead's rep, read through `drafts.assignment`; ingest never has to look it up.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_conversations",
    )
    owner_set_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # A thread belongs to its lead: another lead naming the same thread id gets a
            # conversation of their own, never a seat in this one (drafts/ingest.py).
            models.UniqueConstraint(
                fields=["channel", "external_id", "lead"],
                condition=~Q(external_id=""),
                name="conversation_thread_lead_unique",
            ),
            models.UniqueConstraint(
                fields=["channel", "lead"],
                condition=Q(external_id=""),
                name="conversation_unthreaded_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.subject or f"Conversation {self.pk}"


class ConversationAssignment(models.Model):
    """History of who owns a conversation: one row per assign, reassign or unassign."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="assignments"
    )
    previous_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    new_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.conversation_id}: {self.previous_owner_id} → {self.new_owner_id}"


class InboundEvent(models.Model):
    """A webhook body exactly as received, kept whatever happened to it."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        DUPLICATE = "duplicate", "Duplicate"
        REJECTED = "rejected", "Rejected"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # Indexed by `event_channel_status`, which starts with the channel.
    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="inbound_events", db_index=False
    )
    webhook_id = models.CharField(max_length=200, blank=True, default="")
    event_type = models.CharField(max_length=40, blank=True, default="")
    headers = models.JSONField(default=dict)
    body = models.TextField()
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True, default="")
    details = models.JSONField(null=True, blank=True)
    message = models.ForeignKey(
        "Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["channel", "status", "-received_at"], name="event_channel_status")
        ]

    def __str__(self) -> str:
        return f"{self.event_type or 'event'} {self.webhook_id} ({self.status})"


class Message(models.Model):
    """One message in a conversation, from the lead (inbound) or to them (outbound)."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"

    class Sender(models.TextChoices):
        LEAD = "lead", "Lead"
        USER = "user", "Human"
        AI = "ai", "AI"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="messages")
    # No single-column indexes on channel, conversation and lead: the composite indexes in
    # Meta start with each of them, and every index costs an insert per webhook.
    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    direction = models.CharField(max_length=10, choices=Direction.choices)
    sender_kind = models.CharField(max_length=10, choices=Sender.choices)
    sender_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sender_email = models.CharField(max_length=254, blank=True, default="")
    external_id = models.CharField(max_length=200)
    subject = models.CharField(max_length=500, blank=True, default="")
    body_text = models.TextField(blank=True, default="")
    body_html = models.TextField(blank=True, default="")
    sent_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    # For replies Replydesk sent: the draft, and the id the transport gave the message.
    draft = models.ForeignKey(
        "Draft", on_delete=models.SET_NULL, null=True, blank=True, related_name="sent_messages"
    )
    transport_message_id = models.CharField(max_length=500, blank=True, default="")
    body_erased_at = models.DateTimeField(null=True, blank=True)
    # When the unstarted-message sweeper last published this message's pipeline: it does so
    # again only after PIPELINE_REQUEUE_GRACE_SECONDS, so a message waiting behind a long
    # queue is not published on every sweep.
    pipeline_requeued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"], name="message_external_id_unique"
            ),
            models.CheckConstraint(
                condition=(Q(direction="inbound") & Q(sender_kind="lead"))
                | (Q(direction="outbound") & Q(sender_kind__in=["user", "ai"])),
                name="message_direction_matches_sender",
            ),
        ]
        indexes = [
            models.Index(fields=["conversation", "sent_at"], name="message_conversation_time"),
            models.Index(fields=["lead", "channel", "sent_at"], name="message_lead_channel_time"),
            models.Index(
                fields=["received_at"],
                condition=Q(direction="inbound"),
                name="message_inbound_received",
            ),
            # The response-timing processor reads every message in (received_at, id) order.
            models.Index(fields=["received_at", "id"], name="message_received_order"),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.external_id}"


class Attachment(models.Model):
    """Metadata of a file the sender attached; the file itself is never fetched."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file_name = models.CharField(max_length=500)
    mime_type = models.CharField(max_length=200, blank=True, default="")
    size_bytes = models.BigIntegerField(null=True, blank=True)
    url = models.URLField(max_length=2000, blank=True, default="")

    def __str__(self) -> str:
        return self.file_name


class Draft(models.Model):
    """The AI's proposed reply to one inbound message, and what the auto-send decided."""

    class Status(models.TextChoices):
        PENDING = "pending", "Needs review"
        SCHEDULED = "scheduled", "Scheduled"
        SENT = "sent", "Sent"
        REJECTED = "rejected", "Rejected"
        SUPERSEDED = "superseded", "Superseded"

    class Action(models.TextChoices):
        SEND = "send", "Auto-send"
        REVIEW = "review", "Review"
        BLOCK = "block", "Blocked"
        NONE = "none", "Not evaluated"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="drafts")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="drafts")
    trigger_message = models.OneToOneField(
        Message, on_delete=models.CASCADE, related_name="reply_draft"
    )
    run = models.OneToOneField(
        "pipeline.PipelineRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="draft",
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    text = models.TextField()
    original_text = models.TextField(help_text="The text as the pipeline first wrote it.")
    sources = models.JSONField(default=list, help_text="[{id, title, url}] of knowledge used.")
    unsupported = models.BooleanField(
        default=False, help_text="The verifier removed or flagged claims."
    )
    prompt_key = models.CharField(max_length=80, blank=True, default="")
    prompt_version = models.CharField(max_length=20, blank=True, default="")
    # Auto-send decision.
    auto_send_action = models.CharField(max_length=10, choices=Action.choices, default=Action.NONE)
    auto_send_confidence = models.FloatField(null=True, blank=True)
    original_confidence = models.FloatField(null=True, blank=True)
    final_confidence = models.FloatField(null=True, blank=True)
    revision_attempted_at = models.DateTimeField(null=True, blank=True)
    revision_applied = models.BooleanField(default=False)
    revision_iterations = models.SmallIntegerField(default=0)
    blocked_reason = models.CharField(max_length=80, blank=True, default="")
    held_reason = models.CharField(max_length=200, blank=True, default="")
    # A reviewer who opens the draft holds it for a while; others see who.
    held_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    held_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "scheduled", "sent", "rejected", "superseded"]),
                name="draft_status_known",
            ),
            # A pipeline run writes at most one draft, however many workers resumed it.
            models.UniqueConstraint(
                fields=["run"], condition=Q(run__isnull=False), name="draft_one_per_run"
            ),
            models.CheckConstraint(
                condition=Q(auto_send_confidence__isnull=True)
                | (Q(auto_send_confidence__gte=0) & Q(auto_send_confidence__lte=1)),
                name="draft_confidence_in_unit_interval",
            ),
            models.CheckConstraint(
                condition=Q(revision_iterations__gte=0) & Q(revision_iterations__lte=3),
                name="draft_revision_iterations_0_to_3",
            ),
        ]
        indexes = [
            # The review queue, oldest first; `id` breaks ties and lets a page's ids come
            # from an index-only scan, however deep the page.
            models.Index(
                fields=["workspace", "created_at", "id"],
                condition=Q(status="pending"),
                name="draft_pending_queue",
            ),
            models.Index(fields=["workspace", "status", "created_at"], name="draft_ws_status_time"),
        ]

    def __str__(self) -> str:
        return f"Draft {self.pk} ({self.status})"


class DraftAction(models.Model):
    """What a human did with a draft: approve, edit (then approve) or reject."""

    class Kind(models.TextChoices):
        APPROVE = "approve", "Approved"
        EDIT = "edit", "Edited and approved"
        REJECT = "reject", "Rejected"
        UNDO = "undo", "Undone (send stopped)"

    class RejectReason(models.TextChoices):
        WRONG_FACTS = "wrong_facts", "Wrong facts"
        WRONG_TONE = "wrong_tone", "Wrong tone"
        SHOULD_NOT_REPLY = "should_not_reply", "Should not reply"
        OTHER = "other", "Other"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="actions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    final_text = models.TextField(blank=True, default="")
    diff = models.JSONField(default=list)
    reason = models.CharField(max_length=20, choices=RejectReason.choices, blank=True, default="")
    note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.kind} on {self.draft_id}"


class LearningSample(models.Model):
    """An operator's edit of a draft: what the AI wrote and what the human sent instead."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="learning_samples"
    )
    draft = models.OneToOneField(Draft, on_delete=models.CASCADE, related_name="learning_sample")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    original = models.TextField()
    final = models.TextField()
    diff = models.JSONField(default=list)
    stage = models.CharField(max_length=60, blank=True, default="")
    prompt_key = models.CharField(max_length=80, blank=True, default="")
    prompt_version = models.CharField(max_length=20, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Sample from {self.draft_id}"


class Proposal(models.Model):
    """A fact about a lead the AI found in a message, waiting for the lead's rep."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    class Field(models.TextChoices):
        NAME = "name", "Name"
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        COMPANY = "company", "Company"
        TITLE = "title", "Title"
        TIMEZONE = "timezone", "Timezone"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="proposals")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="proposals")
    message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="proposals"
    )
    batch_id = models.UUIDField(db_index=True)
    field = models.CharField(max_length=20, choices=Field.choices)
    proposed_value = models.CharField(max_length=500)
    previous_value = models.CharField(max_length=500, blank=True, default="")
    applied_value = models.CharField(max_length=500, blank=True, default="")
    source_text = models.TextField(blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "field"],
                condition=Q(message__isnull=False),
                name="proposal_one_per_message_field",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "accepted", "rejected"]),
                name="proposal_status_known",
            ),
        ]
        indexes = [
            models.Index(
                fields=["workspace", "created_at"],
                condition=Q(status="pending"),
                name="proposal_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.field} → {self.proposed_value}"


class Notification(models.Model):
    """A small feed item for operators: a draft needs review, a run failed, a send is unknown."""

    class Kind(models.TextChoices):
        DRAFT_NEEDS_REVIEW = "draft_needs_review", "Draft needs review"
        PIPELINE_FAILED = "pipeline_failed", "Pipeline failed"
        SEND_UNKNOWN = "send_unknown", "Send outcome unknown"
        SEND_FAILED = "send_failed", "Send failed"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="notifications")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    title = models.CharField(max_length=300)
    draft = models.ForeignKey(
        Draft, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One notification per subject and kind, so retries do not repeat it.
            models.UniqueConstraint(
                fields=["kind", "draft"],
                condition=Q(draft__isnull=False),
                name="notification_once_per_draft",
            ),
            models.UniqueConstraint(
                fields=["kind", "message"],
                condition=Q(message__isnull=False, draft__isnull=True),
                name="notification_once_per_message",
            ),
        ]

    def __str__(self) -> str:
        return self.title
