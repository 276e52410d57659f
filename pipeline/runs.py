"""The run state machine: the one table of allowed moves and the one function that makes them
(compare-and-swap), starting a run once per message, and the lock that keeps two workers
from working on the same message at once."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from config.db import is_postgresql
from drafts.models import Message
from pipeline.models import PipelineRun

logger = logging.getLogger("pipeline.runs")

S = PipelineRun.Status

# Forward only: a run ends once, and how it ended never changes.
ALLOWED: dict[str, frozenset[str]] = {
    S.RUNNING: frozenset({S.COMPLETED, S.FAILED, S.ABORTED}),
    S.COMPLETED: frozenset(),
    S.FAILED: frozenset(),
    S.ABORTED: frozenset(),
}


class IllegalTransition(ValueError):
    pass


def run_transition(*, run_id: Any, from_status: str, to_status: str, **fields: Any) -> bool:
    """Move a run from `from_status` to `to_status` if it is still there; True if this call
    made the move. Ending states stamp `finished_at`."""
    if to_status not in ALLOWED[from_status]:
        raise IllegalTransition(f"run cannot go from {from_status} to {to_status}")
    if not ALLOWED[to_status]:
        fields.setdefault("finished_at", timezone.now())
    return (
        PipelineRun.objects.filter(pk=run_id, status=from_status).update(status=to_status, **fields)
        == 1
    )


def run_start(*, message: Message, context_pack: dict[str, Any]) -> tuple[PipelineRun, bool]:
    """The run for this message and channel: created RUNNING with its context pack, or the
    one that already exists (the unique constraint decides a race)."""
    # A savepoint only inside a caller's transaction: in autocommit the INSERT is its own
    # transaction, and a refused one leaves nothing to roll back (two round trips saved).
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with guard:
            run = PipelineRun.objects.create(
                workspace_id=message.workspace_id,
                trigger_message_id=message.pk,
                channel_id=message.channel_id,
                context_pack=context_pack,
                provider=settings.LLM_PROVIDER,
            )
        return run, True
    except IntegrityError:
        existing = run_for_message(message=message)
        if existing is None:  # the message itself went away meanwhile
            raise
        return existing, False


def run_for_message(*, message: Message) -> PipelineRun | None:
    return PipelineRun.objects.filter(
        trigger_message_id=message.pk, channel_id=message.channel_id
    ).first()


# Longer than any live run can take (four attempts at the 300 s hard time limit plus
# backoff), so a RUNNING run older than this has lost its task.
STALE_AFTER = timedelta(minutes=30)
STALE_MAX_ATTEMPTS = 10


def runs_stale(*, limit: int) -> list[tuple[Any, Any, int]]:
    """(run id, trigger message id, attempts) of RUNNING runs whose task was lost (a retry
    dropped by the broker, a worker gone before redelivery), oldest first."""
    return list(
        PipelineRun.objects.filter(status=S.RUNNING, started_at__lt=timezone.now() - STALE_AFTER)
        .order_by("started_at")
        .values_list("pk", "trigger_message_id", "attempts")[:limit]
    )


def run_attempt_count(*, run: PipelineRun) -> None:
    """A crashed or retried run is being resumed: count the attempt."""
    PipelineRun.objects.filter(pk=run.pk, status=S.RUNNING).update(attempts=F("attempts") + 1)


def _lock_key(message_id: uuid.UUID) -> int:
    # The low 63 bits of a UUIDv7 are almost all random: distinct messages, distinct keys.
    return message_id.int & 0x7FFF_FFFF_FFFF_FFFF


@contextmanager
def run_lock(message_id: uuid.UUID) -> Iterator[bool]:
    """A PostgreSQL session advisory lock on the message: True if this worker holds it.

    A second delivery of the same task (a sweeper re-enqueue, a duplicate) while the first
    still works sees False and leaves. The lock lives on the connection, so a worker that
    dies releases it and a later delivery can resume the run. Without PostgreSQL (the
    embedded single-process fallback) there is no one to race with.
    """
    if not is_postgresql():
        yield True
        return
    key = _lock_key(message_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        row = cursor.fetchone()
    acquired = bool(row and row[0])
    try:
        yield acquired
    finally:
        if acquired:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
            except DatabaseError:
                # The connection is broken or mid-failed-transaction; closing it frees the
                # lock just the same.
                logger.warning("advisory unlock failed", extra={"message_id": str(message_id)})
                connection.close()
