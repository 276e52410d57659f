"""Read-only admin for response timing: the rows are derived data, written by the processor."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from timing.models import ResponseTimingEvent, TimingWatermark
from workspaces.admin import WorkspaceScopedAdmin


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ResponseTimingEvent)
class ResponseTimingEventAdmin(ReadOnlyAdmin, WorkspaceScopedAdmin):
    list_display = [
        "inbound_sent_at",
        "workspace",
        "channel",
        "opened_burst",
        "setter_ms",
        "ai_ms",
        "delay_chosen_seconds",
        "delay_actual_ms",
    ]
    list_filter = ["opened_burst", "channel__kind"]
    date_hierarchy = "inbound_sent_at"
    list_select_related = ["workspace", "channel"]
    raw_id_fields = [
        "inbound_message",
        "lead",
        "setter_message",
        "setter_user",
        "ai_draft",
        "ai_message",
    ]
    show_full_result_count = False


@admin.register(TimingWatermark)
class TimingWatermarkAdmin(ReadOnlyAdmin):
    list_display = ["name", "received_at", "message_id", "updated_at"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)
