"""Operator pages: the review queue."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from workspaces.context import session_actor


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    actor = session_actor(request)
    return render(request, "drafts/queue.html", {"actor": actor})
