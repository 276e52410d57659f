"""The run state machine: the one table of allowed moves and the one function that makes them
(compare-and-swap), starting a run once per message, and the lease that keeps two workers
from working on the same message at once (and lets another resume it when one dies)."""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone

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


def run_transition(
    *,
    run_id: Any,
    from_status: str,
    to_status: str,
    holder: uuid.UUID | None = None,
    **fields: Any,
) -> bool:
    """Move a run from `from_status` to `to_status` if it is still there (and, given a
    `holder`, still leased to it); True if this call made the move. Ending states stamp
    `finished_at` and drop the lease."""
    if to_status not in ALLOWED[from_status]:
        raise IllegalTransition(f"run cannot go from {from_status} to {to_status}")
    if not ALLOWED[to_status]:
        fields.setdefault("finished_at", timezone.now())
        fields.update(lease_token=None, lease_expires_at=None)
    runs = PipelineRun.objects.filter(pk=run_id, status=from_status)
    if holder is not None:
        runs = runs.filter(lease_token=holder)
    moved = runs.update(status=to_status, **fields) == 1
    if moved and holder is not None and not ALLOWED[to_status]:
        _lease_forget(holder)
    return moved


def run_start(
    *, message: Message, context_pack: dict[str, Any], lease_token: uuid.UUID | None = None
) -> tuple[PipelineRun, bool]:
    """The run for this message and channel: created RUNNING with its context pack (and, when
    given, this worker's lease on it), or the one that already exists (the unique constraint
    decides a race)."""
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
                lease_token=lease_token,
                lease_expires_at=timezone.now() + _lease_ttl() if lease_token else None,
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


STALE_MAX_ATTEMPTS = 10


def runs_claim_for_resume(*, limit: int) -> list[tuple[Any, Any, int]]:
    """(run id, trigger message id, attempts not explained by parked retries) of RUNNING
    runs no live worker holds: the lease of a dead worker lapsed, a parked retry is due, or
    the task was lost. Oldest first.

    Each one found is parked for `PIPELINE_REQUEUE_GRACE_SECONDS`, so a run whose task waits
    behind a long queue is not enqueued again on every sweep."""
    with transaction.atomic():
        rows = list(
            PipelineRun.objects.select_for_update(skip_locked=True)
            .filter(status=S.RUNNING)
            .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=Now()))
            .order_by("started_at")
            .values_list("pk", "trigger_message_id", "attempts", "retries")[:limit]
        )
        if rows:
            PipelineRun.objects.filter(pk__in=[row[0] for row in rows]).update(
                lease_token=None,
                lease_expires_at=Now() + timedelta(seconds=settings.PIPELINE_REQUEUE_GRACE_SECONDS),
            )
    return [(pk, message_id, attempts - retries) for pk, message_id, attempts, retries in rows]


@dataclass
class _Leases:
    """The leases this process holds, kept alive by one heartbeat thread for all of them."""

    tokens: set[uuid.UUID] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    thread: threading.Thread | None = None


_LEASES = _Leases()


def _lease_ttl() -> timedelta:
    return timedelta(seconds=settings.PIPELINE_LEASE_SECONDS)


def _heartbeat_forever() -> None:
    while True:
        time.sleep(max(1.0, settings.PIPELINE_LEASE_SECONDS / 3))
        with _LEASES.lock:
            tokens = list(_LEASES.tokens)
        if not tokens:
            continue
        try:
            PipelineRun.objects.filter(lease_token__in=tokens, status=S.RUNNING).update(
                lease_expires_at=Now() + _lease_ttl()
            )
        except DatabaseError:
            # The database is away: the leases may lapse and another worker resume the
            # runs; the completion CAS keeps that to one draft.
            logger.warning("lease heartbeat failed", extra={"leases": len(tokens)})
        finally:
            connection.close()


def _heartbeat_ensure() -> None:
    with _LEASES.lock:
        if _LEASES.thread is None or not _LEASES.thread.is_alive():
            _LEASES.thread = threading.Thread(
                target=_heartbeat_forever, name="pipeline-lease-heartbeat", daemon=True
            )
            _LEASES.thread.start()


def run_lease_claim(*, run_id: Any, token: uuid.UUID, resumed: bool) -> bool:
    """Take the run's lease if no live worker holds it (a resumed run counts an attempt).
    A run parked by the sweeper or for a retry has no holder, so its delivery takes it.

    A row claim, not a session lock: it survives connection pooling (PgBouncer in
    transaction mode, Django's pool returning the connection during LLM calls), and a
    worker that dies simply stops renewing it, so another resumes the run once it lapses.
    """
    fields: dict[str, Any] = {"lease_token": token, "lease_expires_at": Now() + _lease_ttl()}
    if resumed:
        fields["attempts"] = F("attempts") + 1
    claimed = (
        PipelineRun.objects.filter(pk=run_id, status=S.RUNNING)
        .filter(Q(lease_token__isnull=True) | Q(lease_expires_at__lt=Now()))
        .update(**fields)
        == 1
    )
    if claimed:
        _lease_hold(token)
    return claimed


def _lease_hold(token: uuid.UUID) -> None:
    with _LEASES.lock:
        _LEASES.tokens.add(token)
    _heartbeat_ensure()


def _lease_forget(token: uuid.UUID) -> bool:
    with _LEASES.lock:
        held = token in _LEASES.tokens
        _LEASES.tokens.discard(token)
    return held


def run_lease_release(*, run_id: Any, token: uuid.UUID) -> None:
    """Give the lease back if this worker still holds it (the run did not end or park)."""
    if not _lease_forget(token):
        return
    try:
        PipelineRun.objects.filter(pk=run_id, lease_token=token).update(
            lease_token=None, lease_expires_at=None
        )
    except DatabaseError:
        logger.warning("lease release failed", extra={"run_id": str(run_id)})


def run_lease_keep(token: uuid.UUID) -> None:
    """Renew, from this process's heartbeat, the lease a new run was created with."""
    _lease_hold(token)


def run_retry_delay(*, retries: int, retry_after: float | None) -> timedelta:
    """Jittered exponential backoff for a parked run, never sooner than the provider asked."""
    base = settings.PIPELINE_RETRY_BASE_SECONDS * 2 ** min(retries, 16)
    delay = min(base, settings.PIPELINE_RETRY_MAX_SECONDS) * random.uniform(0.5, 1.0)
    return timedelta(seconds=max(delay, retry_after or 0.0))


def run_park(*, run_id: Any, token: uuid.UUID, reason: str, delay: timedelta) -> bool:
    """Transient trouble (the model provider timed out, throttled or failed): give the lease
    back and park the run until `delay` has passed; the sweeper enqueues it then. The
    parking lives in the row, not in a broker countdown, so a broker restart loses none."""
    _lease_forget(token)
    return (
        PipelineRun.objects.filter(pk=run_id, status=S.RUNNING, lease_token=token).update(
            lease_token=None,
            lease_expires_at=Now() + delay,
            retries=F("retries") + 1,
            waiting_reason=reason[:200],
        )
        == 1
    )
