"""Provisioning: the demo workspace and new workspaces, idempotently, as CONTRACTS.md fixes.

It stands in `ops`, at the top, because a provisioned workspace is made of several apps'
rows: the tenant, its people, channels and token (workspaces' services) and its knowledge
documents (`pipeline.knowledge`), in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.text import slugify

from pipeline.knowledge import KnowledgeInput, knowledge_documents_import, knowledge_file_read
from workspaces.models import ApiToken, Channel, Lead, Role, Workspace
from workspaces.services import (
    api_token_create,
    channel_create,
    membership_ensure,
    user_ensure,
    workspace_create,
    workspace_settings_update,
)
from workspaces.tokens import derived_token, hash_token

DEMO_NAME = "Demo Co"
DEMO_PASSWORD = "demo-pass-123"
DEMO_KNOWLEDGE = Path(__file__).resolve().parent / "demo" / "knowledge_demo.jsonl"
DEMO_LEADS = [
    {
        "external_id": "lead-1",
        "name": "Sam Rivera",
        "email": "sam.rivera@example.com",
        "phone": "+15205550101",
        "timezone": "America/Phoenix",
    },
    {
        "external_id": "lead-2",
        "name": "Lee Chen",
        "email": "lee.chen@example.com",
        "phone": "+17025550102",
        "timezone": "America/Los_Angeles",
    },
    {
        "external_id": "lead-3",
        "name": "Ana Ruiz",
        "email": "ana.ruiz@example.com",
        "phone": "+15055550103",
        "timezone": "America/Denver",
    },
]


@dataclass(frozen=True)
class Provisioned:
    workspace: Workspace
    api_token: str
    channels: list[Channel]

    def as_json(self) -> dict[str, Any]:
        return {
            "workspace_id": str(self.workspace.pk),
            "api_token": self.api_token,
            "channels": [
                {
                    "kind": channel.kind,
                    "key": channel.key,
                    "secret": channel.secret,
                    "webhook_url": channel.webhook_path,
                }
                for channel in self.channels
            ],
        }


def _operator_token(workspace: Workspace, operator: Any) -> str:
    """The workspace's provisioning token, derived so every run prints the same one; if it
    is missing (or SECRET_KEY changed) a new one is issued."""
    raw, _ = derived_token(workspace=workspace, purpose="provisioned-operator")
    if not ApiToken.objects.filter(token_hash=hash_token(raw), revoked_at__isnull=True).exists():
        api_token_create(workspace=workspace, user=operator, name="provisioned", raw=raw)
    return raw


def workspace_provision(
    *,
    name: str,
    channel_kinds: list[str],
    knowledge: list[KnowledgeInput] | None = None,
    auto_send: bool = False,
    revision: bool = False,
    slug: str | None = None,
    password: str | None = None,
) -> Provisioned:
    """Make (or find) a workspace with its channels, operator, rep and token.

    Running it again with the same name changes nothing that already exists: missing
    channel kinds are added, documents already loaded are skipped, and the same token and
    channel secrets are printed.
    """
    slug = slug or slugify(name)[:80] or "workspace"
    with transaction.atomic():
        workspace = Workspace.objects.filter(slug=slug).first() or workspace_create(
            name=name, slug=slug
        )
        operator = user_ensure(email=f"operator@{slug}.test", password=password)
        rep = user_ensure(email=f"rep@{slug}.test", password=password)
        membership_ensure(user=operator, workspace=workspace, role=Role.OPERATOR)
        membership_ensure(user=rep, workspace=workspace, role=Role.OPERATOR)
        channels = list(workspace.channels.order_by("created_at"))
        for kind in channel_kinds:
            if not any(channel.kind == kind for channel in channels):
                channels.append(channel_create(workspace=workspace, kind=kind))
        if knowledge:
            knowledge_documents_import(workspace=workspace, documents=knowledge)
        knobs: dict[str, Any] = {}
        if auto_send:
            knobs["auto_send_enabled"] = True
        if revision:
            knobs["revision_enabled"] = True
        if knobs:
            workspace_settings_update(
                workspace=workspace, actor=None, changes=knobs, source="provision", system=True
            )
        Lead.objects.filter(workspace=workspace, assigned_to__isnull=True).update(assigned_to=rep)
        token = _operator_token(workspace, operator)
    wanted = [c for c in channels if c.kind in channel_kinds] or channels
    return Provisioned(workspace=workspace, api_token=token, channels=wanted)


def demo_seed() -> Provisioned:
    """The demo workspace "Demo Co", created once; later runs print the same JSON."""
    with transaction.atomic():
        provisioned = workspace_provision(
            name=DEMO_NAME,
            slug="demo",
            channel_kinds=["email", "sms"],
            knowledge=knowledge_file_read(DEMO_KNOWLEDGE),
            password=DEMO_PASSWORD,
        )
        workspace = provisioned.workspace
        admin = user_ensure(email="admin@demo.test", password=DEMO_PASSWORD, superuser=True)
        membership_ensure(user=admin, workspace=workspace, role=Role.ADMIN)
        rep = user_ensure(email="rep@demo.test", password=DEMO_PASSWORD)
        for lead in DEMO_LEADS:
            Lead.objects.get_or_create(
                workspace=workspace,
                external_id=lead["external_id"],
                defaults={**lead, "assigned_to": rep},
            )
    return provisioned
