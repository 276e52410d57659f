"""`backfill_response_timing` and the beat task that carries on after it."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from drafts.models import Message
from tests.timing_helpers import Thread
from timing.models import ResponseTimingEvent, TimingWatermark
from timing.processor import WATERMARK_NAME, response_timing_process


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def build_history(tenant: Any, leads: int = 4) -> list[Message]:
    """Threads on both channels for several leads, received an hour ago."""
    inbound = []
    for n in range(leads):
        email = Thread.start(tenant.workspace, tenant.email_channel)
        sms = Thread.start(tenant.workspace, tenant.sms_channel, lead=email.lead)
        first = email.inbound(n)
        inbound += [first, email.inbound(n + 5), sms.inbound(n + 1)]
        email.setter(n + 60, user=tenant.rep)
        email.ai(n + 90, trigger=first, delay=(30, 120), finished=n + 90)
        inbound.append(email.inbound(n + 200))
    Message.objects.update(received_at=timezone.now() - timedelta(hours=1))
    return inbound


def rows() -> list[tuple[Any, ...]]:
    fields = [f.attname for f in ResponseTimingEvent._meta.concrete_fields if f.attname != "id"]
    return list(ResponseTimingEvent.objects.order_by("inbound_message_id").values_list(*fields))


def test_backfill_computes_every_thread_in_bounded_batches(tenant: Any) -> None:
    inbound = build_history(tenant)
    out = io.StringIO()

    call_command("backfill_response_timing", "--batch-size", "5", stdout=out)

    assert ResponseTimingEvent.objects.count() == len(inbound) == 16
    # 4 leads x 6 messages, 5 at a time but whole leads per batch: 4 batches.
    assert out.getvalue().startswith(
        "Backfilled response timing: 24 messages in 4 batches, 16 events written"
    )
    backfilled = rows()
    # The same history computed by the beat processor in one go gives the same rows.
    ResponseTimingEvent.objects.all().delete()
    TimingWatermark.objects.all().delete()
    response_timing_process(settle=timedelta(0))
    recomputed = rows()
    assert len(recomputed) == 16
    # Every column but computed_at (the last) is the same.
    assert [r[:-1] for r in recomputed] == [r[:-1] for r in backfilled]


def test_backfill_twice_writes_nothing_and_beat_carries_on(tenant: Any) -> None:
    build_history(tenant, leads=2)
    call_command("backfill_response_timing", stdout=io.StringIO())
    before = rows()
    last = Message.objects.order_by("-received_at", "-id").first()
    assert last is not None
    watermark = TimingWatermark.objects.get(name=WATERMARK_NAME)
    assert (watermark.received_at, watermark.message_id) == (last.received_at, last.pk)

    out = io.StringIO()
    call_command("backfill_response_timing", stdout=out)
    assert ", 0 events written," in out.getvalue()
    assert rows() == before
    # Beat starts after the history the backfill covered.
    assert response_timing_process(settle=timedelta(0)).batches == 0


def test_backfill_shows_a_progress_bar_on_a_terminal(tenant: Any) -> None:
    build_history(tenant, leads=3)
    out = Terminal()

    call_command("backfill_response_timing", "--batch-size", "7", stdout=out)

    text = out.getvalue()
    # 7 messages reach into the second lead, which the first batch takes whole.
    assert "\r[####################..........]  66%  12/18 messages" in text
    assert "\r[##############################] 100%  18/18 messages" in text


def test_backfill_refuses_a_batch_size_below_one(tenant: Any) -> None:
    from django.core.management.base import CommandError

    build_history(tenant, leads=1)
    with pytest.raises(CommandError, match="at least 1"):
        call_command("backfill_response_timing", "--batch-size", "0", stdout=io.StringIO())
    assert ResponseTimingEvent.objects.count() == 0


def test_beat_schedules_the_processor_every_minute() -> None:
    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["timing-process-response-timing"]
    assert (entry["task"], entry["schedule"]) == ("timing.process_response_timing", 60.0)
    assert entry["task"] in app.tasks


@pytest.mark.worker
def test_the_beat_task_run_by_a_real_worker_writes_events(
    celery_worker_live: Any, tenant: Any
) -> None:
    from timing.tasks import process_response_timing

    inbound = build_history(tenant, leads=2)
    process_response_timing.delay()

    deadline = time.monotonic() + 20
    while ResponseTimingEvent.objects.count() < len(inbound) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ResponseTimingEvent.objects.count() == len(inbound) == 8
