"""Admin: runs with their artifacts, knowledge and AI telemetry. Staff who are not true
super-admins see only their own workspaces' rows. Runs and telemetry are records: read-only
(the job runs' admin is in workspaces.admin, beside the ledger)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from pipeline.models import AIInteraction, KnowledgeDocument, PipelineArtifact, PipelineRun
from workspaces.admin import WorkspaceScopedAdmin


class ReadOnlyMixin:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ArtifactInline(ReadOnlyMixin, admin.TabularInline):
    model = PipelineArtifact
    extra = 0
    fields = readonly_fields = (
        "stage",
        "iteration",
        "prompt_key",
        "prompt_version",
        "model",
        "input_tokens",
        "output_tokens",
        "latency_ms",
        "created_at",
    )
    can_delete = False
    show_change_link = True


@admin.register(PipelineRun)
class PipelineRunAdmin(ReadOnlyMixin, WorkspaceScopedAdmin):
    list_display = [
        "id",
        "workspace",
        "status",
        "attempts",
        "provider",
        "started_at",
        "finished_at",
    ]
    list_filter = ["status", "provider"]
    search_fields = ["id", "trigger_message__id"]
    readonly_fields = [
        "id",
        "workspace",
        "trigger_message",
        "channel",
        "status",
        "attempts",
        "error",
        "provider",
        "context_pack",
        "started_at",
        "finished_at",
    ]
    inlines = [ArtifactInline]
    list_select_related = ["workspace"]


@admin.register(PipelineArtifact)
class PipelineArtifactAdmin(ReadOnlyMixin, WorkspaceScopedAdmin):
    workspace_field = "run__workspace"
    list_display = ["run", "stage", "iteration", "prompt_key", "model", "latency_ms", "created_at"]
    list_filter = ["stage"]
    readonly_fields = [
        "run",
        "stage",
        "iteration",
        "prompt_key",
        "prompt_version",
        "model",
        "payload",
        "text",
        "input_tokens",
        "output_tokens",
        "latency_ms",
        "created_at",
    ]


@admin.register(KnowledgeDocument)
class KnowledgeDocumentAdmin(WorkspaceScopedAdmin):
    list_display = [
        "title",
        "workspace",
        "source_url",
        "updated_at",
        "refresh_interval",
        "next_refresh_at",
        "last_refresh_error",
    ]
    search_fields = ["title", "body"]
    list_select_related = ["workspace"]
    # Written by the refresh task alone.
    readonly_fields = [
        "last_refreshed_at",
        "last_refresh_error",
        "refresh_failures",
        "content_hash",
    ]


@admin.register(AIInteraction)
class AIInteractionAdmin(ReadOnlyMixin, WorkspaceScopedAdmin):
    list_display = [
        "created_at",
        "workspace",
        "stage",
        "provider",
        "model",
        "outcome",
        "attempt",
        "input_tokens",
        "output_tokens",
        "latency_ms",
    ]
    list_filter = ["stage", "provider", "outcome"]
    readonly_fields = [f.name for f in AIInteraction._meta.fields]
