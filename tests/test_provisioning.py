"""seed_demo and provision_workspace, as CONTRACTS.md fixes them."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from pipeline.models import KnowledgeDocument
from workspaces.models import ApiToken, Channel, Lead, Membership, Workspace, WorkspaceSettings
from workspaces.tokens import api_token_authenticate

DATA = Path(__file__).resolve().parent.parent / "ops" / "demo" / "knowledge_demo.jsonl"


def run(*args: str) -> dict:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def table_counts() -> dict[str, int]:
    return {
        m.__name__: m.objects.count()
        for m in (
            Workspace,
            Channel,
            Lead,
            Membership,
            ApiToken,
            KnowledgeDocument,
            WorkspaceSettings,
        )
    }


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_prints_the_contract_shape():
    first = run("seed_demo", "--json")
    counts = table_counts()
    second = run("seed_demo", "--json")
    assert first == second
    assert table_counts() == counts
    workspace = Workspace.objects.get(pk=first["workspace_id"])
    assert workspace.name == "Demo Co"
    assert [c["kind"] for c in first["channels"]] == ["email", "sms"]
    for channel in first["channels"]:
        assert channel["secret"].startswith("whsec_")
        assert channel["webhook_url"] == f"/webhooks/inbound/{channel['key']}"
    token = api_token_authenticate(raw=first["api_token"])
    assert token is not None
    assert token.user.username == "operator@demo.test"
    assert KnowledgeDocument.objects.filter(workspace=workspace).count() == len(
        DATA.read_text().splitlines()
    )
    assert set(
        Lead.objects.filter(workspace=workspace).values_list("assigned_to__username", flat=True)
    ) == {"rep@demo.test"}


@pytest.mark.django_db
def test_demo_people_can_sign_in(client):
    run("seed_demo", "--json")
    for email in ("operator@demo.test", "rep@demo.test", "admin@demo.test"):
        assert client.login(username=email, password="demo-pass-123")
    assert Membership.objects.get(user__username="admin@demo.test").user.is_superuser


@pytest.mark.django_db
def test_provision_workspace_with_everything(tmp_path):
    knowledge = tmp_path / "k.jsonl"
    knowledge.write_text(
        '{"title": "Hours", "body": "9 to 5.", "source_url": "https://x.example/h"}\n'
    )
    data = run(
        "provision_workspace",
        "Bright Dental",
        "--channel",
        "sms",
        "--channel",
        "chat",
        "--knowledge",
        str(knowledge),
        "--auto-send",
        "--revision",
        "--json",
    )
    workspace = Workspace.objects.get(pk=data["workspace_id"])
    assert workspace.slug == "bright-dental"
    assert [c["kind"] for c in data["channels"]] == ["sms", "chat"]
    s = WorkspaceSettings.objects.get(workspace=workspace)
    assert s.auto_send_enabled
    assert s.revision_enabled
    assert s.auto_send_confidence_threshold == 0.85
    token = api_token_authenticate(raw=data["api_token"])
    assert token.user.username == "operator@bright-dental.test"
    assert Membership.objects.filter(
        workspace=workspace, user__username="rep@bright-dental.test"
    ).exists()
    assert list(
        KnowledgeDocument.objects.filter(workspace=workspace).values_list("title", flat=True)
    ) == ["Hours"]
    assert (
        run(
            "provision_workspace",
            "Bright Dental",
            "--channel",
            "sms",
            "--channel",
            "chat",
            "--knowledge",
            str(knowledge),
            "--json",
        )
        == data
    )
    assert KnowledgeDocument.objects.filter(workspace=workspace).count() == 1


@pytest.mark.django_db
def test_bad_knowledge_file_names_the_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "A", "body": "b"}\n{"title": "", "body": "x"}\n')
    with pytest.raises(CommandError, match=r"bad.jsonl:2: Invalid knowledge document"):
        call_command(
            "provision_workspace", "X", "--channel", "email", "--knowledge", str(bad), "--json"
        )
    assert not Workspace.objects.filter(slug="x").exists()
