"""Admin for scheduled sends: read-only, plus reconciling sends whose outcome is unknown."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from autosend.delivery import scheduled_send_reconcile
from autosend.models import ScheduledSend


@admin.register(ScheduledSend)
class ScheduledSendAdmin(admin.ModelAdmin):
    list_display = (
        "draft_id",
        "workspace",
        "origin",
        "status",
        "run_at",
        "attempts",
        "finished_at",
    )
    list_filter = ("status", "origin", "workspace")
    search_fields = ("draft__id", "transport_message_id")
    ordering = ("-run_at",)
    actions = ("mark_delivered", "mark_not_delivered")
    readonly_fields = [f.name for f in ScheduledSend._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description="Unknown sends: the lead did receive it")
    def mark_delivered(self, request: HttpRequest, queryset: QuerySet[ScheduledSend]) -> None:
        done = sum(scheduled_send_reconcile(scheduled_send=s, delivered=True) for s in queryset)
        self.message_user(request, f"{done} send(s) recorded as sent.", messages.SUCCESS)

    @admin.action(description="Unknown sends: the lead did not receive it")
    def mark_not_delivered(self, request: HttpRequest, queryset: QuerySet[ScheduledSend]) -> None:
        done = sum(scheduled_send_reconcile(scheduled_send=s, delivered=False) for s in queryset)
        self.message_user(request, f"{done} send(s) back to review.", messages.SUCCESS)
