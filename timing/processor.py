"""The response-timing processor: derives `ResponseTimingEvent` rows from `drafts.Message`.

Every write is ONE set-based statement per batch (`_threads_upsert`): a window function over
whole threads (lead + channel) finds, for each inbound message, the next setter message, the
next AI message and whether it opened a burst, then an idempotent upsert writes only rows
whose values changed. Running it twice changes nothing.

Two ways in:
- `response_timing_process` (beat, every minute): reads messages past a watermark in
  (received_at, id) order, a bounded number per tick, and recomputes the threads they touch,
  so a reply recorded late (an outbound event arriving after the run) is picked up next tick.
- `response_timing_backfill` (the `backfill_response_timing` command): every thread, in
  batches of leads, each thread computed once.

PostgreSQL only (window functions with FILTER, ON CONFLICT, sha256); on the embedded SQLite
fallback of `make run` both return without doing anything.
"""

# SQL here is assembled from model table names and constants only; values are parameters.
# ruff: noqa: S608
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from autosend.models import ScheduledSend
from config.db import is_postgresql
from drafts.models import Message
from timing.models import ResponseTimingEvent, TimingWatermark

log = logging.getLogger(__name__)

WATERMARK_NAME = "response_timing"
# A message is read once it is this old: `received_at` is stamped before its transaction
# commits, so a row with an earlier stamp can still appear shortly after a later one.
SETTLE = timedelta(seconds=30)
TICK_BATCH_SIZE = 2_000
TICK_MAX_BATCHES = 10
BACKFILL_BATCH_SIZE = 20_000

# Columns the upsert writes (then `computed_at`), in order; all but the key are compared to
# decide whether a row changed.
_COLUMNS = (
    "inbound_message_id",
    "workspace_id",
    "lead_id",
    "channel_id",
    "inbound_sent_at",
    "opened_burst",
    "setter_message_id",
    "setter_replied_at",
    "setter_user_id",
    "setter_email",
    "setter_ms",
    "ai_draft_id",
    "ai_message_id",
    "ai_replied_at",
    "ai_ms",
    "delay_min_seconds",
    "delay_max_seconds",
    "delay_chosen_seconds",
    "delay_actual_ms",
    "send_due_at",
    "send_started_at",
    "send_finished_at",
)
_COMPARED = _COLUMNS[1:]


def _milliseconds(later: str, earlier: str) -> str:
    return f"floor(extract(epoch FROM ({later} - {earlier})) * 1000)::bigint"


# `autosend.scheduling.chosen_delay_seconds` in SQL: min + (first 8 bytes of
# sha256(str(message id)) as an unsigned big-endian integer) mod (max - min + 1).
# The bytes read as a signed bigint; adding 2^64 mod 2^64 makes them unsigned.
_CHOSEN_DELAY = """
    ss.delay_min_seconds + mod(
        mod(('x' || encode(substr(sha256(convert_to(i.id::text, 'UTF8')), 1, 8), 'hex'))
            ::bit(64)::bigint::numeric + 18446744073709551616, 18446744073709551616),
        ss.delay_max_seconds - ss.delay_min_seconds + 1
    )::integer"""


def _thread_messages_cte(message_filter: str) -> str:
    """Every message of the threads `message_filter` selects (a condition on `m`, the
    drafts_message alias, that must select whole threads), numbered by a window over its
    thread: `user_seq`/`ai_seq` count the setter/AI messages up to and including the row, so
    the first setter reply after an inbound row is the setter row numbered its user_seq + 1."""
    return f"""thread_messages AS MATERIALIZED (
        SELECT m.id, m.workspace_id, m.lead_id, m.channel_id, m.direction, m.sender_kind,
               m.sender_user_id, m.sender_email, m.draft_id, m.sent_at,
               count(*) FILTER (WHERE m.sender_kind = 'user') OVER w AS user_seq,
               count(*) FILTER (WHERE m.sender_kind = 'ai') OVER w AS ai_seq,
               lag(m.direction) OVER w AS previous_direction
        FROM {Message._meta.db_table} m
        WHERE {message_filter}
        -- Outbound sorts before inbound at the same instant: a reply is strictly later.
        WINDOW w AS (PARTITION BY m.lead_id, m.channel_id
                     ORDER BY m.sent_at, m.direction = 'inbound', m.id
                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    )"""


def _events_select() -> str:
    """One row per inbound message of `thread_messages`, in `_COLUMNS` order."""
    return f"""
    SELECT i.id, i.workspace_id, i.lead_id, i.channel_id, i.sent_at,
           i.previous_direction IS DISTINCT FROM 'inbound',
           s.id, s.sent_at, s.sender_user_id, coalesce(s.sender_email, ''),
           {_milliseconds("s.sent_at", "i.sent_at")},
           a.draft_id, a.id, a.sent_at,
           {_milliseconds("a.sent_at", "i.sent_at")},
           ss.delay_min_seconds, ss.delay_max_seconds,
           CASE WHEN ss.delay_max_seconds >= ss.delay_min_seconds THEN {_CHOSEN_DELAY} END,
           CASE WHEN ss.id IS NOT NULL THEN {_milliseconds("a.sent_at", "i.sent_at")} END,
           ss.run_at, ss.started_at, ss.finished_at
    FROM thread_messages i
    LEFT JOIN thread_messages s
        ON s.lead_id = i.lead_id AND s.channel_id = i.channel_id
       AND s.sender_kind = 'user' AND s.user_seq = i.user_seq + 1
    LEFT JOIN thread_messages a
        ON a.lead_id = i.lead_id AND a.channel_id = i.channel_id
       AND a.sender_kind = 'ai' AND a.ai_seq = i.ai_seq + 1
    LEFT JOIN {ScheduledSend._meta.db_table} ss ON ss.draft_id = a.draft_id
    WHERE i.direction = 'inbound'"""


def _upsert_sql(message_filter: str) -> str:
    table = ResponseTimingEvent._meta.db_table
    columns = ", ".join(_COLUMNS)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in (*_COMPARED, "computed_at"))
    old = ", ".join(f"t.{c}" for c in _COMPARED)
    new = ", ".join(f"EXCLUDED.{c}" for c in _COMPARED)
    return f"""
    WITH {_thread_messages_cte(message_filter)},
    written AS (
        INSERT INTO {table} AS t ({columns}, computed_at)
        SELECT e.*, statement_timestamp() FROM ({_events_select()}) e
        ON CONFLICT (inbound_message_id) DO UPDATE SET {updates}
        WHERE ({old}) IS DISTINCT FROM ({new})
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM thread_messages), (SELECT count(*) FROM written)
    """


def _threads_upsert(message_filter: str, params: dict[str, Any]) -> tuple[int, int]:
    """Recompute every event of the matching threads in one statement: returns how many
    messages were read and how many rows were inserted or changed."""
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(message_filter), params)
        row = cursor.fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


@dataclass(frozen=True)
class ProcessResult:
    batches: int = 0
    messages: int = 0
    events_written: int = 0
    sends_refreshed: int = 0
    busy: bool = False  # another tick held the watermark


_BEGINNING = (datetime.min.replace(tzinfo=UTC), UUID(int=0))


def _watermark_lock(*, wait: bool = False) -> TimingWatermark | None:
    """The watermark row, locked until this transaction ends. Every write of events holds
    it, so ticks and a backfill never upsert the same rows at once (no deadlocks). A tick
    does not wait (None: someone else is writing); a backfill batch waits its turn."""
    TimingWatermark.objects.get_or_create(name=WATERMARK_NAME)
    return (
        TimingWatermark.objects.select_for_update(skip_locked=not wait)
        .filter(name=WATERMARK_NAME)
        .first()
    )


def _position(watermark: TimingWatermark) -> tuple[datetime, UUID]:
    if watermark.received_at is None or watermark.message_id is None:
        return _BEGINNING
    return (watermark.received_at, watermark.message_id)


def _batch_bound(
    after: tuple[datetime, UUID], *, cutoff: datetime, batch_size: int
) -> tuple[datetime, UUID] | None:
    """The (received_at, id) of the last message of the next batch past `after`."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT received_at, id
            FROM (SELECT received_at, id FROM {Message._meta.db_table}
                  WHERE (received_at, id) > (%s, %s) AND received_at <= %s
                  ORDER BY received_at, id LIMIT %s) batch
            ORDER BY received_at DESC, id DESC LIMIT 1
            """,
            [*after, cutoff, batch_size],
        )
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


# Whole threads touched by the messages of one watermark batch. The plain received_at bounds
# repeat the row comparison for the planner, which cannot estimate a row comparison's range:
# with them it sees a few threads and reads them by index instead of scanning every message.
_TOUCHED_THREADS = f"""(m.lead_id, m.channel_id) IN (
    SELECT lead_id, channel_id FROM {Message._meta.db_table}
    WHERE received_at >= %(after_at)s AND received_at <= %(upto_at)s
      AND (received_at, id) > (%(after_at)s, %(after_id)s)
      AND (received_at, id) <= (%(upto_at)s, %(upto_id)s))"""

# Threads with an AI reply whose send finished after its event was written (delivery records
# the outbound message before it marks the send finished).
_UNFINISHED_SEND_THREADS = f"""(m.lead_id, m.channel_id) IN (
    SELECT e.lead_id, e.channel_id
    FROM {ResponseTimingEvent._meta.db_table} e
    JOIN {ScheduledSend._meta.db_table} ss ON ss.draft_id = e.ai_draft_id
    WHERE e.ai_draft_id IS NOT NULL AND e.send_finished_at IS NULL
      AND ss.finished_at IS NOT NULL
    LIMIT %(limit)s)"""


def response_timing_process(
    *,
    batch_size: int = TICK_BATCH_SIZE,
    max_batches: int = TICK_MAX_BATCHES,
    settle: timedelta = SETTLE,
    now: datetime | None = None,
) -> ProcessResult:
    """One beat tick: at most `max_batches` batches of `batch_size` messages past the
    watermark, each in its own transaction (progress survives a crash), then a refresh of
    sends that finished after their event was written."""
    if not is_postgresql():
        return ProcessResult()
    cutoff = (now or timezone.now()) - settle
    batches = messages = written = 0
    for _ in range(max_batches):
        with transaction.atomic():
            watermark = _watermark_lock()
            if watermark is None:
                return ProcessResult(batches, messages, written, busy=True)
            after = _position(watermark)
            upto = _batch_bound(after, cutoff=cutoff, batch_size=batch_size)
            if upto is None:
                break
            # `messages` counts every message of the touched threads, not just new ones.
            read, changed = _threads_upsert(
                _TOUCHED_THREADS,
                {
                    "after_at": after[0],
                    "after_id": after[1],
                    "upto_at": upto[0],
                    "upto_id": upto[1],
                },
            )
            TimingWatermark.objects.filter(name=WATERMARK_NAME).update(
                received_at=upto[0], message_id=upto[1], updated_at=timezone.now()
            )
        batches += 1
        messages += read
        written += changed
    with transaction.atomic():
        if _watermark_lock() is None:
            return ProcessResult(batches, messages, written, busy=True)
        _, refreshed = _threads_upsert(_UNFINISHED_SEND_THREADS, {"limit": batch_size})
    if batches or refreshed:
        log.info(
            "response timing processed: batches=%d messages=%d events_written=%d "
            "sends_refreshed=%d",
            batches,
            messages,
            written,
            refreshed,
        )
    return ProcessResult(batches, messages, written, refreshed)


@dataclass(frozen=True)
class BackfillResult:
    batches: int
    messages: int
    events_written: int


def _lead_batch_upper(after: UUID, batch_size: int) -> UUID | None:
    """The last lead among the next `batch_size` messages past `after` in lead order (the
    batch takes that lead whole); None when no message is left."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT lead_id FROM (SELECT lead_id FROM {Message._meta.db_table}
                                     WHERE lead_id > %s ORDER BY lead_id LIMIT %s) batch
                ORDER BY lead_id DESC LIMIT 1""",
            [after, batch_size],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def response_timing_backfill(
    *,
    batch_size: int = BACKFILL_BATCH_SIZE,
    settle: timedelta = SETTLE,
    on_batch: Callable[[int], None] | None = None,
) -> BackfillResult:
    """Recompute every thread once, whole leads of about `batch_size` messages per statement,
    then raise the watermark to where this history ended so beat carries on from there.
    `on_batch(messages)` hears how many messages each batch read (for a progress bar)."""
    if not is_postgresql():
        return BackfillResult(0, 0, 0)
    mark = (
        Message.objects.filter(received_at__lte=timezone.now() - settle)
        .order_by("-received_at", "-id")
        .values_list("received_at", "id")
        .first()
    )
    after = UUID(int=0)
    batches = messages = written = 0
    while (upper := _lead_batch_upper(after, batch_size)) is not None:
        with transaction.atomic():
            _watermark_lock(wait=True)
            read, changed = _threads_upsert(
                "m.lead_id > %(after)s AND m.lead_id <= %(upper)s", {"after": after, "upper": upper}
            )
        batches += 1
        messages += read
        written += changed
        if on_batch is not None:
            on_batch(read)
        after = upper
    if mark is not None:
        watermark_raise(received_at=mark[0], message_id=mark[1])
    return BackfillResult(batches, messages, written)


def watermark_raise(*, received_at: datetime, message_id: UUID) -> bool:
    """Move the watermark forward to (received_at, message_id), never back."""
    TimingWatermark.objects.get_or_create(name=WATERMARK_NAME)
    behind = (
        Q(received_at__isnull=True)
        | Q(received_at__lt=received_at)
        | Q(received_at=received_at, message_id__lt=message_id)
    )
    return (
        TimingWatermark.objects.filter(behind, name=WATERMARK_NAME).update(
            received_at=received_at, message_id=message_id, updated_at=timezone.now()
        )
        == 1
    )


def message_total() -> int:
    """How many messages a backfill reads (the total of its progress bar)."""
    return Message.objects.count()
