"""Workspace knowledge: loading documents (files, API) with clear errors, and retrieval."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.contrib.postgres.search import SearchVector
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from config.db import is_postgresql
from pipeline.grounding import keywords
from pipeline.language import search_terms
from pipeline.models import KnowledgeDocument
from workspaces.errors import Conflict, DomainError
from workspaces.jobs import job_run
from workspaces.models import JobType, Workspace, outbound_url_errors

# A refreshed document is fetched again every 1 hour to 1 year.
REFRESH_INTERVAL_HOURS_MAX = 24 * 366


@dataclass(frozen=True)
class KnowledgeInput:
    title: str
    body: str
    source_url: str = ""
    refresh_interval_hours: int | None = None

    @property
    def refresh_interval(self) -> timedelta | None:
        hours = self.refresh_interval_hours
        return timedelta(hours=hours) if hours is not None else None


def knowledge_content_hash(body: str) -> str:
    """What `KnowledgeDocument.content_hash` holds: SHA-256 of the body."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _refresh_problems(refresh_interval_hours: object, url: str) -> list[dict[str, str]]:
    if refresh_interval_hours is None:
        return []
    field = "refresh_interval_hours"
    if isinstance(refresh_interval_hours, bool) or not isinstance(refresh_interval_hours, int):
        return [{"field": field, "message": "A whole number of hours, or null for no refresh."}]
    if not 1 <= refresh_interval_hours <= REFRESH_INTERVAL_HOURS_MAX:
        return [{"field": field, "message": f"From 1 to {REFRESH_INTERVAL_HOURS_MAX} hours."}]
    if not url:
        return [{"field": field, "message": "Refreshing needs a source_url to fetch."}]
    # A URL that will be fetched goes past the outbound guard now, not only at fetch time.
    return [
        {"field": name, "message": message}
        for name, message in outbound_url_errors("source_url", url).items()
    ]


def knowledge_input_validate(
    *, title: object, body: object, source_url: object, refresh_interval_hours: object = None
) -> KnowledgeInput:
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
    problems += _refresh_problems(refresh_interval_hours, url)
    if problems:
        raise DomainError("Invalid knowledge document.", details=problems)
    assert isinstance(title, str)
    assert isinstance(body, str)
    assert refresh_interval_hours is None or isinstance(refresh_interval_hours, int)
    return KnowledgeInput(
        title=title.strip(),
        body=body.strip(),
        source_url=url,
        refresh_interval_hours=refresh_interval_hours,
    )


def knowledge_file_read(path: Path) -> list[KnowledgeInput]:
    """Documents from a JSONL file (`title`, `body`, `source_url` and, optionally,
    `refresh_interval_hours` per line); the error names the line."""
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
                    title=row.get("title"),
                    body=row.get("body"),
                    source_url=row.get("source_url"),
                    refresh_interval_hours=row.get("refresh_interval_hours"),
                )
            )
        except DomainError as exc:
            raise DomainError(f"{path}:{number}: {exc.message}", details=exc.details) from None
    return documents


def _document_new(*, workspace: Workspace, document: KnowledgeInput) -> KnowledgeDocument:
    """A document row as it is first stored; with an interval, its first refresh is due one
    interval from now (its body is fresh as given)."""
    interval = document.refresh_interval
    return KnowledgeDocument(
        workspace=workspace,
        title=document.title,
        body=document.body,
        source_url=document.source_url,
        content_hash=knowledge_content_hash(document.body),
        refresh_interval=interval,
        next_refresh_at=timezone.now() + interval if interval is not None else None,
    )


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
        document = _document_new(workspace=workspace, document=doc)
        document.save()
        created.append(document)
    return created


def knowledge_documents_import(
    *, workspace: Workspace, documents: list[KnowledgeInput]
) -> list[KnowledgeDocument]:
    """`knowledge_documents_load` recorded as a knowledge-import `JobRun` (rows read, created,
    skipped as already present)."""
    with job_run(type=JobType.KNOWLEDGE_IMPORT, workspace=workspace) as job:
        created = knowledge_documents_load(workspace=workspace, documents=documents)
        job.set(
            rows_processed=len(documents),
            created=len(created),
            skipped=len(documents) - len(created),
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

# The search exactly as the ORM writes it with KNOWLEDGE_SEARCH_VECTOR (the expression the GIN
# index `knowledge_fts` is built on; tests/test_knowledge_search.py checks they match), kept
# as SQL because it runs for every message and building it through the ORM cost more than
# running it.
KNOWLEDGE_SEARCH_SQL = """
SELECT "pipeline_knowledgedocument"."id", "pipeline_knowledgedocument"."title",
       "pipeline_knowledgedocument"."body", "pipeline_knowledgedocument"."source_url",
       ts_rank(to_tsvector('english'::regconfig, COALESCE("pipeline_knowledgedocument"."title", '') || ' ' || COALESCE("pipeline_knowledgedocument"."body", '')),
               websearch_to_tsquery('english'::regconfig, %(query)s))
FROM "pipeline_knowledgedocument"
WHERE "pipeline_knowledgedocument"."workspace_id" = %(workspace_id)s
  AND to_tsvector('english'::regconfig, COALESCE("pipeline_knowledgedocument"."title", '') || ' ' || COALESCE("pipeline_knowledgedocument"."body", ''))
      @@ websearch_to_tsquery('english'::regconfig, %(query)s)
ORDER BY 5 DESC, 2 ASC
LIMIT %(limit)s
"""  # noqa: E501


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
    if is_postgresql():
        query = " or ".join(terms)
        with connection.cursor() as cursor:
            cursor.execute(
                KNOWLEDGE_SEARCH_SQL,
                {"query": query, "workspace_id": workspace_id, "limit": limit},
            )
            rows = cursor.fetchall()
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
    *,
    workspace: Workspace,
    title: object,
    body: object,
    source_url: object,
    refresh_interval_hours: object = None,
) -> KnowledgeDocument:
    """Add one document (the API). The same title and source twice is a conflict."""
    document = knowledge_input_validate(
        title=title,
        body=body,
        source_url=source_url,
        refresh_interval_hours=refresh_interval_hours,
    )
    exists = KnowledgeDocument.objects.filter(
        workspace=workspace, title=document.title, source_url=document.source_url
    ).exists()
    if exists:
        raise Conflict(
            "A document with this title and source URL already exists.",
            details=[{"field": "title", "message": "Already in this workspace's knowledge."}],
        )
    created = _document_new(workspace=workspace, document=document)
    created.save()
    return created


def knowledge_documents_list(*, workspace: Workspace) -> QuerySet[KnowledgeDocument]:
    return KnowledgeDocument.objects.filter(workspace=workspace).order_by("title", "id")
