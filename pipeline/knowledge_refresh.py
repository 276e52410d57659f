"""Knowledge freshness: documents with a source URL and a refresh interval are fetched again
when due, by the beat task `pipeline.refresh_due_knowledge`.

- Claim: one short transaction locks due rows (`skip_locked`, so two ticks never take the
  same document) and moves their `next_refresh_at` a lease ahead; the fetches happen outside
  any transaction. A worker that dies mid-batch leaves the lease to expire: the documents
  come due again.
- Success: `last_refreshed_at` is set and the next refresh is one interval ahead; a changed
  text replaces the body (and `updated_at`, `content_hash`), so full-text search (the GIN
  expression index on title + body) finds the new text and no longer the old.
- Failure: the body stays as it was; `last_refresh_error` says why and the next attempt
  backs off (5 min, 10, 20, … never later than one interval).
- Each batch records one knowledge-refresh `JobRun` per workspace; it is FAILED when any of
  its documents could not be refreshed.
- Stale, on the knowledge page: the last refresh failed, or a refresh is overdue by more
  than STALE_GRACE (beat is not running).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.utils import timezone

from pipeline.fetchers import Fetcher, FetchError, HttpFetcher
from pipeline.knowledge import knowledge_content_hash
from pipeline.models import KnowledgeDocument
from workspaces.jobs import job_run
from workspaces.models import JobType, Workspace

logger = logging.getLogger("pipeline.knowledge_refresh")

REFRESH_BATCH_SIZE = 20
# Longer than the task's hard time limit, so a claimed document is never taken twice.
REFRESH_LEASE = timedelta(minutes=10)
RETRY_BASE = timedelta(minutes=5)
STALE_GRACE = timedelta(hours=1)


class RefreshOutcome(StrEnum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    FAILED = "failed"


def _zero_counts() -> dict[str, int]:
    return {outcome.value: 0 for outcome in RefreshOutcome}


@dataclass
class RefreshBatch:
    claimed: int = 0
    outcomes: dict[str, int] = field(default_factory=_zero_counts)


def retry_delay(*, interval: timedelta, failures: int) -> timedelta:
    """How long after the `failures`-th failure in a row the next attempt waits."""
    return min(RETRY_BASE * 2 ** (min(failures, 20) - 1), interval)


def knowledge_documents_claim_due(*, now: datetime, limit: int) -> list[KnowledgeDocument]:
    """Take up to `limit` due documents, soonest first, for this worker alone."""
    with transaction.atomic():
        documents = list(
            KnowledgeDocument.objects.select_for_update(skip_locked=True)
            .filter(refresh_interval__isnull=False, next_refresh_at__lte=now)
            .order_by("next_refresh_at", "id")[:limit]
        )
        if documents:
            KnowledgeDocument.objects.filter(pk__in=[d.pk for d in documents]).update(
                next_refresh_at=now + REFRESH_LEASE
            )
    return documents


def knowledge_document_refresh(
    *, document: KnowledgeDocument, fetcher: Fetcher, now: datetime
) -> RefreshOutcome:
    """Fetch one claimed document and store what came of it."""
    interval = document.refresh_interval
    assert interval is not None  # claimed documents have one
    rows = KnowledgeDocument.objects.filter(pk=document.pk, refresh_interval__isnull=False)
    try:
        result = fetcher.fetch(document)
    except Exception as exc:
        if isinstance(exc, FetchError):
            reason = str(exc) or "fetch failed"
        else:
            logger.exception("knowledge fetcher crashed", extra={"document_id": str(document.pk)})
            reason = f"unexpected error ({type(exc).__name__})"
        failures = document.refresh_failures + 1
        rows.update(
            last_refresh_error=reason[:300],
            refresh_failures=failures,
            next_refresh_at=now + retry_delay(interval=interval, failures=failures),
        )
        logger.warning(
            "knowledge refresh failed",
            extra={"document_id": str(document.pk), "failures": failures, "reason": reason},
        )
        return RefreshOutcome.FAILED
    new_hash = knowledge_content_hash(result.body)
    old_hash = document.content_hash or knowledge_content_hash(document.body)
    done = {
        "last_refreshed_at": now,
        "last_refresh_error": "",
        "refresh_failures": 0,
        "next_refresh_at": now + interval,
        "content_hash": new_hash,
    }
    if new_hash == old_hash:
        rows.update(**done)
        return RefreshOutcome.UNCHANGED
    rows.update(**done, body=result.body, updated_at=now)
    return RefreshOutcome.CHANGED


def knowledge_refresh_due(
    *,
    fetcher: Fetcher | None = None,
    batch_size: int = REFRESH_BATCH_SIZE,
    now: datetime | None = None,
) -> RefreshBatch:
    """Refresh one batch of due documents; one JobRun per workspace in the batch."""
    now = now or timezone.now()
    fetcher = fetcher or HttpFetcher()
    documents = knowledge_documents_claim_due(now=now, limit=batch_size)
    batch = RefreshBatch(claimed=len(documents))
    by_workspace: dict[object, list[KnowledgeDocument]] = defaultdict(list)
    for document in documents:
        by_workspace[document.workspace_id].append(document)
    workspaces = Workspace.objects.in_bulk(list(by_workspace))
    for workspace_id, group in by_workspace.items():
        with job_run(type=JobType.KNOWLEDGE_REFRESH, workspace=workspaces[workspace_id]) as job:
            job.set(rows_processed=len(group), **_zero_counts())
            for document in group:
                outcome = knowledge_document_refresh(document=document, fetcher=fetcher, now=now)
                job.add(outcome.value)
                batch.outcomes[outcome.value] += 1
            failed = job.metrics[RefreshOutcome.FAILED.value]
            if failed:
                job.fail(f"{failed} of {len(group)} documents could not be refreshed")
    return batch


def _stale(now: datetime) -> Q:
    return Q(refresh_interval__isnull=False) & (
        Q(refresh_failures__gt=0) | Q(next_refresh_at__lt=now - STALE_GRACE)
    )


def knowledge_documents_with_freshness(
    *, workspace: Workspace, now: datetime | None = None
) -> QuerySet[KnowledgeDocument]:
    """The workspace's documents for the knowledge page, stale ones first (`is_stale`),
    without their bodies."""
    stale = ExpressionWrapper(_stale(now or timezone.now()), output_field=BooleanField())
    return (
        KnowledgeDocument.objects.filter(workspace=workspace)
        .defer("body")
        .annotate(is_stale=stale)
        .order_by("-is_stale", "title", "id")
    )


def knowledge_documents_stale_count(*, workspace: Workspace, now: datetime | None = None) -> int:
    return KnowledgeDocument.objects.filter(
        _stale(now or timezone.now()), workspace=workspace
    ).count()
