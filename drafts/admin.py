"""Admin for what webhooks brought in: raw events (filterable by status and channel, body
readable as received), conversations, messages and attachment metadata. These are records
of what happened, so they are read-only; staff see only their own workspaces' rows."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from drafts.models import Attachment, Conversation, InboundEvent, Message
from workspaces.admin import WorkspaceScopedAdmin


class ReadOnlyAdmin(WorkspaceScopedAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _pre(text: str) -> SafeString:
    return format_html('<pre style="white-space: pre-wrap; max-width: 100ch">{}</pre>', text)


@admin.register(InboundEvent)
class InboundEventAdmin(ReadOnlyAdmin):
    workspace_field = "channel__workspace"
    list_display = ["received_at", "channel", "event_type", "webhook_id", "status", "error"]
    # Only channels that have events in the rows this user may see are offered.
    list_filter = ["status", ("channel", admin.RelatedOnlyFieldListFilter), "event_type"]
    list_select_related = ["channel"]
    search_fields = ["webhook_id", "message__external_id"]
    date_hierarchy = "received_at"
    fields = readonly_fields = (
        "id",
        "channel",
        "event_type",
        "webhook_id",
        "status",
        "error",
        "error_details",
        "message",
        "remote_addr",
        "received_at",
        "request_headers",
        "raw_body",
    )

    @admin.display(description="details")
    def error_details(self, obj: InboundEvent) -> SafeString:
        return (
            _pre(json.dumps(obj.details, indent=2, ensure_ascii=False)) if obj.details else _pre("")
        )

    @admin.display(description="headers")
    def request_headers(self, obj: InboundEvent) -> SafeString:
        return _pre(json.dumps(obj.headers, indent=2, ensure_ascii=False))

    @admin.display(description="body as received")
    def raw_body(self, obj: InboundEvent) -> SafeString:
        return _pre(obj.body)


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "lead", "channel", "external_id", "status", "last_message_at"]
    list_filter = ["status", ("channel", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["lead", "channel"]
    search_fields = ["external_id", "subject", "lead__external_id", "lead__name"]


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    can_delete = False
    fields = readonly_fields = ("file_name", "mime_type", "size_bytes", "url")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ["sent_at", "direction", "sender_kind", "external_id", "lead", "channel"]
    list_filter = ["direction", "sender_kind", ("channel", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["lead", "channel"]
    search_fields = ["external_id", "lead__external_id"]
    date_hierarchy = "sent_at"
    raw_id_fields = ["conversation", "lead", "sender_user", "draft"]
    inlines = [AttachmentInline]


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    workspace_field = "message__workspace"
    list_display = ["file_name", "mime_type", "size_bytes", "message"]
    list_select_related = ["message"]
    search_fields = ["file_name", "message__external_id"]
    raw_id_fields = ["message"]
