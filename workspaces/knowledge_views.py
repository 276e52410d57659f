"""One knowledge document, read-only: its text as drafts are grounded in it, where it came
from and how fresh it is. Changes go through the API or its source page (refresh)."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from pipeline.knowledge_refresh import knowledge_documents_with_freshness
from workspaces.access import get_in_workspace_or_404
from workspaces.context import session_actor


@login_required
@require_GET
def knowledge_document_page(request: HttpRequest, document_id: UUID) -> HttpResponse:
    actor = session_actor(request)
    if actor is None:
        raise Http404("No workspace.")
    documents = knowledge_documents_with_freshness(workspace=actor.workspace).defer(None)
    document = get_in_workspace_or_404(documents, actor.workspace, pk=document_id)
    return render(request, "knowledge/document.html", {"actor": actor, "doc": document})
