"""Admin for tenants and their people. Staff who are not super-admins see only their own
workspaces; knobs change through the audited service, revision knobs for super-admins only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from workspaces.access import is_true_superadmin, scope_to_user, workspaces_for
from workspaces.errors import DomainError
from workspaces.models import (
    KNOBS,
    REVISION_KNOBS,
    ApiToken,
    Channel,
    JobRun,
    Lead,
    Membership,
    OutboundWebhook,
    SettingsChange,
    WebhookDelivery,
    WebhookEvent,
    Workspace,
    WorkspaceSettings,
)
from workspaces.services import workspace_models_check, workspace_settings_update
from workspaces.webhooks_out import outbound_webhook_save


class WorkspaceScopedAdmin(admin.ModelAdmin):
    """Rows of the staff member's own workspaces unless they are a true super-admin."""

    workspace_field = "workspace"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        if is_true_superadmin(request.user):
            return qs
        return scope_to_user(qs, request.user, self.workspace_field)


@admin.register(Workspace)
class WorkspaceAdmin(WorkspaceScopedAdmin):
    workspace_field = "pk"
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    readonly_fields = ["id", "created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = admin.ModelAdmin.get_queryset(self, request)
        if is_true_superadmin(request.user):
            return qs
        return qs.filter(memberships__user_id=request.user.pk).distinct()


@admin.register(WorkspaceSettings)
class WorkspaceSettingsAdmin(WorkspaceScopedAdmin):
    list_display = [
        "workspace",
        "auto_send_enabled",
        "auto_send_confidence_threshold",
        "revision_enabled",
        "revision_model",
        "revision_max_iterations",
    ]
    list_filter = ["auto_send_enabled", "revision_enabled"]
    search_fields = ["workspace__name"]
    fields = ["workspace", *KNOBS]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = ["workspace"]
        if not is_true_superadmin(request.user):
            readonly += sorted(REVISION_KNOBS)
        return readonly

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # created with the workspace

    def save_model(
        self, request: HttpRequest, obj: WorkspaceSettings, form: Any, change: bool
    ) -> None:
        """Through the audited service, never `obj.save()`: one SettingsChange per field.
        The form has already validated the row; a refusal here (a concurrent change made the
        row invalid) propagates to `changeform_view`, which rolls back and says why."""
        changes = {field: form.cleaned_data[field] for field in form.changed_data if field in KNOBS}
        assert isinstance(request.user, User)
        verdict = workspace_models_check(workspace=obj.workspace, changes=changes)
        workspace_settings_update(
            workspace=obj.workspace,
            actor=request.user,
            changes=changes,
            source="admin",
            models_checked=verdict,
        )
        if verdict.notice:
            self.message_user(request, verdict.notice, messages.WARNING)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            self.message_user(request, refusal_text(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


def refusal_text(exc: DomainError) -> str:
    """`Invalid settings. auto_send_delay_max_seconds: The maximum delay …` for a page."""
    details = exc.details if isinstance(exc.details, list) else []
    parts = [
        f"{item['field']}: {item['message']}" if isinstance(item, dict) else str(item)
        for item in details
    ]
    return " ".join([exc.message, *parts])


@admin.register(Membership)
class MembershipAdmin(WorkspaceScopedAdmin):
    list_display = ["user", "workspace", "role", "created_at"]
    list_filter = ["role", "workspace"]
    search_fields = ["user__username", "user__email", "workspace__name"]
    autocomplete_fields = ["user", "workspace"]


@admin.register(Channel)
class ChannelAdmin(WorkspaceScopedAdmin):
    list_display = ["name", "kind", "workspace", "transport", "created_at"]
    list_filter = ["kind", "transport"]
    search_fields = ["name", "workspace__name", "key"]
    # The signing secrets are never shown after creation.
    exclude = ["secret", "previous_secret", "outbound_secret"]
    readonly_fields = ["id", "key", "created_at"]


@admin.register(Lead)
class LeadAdmin(WorkspaceScopedAdmin):
    list_display = [
        "display_name",
        "external_id",
        "workspace",
        "email",
        "assigned_to",
        "updated_at",
    ]
    list_filter = ["workspace"]
    search_fields = ["name", "email", "phone", "external_id", "company"]
    raw_id_fields = ["assigned_to"]


@admin.register(ApiToken)
class ApiTokenAdmin(WorkspaceScopedAdmin):
    list_display = [
        "prefix",
        "name",
        "workspace",
        "user",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["workspace"]
    search_fields = ["name", "prefix", "user__username"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    exclude = ["token_hash"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # issued by provisioning, where the plain value can be shown once


@admin.register(SettingsChange)
class SettingsChangeAdmin(WorkspaceScopedAdmin):
    list_display = [
        "created_at",
        "workspace",
        "field",
        "old_value",
        "new_value",
        "changed_by",
        "source",
    ]
    list_filter = ["field", "source", "workspace"]
    search_fields = ["field", "workspace__name", "changed_by__username"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OutboundWebhookForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = OutboundWebhook
        fields = ["workspace", "url", "events", "active"]


@admin.register(OutboundWebhook)
class OutboundWebhookAdmin(WorkspaceScopedAdmin):
    """A workspace's outbound webhooks. The signing secret is shown once, when one is made."""

    form = OutboundWebhookForm
    list_display = ["url", "workspace", "events", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "workspace__name"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["workspace", "created_at"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "workspace" and not is_true_superadmin(request.user):
            kwargs["queryset"] = workspaces_for(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(
        self, request: HttpRequest, obj: OutboundWebhook, form: Any, change: bool
    ) -> None:
        secret = outbound_webhook_save(webhook=obj)
        if secret:
            self.message_user(
                request,
                f"Signing secret for {obj.url} (shown only now; the receiver verifies "
                f"signatures with it): {secret}",
                messages.WARNING,
            )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(WorkspaceScopedAdmin):
    """What each webhook was sent and how it went: a record, so read-only."""

    workspace_field = "webhook__workspace"
    list_display = [
        "created_at",
        "event_type",
        "webhook",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "event_type"]
    list_select_related = ["webhook"]
    search_fields = ["id", "event_key"]
    readonly_fields = [
        "id",
        "webhook",
        "event_type",
        "event_key",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "started_at",
        "last_error",
        "last_status_code",
        "created_at",
        "delivered_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(JobRun)
class JobRunAdmin(WorkspaceScopedAdmin):
    """Job runs are records: read-only. Global runs (no workspace) are true super-admins' alone."""

    list_display = [
        "created_at",
        "type",
        "workspace",
        "status",
        "started_at",
        "finished_at",
        "error",
    ]
    list_filter = ["type", "status"]
    search_fields = ["id"]
    readonly_fields = [f.name for f in JobRun._meta.fields]
    list_select_related = ["workspace"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
