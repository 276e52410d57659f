"""The knowledge page: the session workspace's documents, where each came from, how fresh it
is, and which ones are stale (their refresh failed, or is overdue)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from pipeline.knowledge_refresh import (
    knowledge_documents_stale_count,
    knowledge_documents_with_freshness,
)
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
