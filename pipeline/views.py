"""The knowledge pages: the session workspace's documents, where each came from, how fresh it
is, and which ones are stale (their refresh failed, or is overdue); and one document,
read-only, its text as drafts are grounded in it. Changes go through the API or its source
page (refresh)."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from pipeline.knowledge_refresh import (
    knowledge_documents_stale_count,
    knowledge_documents_with_freshness,
)
from workspaces.access import get_in_workspace_or_404
from workspaces.context import session_actor

KNOWLEDGE_PAGE_SIZE = 50


@login_required
def knowledge_page(request: HttpRequest) -> HttpResponse:
    actor = session_actor(request)
    if actor is None:
        return render(request, "knowledge/list.html", {"actor": None})
    documents = knowledge_documents_with_freshness(workspace=actor.workspace)
    context = {
        "actor": actor,
        "documents": Paginator(documents, KNOWLEDGE_PAGE_SIZE).get_page(request.GET.get("page")),
        "stale_count": knowledge_documents_stale_count(workspace=actor.workspace),
    }
    return render(request, "knowledge/list.html", context)


@login_required
@require_GET
def knowledge_document_page(request: HttpRequest, document_id: UUID) -> HttpResponse:
    actor = session_actor(request)
    if actor is None:
        raise Http404("No workspace.")
    documents = knowledge_documents_with_freshness(workspace=actor.workspace).defer(None)
    document = get_in_workspace_or_404(documents, actor.workspace, pk=document_id)
    return render(request, "knowledge/document.html", {"actor": actor, "doc": document})
