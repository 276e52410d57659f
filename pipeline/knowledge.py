"""Workspace knowledge: loading documents (files, API) with clear errors."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from pipeline.models import KnowledgeDocument
from workspaces.errors import DomainError
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
