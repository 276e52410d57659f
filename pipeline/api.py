"""REST endpoints of the pipeline app (mounted under /api/v1/ by config/api.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from pipeline.knowledge import (
    REFRESH_INTERVAL_HOURS_MAX,
    knowledge_document_create,
    knowledge_documents_list,
    knowledge_search,
)
from pipeline.models import KnowledgeDocument
from workspaces.context import API_AUTH, actor_of

router = Router(tags=["pipeline"], auth=API_AUTH)


class KnowledgeOut(Schema):
    id: str
    title: str
    body: str
    source_url: str
    updated_at: str
    refresh_interval_hours: int | None
    next_refresh_at: str | None
    last_refreshed_at: str | None
    last_refresh_error: str


class KnowledgeListOut(Schema):
    items: list[KnowledgeOut]
    count: int


class KnowledgeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(max_length=300)
    body: str = Field(max_length=100_000)
    source_url: str | None = Field(default=None, max_length=1000)
    refresh_interval_hours: int | None = Field(
        default=None,
        ge=1,
        le=REFRESH_INTERVAL_HOURS_MAX,
        description="Fetch source_url again this often; null: never.",
    )


class KnowledgeFilter(Schema):
    q: str | None = Field(default=None, max_length=500, description="Full-text search.")
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _out(document: KnowledgeDocument) -> dict[str, Any]:
    return {
        "id": str(document.pk),
        "title": document.title,
        "body": document.body,
        "source_url": document.source_url,
        "updated_at": document.updated_at.isoformat(),
        "refresh_interval_hours": document.refresh_interval_hours,
        "next_refresh_at": _iso(document.next_refresh_at),
        "last_refreshed_at": _iso(document.last_refreshed_at),
        "last_refresh_error": document.last_refresh_error,
    }


@router.get("/knowledge", response=KnowledgeListOut)
def knowledge_list(request: HttpRequest, filters: Query[KnowledgeFilter]) -> dict[str, Any]:
    """The workspace's knowledge documents; with `q`, the best matches first."""
    workspace = actor_of(request).workspace
    documents = knowledge_documents_list(workspace=workspace)
    if filters.q:
        hits = knowledge_search(workspace_id=workspace.pk, text=filters.q, limit=filters.limit)
        order = {hit.id: index for index, hit in enumerate(hits)}
        found = sorted(documents.filter(pk__in=list(order)), key=lambda d: order[str(d.pk)])
        return {"items": [_out(d) for d in found], "count": len(found)}
    page = documents[filters.offset : filters.offset + filters.limit]
    return {"items": [_out(d) for d in page], "count": documents.count()}


@router.post("/knowledge", response={201: KnowledgeOut})
def knowledge_add(request: HttpRequest, payload: KnowledgeIn) -> Status[dict[str, Any]]:
    document = knowledge_document_create(
        workspace=actor_of(request).workspace,
        title=payload.title,
        body=payload.body,
        source_url=payload.source_url,
        refresh_interval_hours=payload.refresh_interval_hours,
    )
    return Status(201, _out(document))
