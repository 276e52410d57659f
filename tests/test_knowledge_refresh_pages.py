"""Refresh settings through the API and the provisioning file; the /knowledge/ page with its
stale documents."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from pipeline.knowledge import knowledge_content_hash
from pipeline.models import KnowledgeDocument
from tests.conftest import ApiClient
from tests.factories import UserFactory

URL = "https://acmesolar.example/pricing"


def test_post_with_a_refresh_interval_schedules_the_first_refresh(
    api: ApiClient, tenant: Any
) -> None:
    before = timezone.now()
    response = api.post(
        "/api/v1/knowledge",
        {"title": "Pricing", "body": "Panels from $9,000.", "source_url": URL,
         "refresh_interval_hours": 24},
    )  # fmt: skip

    assert response.status_code == 201, response.content
    body = response.json()
    document = KnowledgeDocument.objects.get(pk=body["id"])
    assert document.refresh_interval == timedelta(hours=24)
    assert before + timedelta(hours=24) <= document.next_refresh_at
    assert document.next_refresh_at <= timezone.now() + timedelta(hours=24)
    assert document.content_hash == knowledge_content_hash("Panels from $9,000.")
    assert (
        body["refresh_interval_hours"],
        body["last_refreshed_at"],
        body["last_refresh_error"],
    ) == (
        24,
        None,
        "",
    )
    assert body["next_refresh_at"] == document.next_refresh_at.isoformat()


def test_without_an_interval_a_document_is_never_refreshed(api: ApiClient, tenant: Any) -> None:
    response = api.post("/api/v1/knowledge", {"title": "Hours", "body": "9-5.", "source_url": URL})

    assert response.status_code == 201
    assert (response.json()["refresh_interval_hours"], response.json()["next_refresh_at"]) == (
        None,
        None,
    )
    document = KnowledgeDocument.objects.get()
    assert (document.refresh_interval, document.next_refresh_at) == (None, None)


def test_bad_refresh_intervals_are_a_400_and_save_nothing(api: ApiClient, tenant: Any) -> None:
    # The schema refuses out-of-range values (its errors name `payload.<field>`, as for every
    # body); the service refuses an interval with nothing to fetch.
    cases = [
        ({"source_url": URL, "refresh_interval_hours": 0}, "payload.refresh_interval_hours"),
        ({"source_url": URL, "refresh_interval_hours": 24 * 367}, "payload.refresh_interval_hours"),
        ({"source_url": URL, "refresh_interval_hours": "daily"}, "payload.refresh_interval_hours"),
        ({"source_url": "", "refresh_interval_hours": 24}, "refresh_interval_hours"),
    ]
    for extra, field in cases:
        response = api.post("/api/v1/knowledge", {"title": "Pricing", "body": "B", **extra})
        assert response.status_code == 400, extra
        assert [d["field"] for d in response.json()["details"]] == [field], extra
    assert response.json()["details"][0]["message"] == "Refreshing needs a source_url to fetch."
    assert not KnowledgeDocument.objects.exists()


def test_a_provisioning_file_may_set_a_refresh_interval(db: None, tmp_path: Any) -> None:
    path = tmp_path / "kb.jsonl"
    path.write_text(
        json.dumps(
            {"title": "Pricing", "body": "B", "source_url": URL, "refresh_interval_hours": 6}
        )
        + "\n"
        + json.dumps({"title": "Hours", "body": "9-5", "source_url": ""})
    )
    call_command("provision_workspace", "Acme", "--channel", "email", "--knowledge", str(path))

    assert dict(KnowledgeDocument.objects.values_list("title", "refresh_interval")) == {
        "Pricing": timedelta(hours=6),
        "Hours": None,
    }


def test_a_bad_refresh_interval_in_a_file_names_the_line(db: None, tmp_path: Any) -> None:
    path = tmp_path / "kb.jsonl"
    path.write_text(json.dumps({"title": "T", "body": "B", "refresh_interval_hours": 6}))
    with pytest.raises(CommandError) as caught:
        call_command("provision_workspace", "Acme", "--channel", "email", "--knowledge", str(path))
    assert str(caught.value) == f"{path}:1: Invalid knowledge document."
    assert not KnowledgeDocument.objects.exists()


# --- The knowledge page ----------------------------------------------------------------------


def _documents(tenant: Any, other_tenant: Any) -> None:
    now = timezone.now()
    common = {"workspace": tenant.workspace, "body": "Text."}
    KnowledgeDocument.objects.create(title="Hours", source_url="", **common)
    KnowledgeDocument.objects.create(
        title="Financing", source_url="https://acmesolar.example/financing",
        refresh_interval=timedelta(hours=24), next_refresh_at=now + timedelta(hours=3),
        last_refreshed_at=now - timedelta(hours=21), **common,
    )  # fmt: skip
    KnowledgeDocument.objects.create(
        title="Pricing", source_url=URL, refresh_interval=timedelta(hours=24),
        next_refresh_at=now + timedelta(minutes=20), last_refreshed_at=now - timedelta(days=3),
        last_refresh_error="HTTP 500", refresh_failures=3, **common,
    )  # fmt: skip
    KnowledgeDocument.objects.create(
        title="Batteries", source_url="https://acmesolar.example/batteries",
        refresh_interval=timedelta(hours=1), next_refresh_at=now - timedelta(hours=2), **common,
    )  # fmt: skip
    KnowledgeDocument.objects.create(
        workspace=other_tenant.workspace, title="Globex secrets", body="x",
        source_url="https://globex.example/", refresh_interval=timedelta(hours=1),
        next_refresh_at=now - timedelta(days=1), last_refresh_error="HTTP 403",
    )  # fmt: skip


def test_the_page_lists_documents_with_stale_ones_first(
    client: Any, tenant: Any, other_tenant: Any, django_assert_max_num_queries: Any
) -> None:
    _documents(tenant, other_tenant)
    client.force_login(tenant.operator)

    with django_assert_max_num_queries(8):
        response = client.get("/knowledge/")

    assert response.status_code == 200
    page = response.content.decode()
    table = page[page.index("<tbody>") :]
    # Stale (a failing refresh, an overdue one) first, then the rest by title.
    order = [
        table.index(f'">{title}</a>') for title in ("Batteries", "Pricing", "Financing", "Hours")
    ]
    assert order == sorted(order)
    assert table.count('<span class="badge badge-bad">stale</span>') == 2
    assert '<span class="badge badge-bad">2 stale</span>' in page
    assert "HTTP 500 (3 failures in a row)" in table
    assert "refresh overdue" in table
    assert f'<a href="{URL}" rel="noopener noreferrer nofollow" target="_blank">' in table
    assert "every 24 h" in table
    assert "every 1 h" in table
    assert "Globex" not in table
    assert 'href="/knowledge/" aria-current="page">Knowledge</a>' in page


def test_the_page_needs_a_sign_in_and_a_workspace(client: Any, tenant: Any) -> None:
    assert client.get("/knowledge/")["Location"] == "/accounts/login/?next=/knowledge/"
    client.force_login(UserFactory())
    assert "not a member of any workspace" in client.get("/knowledge/").content.decode()


def test_an_empty_knowledge_base_says_how_to_add_documents(client: Any, tenant: Any) -> None:
    client.force_login(tenant.operator)
    page = client.get("/knowledge/").content.decode()
    assert "No knowledge yet." in page
    assert "refresh_interval_hours" in page


def test_the_admin_explains_an_interval_without_a_source(
    client: Any, tenant: Any, superadmin: Any
) -> None:
    client.force_login(superadmin)
    response = client.post(
        "/admin/pipeline/knowledgedocument/add/",
        {"workspace": tenant.workspace.pk, "title": "Pricing", "body": "B", "source_url": "",
         "refresh_interval": "24:00:00", "refresh_failures": 0},
    )  # fmt: skip

    assert response.status_code == 200
    assert "A refresh interval must be at least 1 hour, and needs a source URL" in (
        response.content.decode()
    )
    assert not KnowledgeDocument.objects.exists()
