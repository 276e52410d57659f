"""Workspace knowledge: loading documents (files, API) with clear errors, and retrieval."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connection
from django.db.models import QuerySet

from pipeline.grounding import keywords
from pipeline.language import search_terms
from pipeline.models import KnowledgeDocument
from workspaces.errors import Conflict, DomainError
from workspaces.models import Workspace


@dataclass(frozen=True)
class KnowledgeInput:
    title: str
    body: str
    source_url: str = ""


def knowledge_input_validate(*, title: object, body: object, source_url: object) -> KnowledgeInput:
    """A document as given by a person or a file, checked field by field."""
    problems: list[dict[str, str]] = []
    if not isinstance(title, str) or not title.strip():
        problems.append({"field": "title", "message": "A non-empty title is required."})
    elif len(title) > 300:
        problems.append({"field": "title", "message": "At most 300 characters."})
    if not isinstance(body, str) or not body.strip():
        problems.append({"field": "body", "message": "A non-empty body is required."})
    url = source_url if isinstance(source_url, str) else ""
    if source_url not in (None, "") and not isinstance(source_url, str):
        problems.append({"field": "source_url", "message": "Must be a URL string."})
    elif url:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            problems.append({"field": "source_url", "message": "Must be an http(s) URL."})
    if problems:
        raise DomainError("Invalid knowledge document.", details=problems)
    assert isinstance(title, str)
    assert isinstance(body, str)
    return KnowledgeInput(title=title.strip(), body=body.strip(), source_url=url)


def knowledge_file_read(path: Path) -> list[KnowledgeInput]:
    """Documents from a JSONL file (`title`, `body`, `source_url` per line); the error names
    the line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DomainError(f"Cannot read {path}: {exc.strerror}") from None
    documents = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DomainError(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise DomainError(f"{path}:{number}: each line must be a JSON object")
        try:
            documents.append(
                knowledge_input_validate(
                    title=row.get("title"), body=row.get("body"), source_url=row.get("source_url")
                )
            )
        except DomainError as exc:
            raise DomainError(f"{path}:{number}: {exc.message}", details=exc.details) from None
    return documents


def knowledge_documents_load(
    *, workspace: Workspace, documents: Iterable[KnowledgeInput]
) -> list[KnowledgeDocument]:
    """Add documents, skipping any with the same title and source already present, so loading
    the same file twice changes nothing."""
    existing = set(
        KnowledgeDocument.objects.filter(workspace=workspace).values_list("title", "source_url")
    )
    created = []
    for doc in documents:
        if (doc.title, doc.source_url) in existing:
            continue
        existing.add((doc.title, doc.source_url))
        created.append(
            KnowledgeDocument.objects.create(
                workspace=workspace, title=doc.title, body=doc.body, source_url=doc.source_url
            )
        )
    return created


@dataclass(frozen=True)
class KnowledgeHit:
    id: str
    title: str
    body: str
    source_url: str
    rank: float

    def as_source(self) -> dict[str, str]:
        """How a draft cites it."""
        return {"id": self.id, "title": self.title, "url": self.source_url}


KNOWLEDGE_SEARCH_VECTOR = SearchVector("title", "body", config="english")


def knowledge_search(*, workspace_id: Any, text: str, limit: int = 4) -> list[KnowledgeHit]:
    """The workspace's documents that best match `text`, best first.

    On PostgreSQL: full-text search matching ANY of the message's words (a plain
    `plainto_tsquery` would demand all of them), with the very expression the GIN index
    `knowledge_fts` is built on, so the index serves it; ranked by `ts_rank`. Elsewhere (the
    embedded SQLite fallback) a plain scan ranks documents by shared keywords.
    """
    terms = search_terms(text)
    if not terms:
        return []
    documents = KnowledgeDocument.objects.filter(workspace_id=workspace_id)
    if connection.vendor == "postgresql":
        query = SearchQuery(" or ".join(terms), search_type="websearch", config="english")
        rows = (
            documents.annotate(
                search=KNOWLEDGE_SEARCH_VECTOR, rank=SearchRank(KNOWLEDGE_SEARCH_VECTOR, query)
            )
            .filter(search=query)
            .order_by("-rank", "title")
            .values_list("id", "title", "body", "source_url", "rank")[:limit]
        )
        return [
            KnowledgeHit(str(pk), title, body, url, round(float(rank), 4))
            for pk, title, body, url, rank in rows
        ]
    wanted = keywords(" ".join(terms))
    scored = []
    for pk, title, body, url in documents.values_list("id", "title", "body", "source_url"):
        score = len(wanted & keywords(body)) + 2 * len(wanted & keywords(title))
        if score:
            scored.append(KnowledgeHit(str(pk), title, body, url, float(score)))
    scored.sort(key=lambda hit: (-hit.rank, hit.title))
    return scored[:limit]


def knowledge_document_create(
    *, workspace: Workspace, title: object, body: object, source_url: object
) -> KnowledgeDocument:
    """Add one document (the API). The same title and source twice is a conflict."""
    document = knowledge_input_validate(title=title, body=body, source_url=source_url)
    exists = KnowledgeDocument.objects.filter(
        workspace=workspace, title=document.title, source_url=document.source_url
    ).exists()
    if exists:
        raise Conflict(
            "A document with this title and source URL already exists.",
            details=[{"field": "title", "message": "Already in this workspace's knowledge."}],
        )
    return KnowledgeDocument.objects.create(
        workspace=workspace,
        title=document.title,
        body=document.body,
        source_url=document.source_url,
    )


def knowledge_documents_list(*, workspace: Workspace) -> QuerySet[KnowledgeDocument]:
    return KnowledgeDocument.objects.filter(workspace=workspace).order_by("title", "id")
