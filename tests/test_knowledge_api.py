"""GET/POST /api/v1/knowledge: the workspace's documents, and only its own."""

from __future__ import annotations

from ops.provisioning import DEMO_KNOWLEDGE
from pipeline.knowledge import knowledge_documents_load, knowledge_file_read
from pipeline.models import KnowledgeDocument
from tests.conftest import ApiClient


def _load_demo(workspace):
    knowledge_documents_load(workspace=workspace, documents=knowledge_file_read(DEMO_KNOWLEDGE))


def test_list_returns_the_workspace_documents(api, tenant):
    _load_demo(tenant.workspace)
    body = api.get("/api/v1/knowledge").json()
    assert body["count"] == 8
    assert [item["title"] for item in body["items"]][:3] == [
        "Batteries",
        "Consultations",
        "Contact",
    ]
    first = body["items"][0]
    assert set(first) == {
        "id",
        "title",
        "body",
        "source_url",
        "updated_at",
        "refresh_interval_hours",
        "next_refresh_at",
        "last_refreshed_at",
        "last_refresh_error",
    }
    assert first["source_url"] == "https://acmesolar.example/batteries"


def test_list_pages(api, tenant):
    _load_demo(tenant.workspace)
    body = api.get("/api/v1/knowledge", {"limit": 2, "offset": 2}).json()
    assert body["count"] == 8
    assert [item["title"] for item in body["items"]] == ["Contact", "Financing"]


def test_bad_paging_is_a_400(api, tenant):
    response = api.get("/api/v1/knowledge", {"limit": 0})
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "limit"


def test_search_puts_the_best_match_first(api, tenant):
    _load_demo(tenant.workspace)
    body = api.get("/api/v1/knowledge", {"q": "is there a lease option"}).json()
    assert body["items"][0]["title"] == "Financing"


def test_another_workspace_token_sees_none_of_yours(tenant, other_tenant):
    _load_demo(tenant.workspace)
    other = ApiClient(other_tenant.token)
    assert other.get("/api/v1/knowledge").json() == {"items": [], "count": 0}
    assert other.get("/api/v1/knowledge", {"q": "battery"}).json() == {"items": [], "count": 0}


def test_post_creates_a_document(api, tenant):
    response = api.post(
        "/api/v1/knowledge",
        {"title": "Roofs", "body": "We install on tile and shingle roofs.", "source_url": ""},
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["title"] == "Roofs"
    document = KnowledgeDocument.objects.get(pk=created["id"])
    assert document.workspace_id == tenant.workspace.pk
    assert document.body == "We install on tile and shingle roofs."


def test_post_invalid_document_is_a_400_and_saves_nothing(api, tenant):
    response = api.post(
        "/api/v1/knowledge", {"title": "  ", "body": "x", "source_url": "ftp://nope"}
    )
    assert response.status_code == 400
    fields = {d["field"] for d in response.json()["details"]}
    assert fields == {"title", "source_url"}
    assert KnowledgeDocument.objects.count() == 0


def test_post_missing_or_unknown_fields_is_a_400(api, tenant):
    assert api.post("/api/v1/knowledge", {"title": "T"}).status_code == 400
    assert api.post("/api/v1/knowledge", {"title": "T", "body": "B", "x": 1}).status_code == 400
    assert KnowledgeDocument.objects.count() == 0


def test_post_the_same_document_twice_is_a_409(api, tenant):
    payload = {"title": "Roofs", "body": "Tile and shingle.", "source_url": "https://a.example/r"}
    assert api.post("/api/v1/knowledge", payload).status_code == 201
    response = api.post("/api/v1/knowledge", payload)
    assert response.status_code == 409
    assert response.json()["error"]
    assert KnowledgeDocument.objects.count() == 1


def test_unauthenticated_is_401(client, tenant):
    assert client.get("/api/v1/knowledge").status_code == 401
    response = client.post(
        "/api/v1/knowledge", {"title": "T", "body": "B"}, content_type="application/json"
    )
    assert response.status_code == 401
    assert KnowledgeDocument.objects.count() == 0
