"""Workspace services: creating tenants and their channels, people and tokens, and the one
audited path by which any knob changes."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Field
from django.utils import timezone
from django.utils.text import slugify

from workspaces.access import is_true_superadmin
from workspaces.errors import DomainError, NotFound, PermissionDenied
from workspaces.model_choice_port import MODEL_KNOBS, ModelChoiceVerdict, model_choices_verdict
from workspaces.models import (
    KNOBS,
    REVISION_KNOBS,
    SETTINGS_CONSTRAINT_FIELDS,
    ApiToken,
    Channel,
    ChannelKind,
    Membership,
    SettingsChange,
    Transport,
    Workspace,
    WorkspaceSettings,
    outbound_url_errors,
)
from workspaces.tokens import generate_token, hash_token


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def outbound_url_refuse(*, field: str, url: str) -> None:
    """Raise `DomainError` naming `field` when the outbound guard refuses `url` at
    configuration time (a literal private host, a non-http(s) scheme, userinfo)."""
    errors = outbound_url_errors(field, url)
    if errors:
        raise DomainError(errors[field], details=[{"field": field, "message": errors[field]}])


def workspace_create(*, name: str, slug: str | None = None) -> Workspace:
    """A workspace always has its settings row; both are made together."""
    slug = slug or slugify(name)[:80] or "workspace"
    with transaction.atomic():
        workspace = Workspace.objects.create(name=name, slug=slug)
        WorkspaceSettings.objects.create(workspace=workspace)
    return workspace


def channel_create(
    *,
    workspace: Workspace,
    kind: str,
    name: str | None = None,
    transport: str | None = None,
    outbound_url: str = "",
    from_address: str = "",
) -> Channel:
    if kind not in ChannelKind.values:
        raise DomainError(
            f"Unknown channel kind {kind!r}; use one of {', '.join(ChannelKind.values)}."
        )
    outbound_url_refuse(field="outbound_url", url=outbound_url)
    return Channel.objects.create(
        workspace=workspace,
        kind=kind,
        name=name or f"{ChannelKind(kind).label} inbox",
        key=secrets.token_urlsafe(24),
        secret=new_webhook_secret(),
        outbound_secret=new_webhook_secret(),
        transport=transport or Transport.LOG,
        outbound_url=outbound_url,
        from_address=from_address,
    )


def user_ensure(*, email: str, password: str | None = None, superuser: bool = False) -> User:
    """The user with this email (the username), created when missing; never changes an
    existing password."""
    user = User.objects.filter(username=email).first()
    if user is None:
        user = User.objects.create_user(
            username=email,
            email=email,
            password=password,
            is_superuser=superuser,
            is_staff=superuser,
        )
    return user


def membership_ensure(*, user: User, workspace: Workspace, role: str) -> Membership:
    membership, _ = Membership.objects.get_or_create(
        user=user, workspace=workspace, defaults={"role": role}
    )
    return membership


def api_token_create(
    *, workspace: Workspace, user: User, name: str = "default", raw: str | None = None
) -> tuple[ApiToken, str]:
    """A token acting as `user` in `workspace`; the plain value is returned once, never stored."""
    if not Membership.objects.filter(user=user, workspace=workspace).exists():
        raise DomainError("An API token's user must be a member of its workspace.")
    if raw is None:
        raw, prefix = generate_token()
    else:
        prefix = raw.removeprefix("rdk_").split("_", 1)[0]
    token = ApiToken.objects.create(
        workspace=workspace, user=user, name=name, prefix=prefix, token_hash=hash_token(raw)
    )
    return token, raw


def api_token_revoke(*, workspace: Workspace, user: User, token_id: Any) -> ApiToken:
    """Revoke one of `user`'s live tokens in `workspace`, at once and for good. Someone
    else's token, or another workspace's, is not found; revoking twice changes nothing."""
    mine = ApiToken.objects.filter(pk=token_id, workspace=workspace, user=user)
    mine.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    token = mine.first()
    if token is None:
        raise NotFound("Not found.")
    return token


def _coerce_knob(ws_settings: WorkspaceSettings, field: str, value: Any) -> Any:
    model_field = WorkspaceSettings._meta.get_field(field)
    assert isinstance(model_field, Field)
    try:
        return model_field.to_python(value)
    except ValidationError as exc:
        raise DomainError(
            f"Invalid value for {field}.",
            details=[{"field": field, "message": m} for m in exc.messages],
        ) from None


def _settings_problems(
    ws_settings: WorkspaceSettings, *, changed_fields: set[str]
) -> list[dict[str, str]]:
    """Field and constraint errors of the row as it would be saved, each naming a field."""
    problems: list[dict[str, str]] = []
    try:
        ws_settings.clean_fields(exclude=["workspace"])
    except ValidationError as exc:
        problems += [
            {"field": field, "message": message}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    for constraint in WorkspaceSettings._meta.constraints:
        try:
            constraint.validate(WorkspaceSettings, ws_settings)
        except ValidationError as exc:
            fields = SETTINGS_CONSTRAINT_FIELDS.get(constraint.name, ("__all__",))
            field = next((f for f in fields if f in changed_fields), fields[0])
            problems += [{"field": field, "message": message} for message in exc.messages]
    return problems


def workspace_models_check(*, workspace: Workspace, changes: dict[str, Any]) -> ModelChoiceVerdict:
    """The model names in `changes` that differ from the saved ones, checked against what the
    model server offers (workspaces/model_choice_port.py). An edge that wants to show the
    verdict's notice calls this first, with the same `changes`, and hands the verdict to
    `workspace_settings_update`; otherwise the update runs it. An unchanged name sent back is
    not checked again, so a client that writes back what it read is never refused for a
    choice made before."""
    asked = {knob: str(changes[knob]) for knob in MODEL_KNOBS if changes.get(knob) is not None}
    if asked:
        saved = WorkspaceSettings.objects.filter(workspace=workspace).values(*asked).first() or {}
        asked = {knob: name for knob, name in asked.items() if name != saved.get(knob)}
    return model_choices_verdict(asked)


def workspace_settings_update(
    *,
    workspace: Workspace,
    actor: User | None,
    changes: dict[str, Any],
    source: str,
    system: bool = False,
    models_checked: ModelChoiceVerdict | None = None,
) -> list[SettingsChange]:
    """Change knobs atomically, one `SettingsChange` row per field that really changed.

    Revision knobs need a true super-admin (`system=True` is for provisioning commands run by
    an operator at a shell). Validation covers the whole resulting row, so a min delay above
    the max is refused even when only one of them is sent. A model name the model server does
    not offer is refused (`workspace_models_check`, asked before the row is locked: it may talk
    to the server). Nothing changes on refusal.
    """
    unknown = sorted(set(changes) - set(KNOBS))
    if unknown:
        raise DomainError(
            "Unknown settings.",
            details=[{"field": f, "message": "Not a setting."} for f in unknown],
        )
    if not system and REVISION_KNOBS & set(changes) and not is_true_superadmin(actor):
        raise PermissionDenied(
            "Only a super-admin may change revision settings.",
            details=sorted(REVISION_KNOBS & set(changes)),
        )
    verdict = models_checked or workspace_models_check(workspace=workspace, changes=changes)
    if verdict.problems:
        raise DomainError("Invalid settings.", details=list(verdict.problems))
    with transaction.atomic():
        ws_settings = WorkspaceSettings.objects.select_for_update().get(workspace=workspace)
        before = {field: getattr(ws_settings, field) for field in changes}
        for field, value in changes.items():
            setattr(ws_settings, field, _coerce_knob(ws_settings, field, value))
        problems = _settings_problems(ws_settings, changed_fields=set(changes))
        if problems:
            raise DomainError("Invalid settings.", details=problems)
        changed = [f for f in changes if getattr(ws_settings, f) != before[f]]
        if not changed:
            return []
        ws_settings.save(update_fields=[*changed, "updated_at"])
        rows = [
            SettingsChange(
                workspace=workspace,
                changed_by=actor if actor is not None and actor.is_authenticated else None,
                field=field,
                old_value=before[field],
                new_value=getattr(ws_settings, field),
                source=source,
            )
            for field in changed
        ]
        return SettingsChange.objects.bulk_create(rows)
