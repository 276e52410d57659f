"""The response-timing processor: exact milliseconds, bursts, late arrivals, idempotence."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from autosend.models import ScheduledSend
from autosend.scheduling import chosen_delay_seconds
from drafts.models import Message
from tests.timing_helpers import Thread, at
from timing.models import ResponseTimingEvent, TimingWatermark
from timing.processor import WATERMARK_NAME, response_timing_process

NOW = {"settle": timedelta(0)}


def process(**kwargs: Any) -> Any:
    return response_timing_process(**{**NOW, **kwargs})


def event(message: Message) -> ResponseTimingEvent:
    return ResponseTimingEvent.objects.get(inbound_message=message)


def snapshot() -> list[tuple[Any, ...]]:
    return list(
        ResponseTimingEvent.objects.order_by("inbound_message_id").values_list(
            *[f.attname for f in ResponseTimingEvent._meta.concrete_fields]
        )
    )


@pytest.fixture
def thread(tenant: Any) -> Thread:
    return Thread.start(tenant.workspace, tenant.email_channel)


def test_setter_and_ai_first_replies_with_bursts_and_interleaving(tenant: Any) -> None:
    email = Thread.start(tenant.workspace, tenant.email_channel)
    a = email.inbound(0)
    b = email.inbound(10)  # same burst as a
    s1 = email.setter(60, user=tenant.rep)
    x1 = email.ai(90, trigger=b)
    c = email.inbound(100)  # opens a new burst
    email.setter(100, user=tenant.operator)  # the same instant as c: not a reply to it
    x2 = email.ai(400.25, trigger=c)
    s3 = email.setter(1000, email="outside@tool.test")
    # The same lead on another channel is another thread.
    sms = Thread.start(tenant.workspace, tenant.sms_channel, lead=email.lead)
    d = sms.inbound(5)
    e = sms.inbound(20)
    x3 = sms.ai(50.001, trigger=e)

    result = process()

    assert result.batches == 1
    assert result.events_written == 5
    ea, eb, ec, ed, ee = (event(m) for m in (a, b, c, d, e))
    assert (ea.opened_burst, eb.opened_burst, ec.opened_burst) == (True, False, True)
    assert (ed.opened_burst, ee.opened_burst) == (True, False)
    assert (ea.setter_message_id, ea.setter_ms, ea.setter_user_id) == (s1.pk, 60_000, tenant.rep.pk)
    assert (eb.setter_message_id, eb.setter_ms) == (s1.pk, 50_000)
    assert (ea.ai_message_id, ea.ai_ms, ea.ai_draft_id) == (x1.pk, 90_000, x1.draft_id)
    assert (eb.ai_message_id, eb.ai_ms) == (x1.pk, 80_000)
    assert (ec.setter_message_id, ec.setter_ms, ec.setter_user_id) == (s3.pk, 900_000, None)
    assert ec.setter_email == "outside@tool.test"
    assert ec.setter_replied_at == at(1000)
    assert (ec.ai_message_id, ec.ai_ms, ec.ai_replied_at) == (x2.pk, 300_250, at(400.25))
    # No setter ever answered on sms; the one AI reply answers both d and e.
    assert (ed.setter_ms, ed.setter_message_id, ee.setter_ms) == (None, None, None)
    assert (ed.ai_message_id, ed.ai_ms) == (x3.pk, 45_001)
    assert (ee.ai_message_id, ee.ai_ms) == (x3.pk, 30_001)
    assert ee.inbound_sent_at == at(20)
    assert (ee.workspace_id, ee.lead_id, ee.channel_id) == (
        tenant.workspace.pk,
        email.lead.pk,
        tenant.sms_channel.pk,
    )
    # Without a ScheduledSend there is nothing to attribute the delay to.
    assert (ea.delay_chosen_seconds, ea.delay_actual_ms, ea.send_due_at) == (None, None, None)


def test_reply_before_any_inbound_and_outbound_only_threads(thread: Thread, tenant: Any) -> None:
    thread.setter(0, user=tenant.rep)
    first = thread.inbound(30)
    thread.setter(45, user=tenant.rep)
    only_outbound = Thread.start(tenant.workspace, tenant.sms_channel)
    only_outbound.setter(10, user=tenant.rep)

    process()

    assert ResponseTimingEvent.objects.count() == 1
    assert (event(first).opened_burst, event(first).setter_ms) == (True, 15_000)


def test_delay_attribution_from_the_scheduled_send(thread: Thread) -> None:
    a = thread.inbound(0)
    b = thread.inbound(20)
    x = thread.ai(250.5, trigger=b, delay=(180, 900), started=250, finished=251)
    send = ScheduledSend.objects.get(draft_id=x.draft_id)

    process()

    ea, eb = event(a), event(b)
    assert (ea.delay_min_seconds, ea.delay_max_seconds) == (180, 900)
    # The chosen delay is the deterministic function's pick for THIS inbound message.
    assert ea.delay_chosen_seconds == chosen_delay_seconds(a.pk, 180, 900)
    assert eb.delay_chosen_seconds == chosen_delay_seconds(b.pk, 180, 900)
    assert (ea.delay_actual_ms, eb.delay_actual_ms) == (250_500, 230_500)
    assert (eb.send_due_at, eb.send_started_at, eb.send_finished_at) == (
        send.run_at,
        at(250),
        at(251),
    )


def test_chosen_delay_in_sql_matches_the_python_function(tenant: Any) -> None:
    inbound = []
    for i in range(24):
        thread = Thread.start(tenant.workspace, tenant.email_channel)
        message = thread.inbound(0)
        thread.ai(30, trigger=message, delay=(i, i * 37 + 5), finished=30)
        inbound.append((message, i, i * 37 + 5))

    process()

    chosen = dict(
        ResponseTimingEvent.objects.values_list("inbound_message_id", "delay_chosen_seconds")
    )
    assert chosen == {m.pk: chosen_delay_seconds(m.pk, lo, hi) for m, lo, hi in inbound}


def test_a_late_outbound_is_picked_up_on_the_next_run(thread: Thread, tenant: Any) -> None:
    a = thread.inbound(0)
    b = thread.inbound(100)
    process()
    assert (event(a).setter_ms, event(b).opened_burst) == (None, False)

    # A setter's reply from another tool arrives after the run, dated between a and b.
    late = thread.setter(50, user=tenant.rep)
    result = process()

    assert result.events_written == 2
    assert (event(a).setter_message_id, event(a).setter_ms) == (late.pk, 50_000)
    assert (event(b).opened_burst, event(b).setter_ms) == (True, None)


def test_a_late_inbound_and_a_late_ai_reply_are_picked_up(thread: Thread) -> None:
    a = thread.inbound(0)
    process()
    x = thread.ai(120, trigger=a, delay=(60, 180), finished=120)
    late_inbound = thread.inbound(200)
    process()

    assert (event(a).ai_message_id, event(a).ai_ms) == (x.pk, 120_000)
    assert event(late_inbound).opened_burst is True


def test_running_twice_changes_nothing(thread: Thread, tenant: Any) -> None:
    a = thread.inbound(0)
    thread.setter(5, user=tenant.rep)
    thread.ai(9, trigger=a, delay=(1, 10), started=8, finished=9)
    thread.inbound(12)
    first = process()
    before = snapshot()

    again = process()
    TimingWatermark.objects.filter(name=WATERMARK_NAME).update(received_at=None, message_id=None)
    from_scratch = process()

    assert first.events_written == 2
    assert (again.batches, again.events_written) == (0, 0)
    assert (from_scratch.batches, from_scratch.events_written) == (1, 0)
    assert snapshot() == before


def test_messages_inside_the_settle_window_wait_for_the_next_tick(thread: Thread) -> None:
    a = thread.inbound(0)

    waiting = response_timing_process(now=timezone.now())
    assert (waiting.batches, ResponseTimingEvent.objects.count()) == (0, 0)

    later = response_timing_process(now=timezone.now() + timedelta(seconds=31))
    assert later.batches == 1
    assert event(a).inbound_sent_at == at(0)


def test_each_tick_does_a_bounded_amount_of_work(tenant: Any) -> None:
    threads = [Thread.start(tenant.workspace, tenant.email_channel) for _ in range(5)]
    inbound = [t.inbound(i) for i, t in enumerate(threads)]

    first = process(batch_size=2, max_batches=1)
    assert (first.batches, ResponseTimingEvent.objects.count()) == (1, 2)
    watermark = TimingWatermark.objects.get(name=WATERMARK_NAME)
    assert watermark.message_id == inbound[1].pk

    second = process(batch_size=2, max_batches=5)
    assert (second.batches, ResponseTimingEvent.objects.count()) == (2, 5)


def test_a_send_that_finishes_after_the_event_is_refreshed(thread: Thread) -> None:
    a = thread.inbound(0)
    x = thread.ai(61, trigger=a, delay=(60, 60), started=60)
    process()
    assert (event(a).send_started_at, event(a).send_finished_at) == (at(60), None)

    ScheduledSend.objects.filter(draft_id=x.draft_id).update(status="sent", finished_at=at(62))
    result = process()

    assert (result.batches, result.sends_refreshed) == (0, 1)
    assert event(a).send_finished_at == at(62)
    assert process().sends_refreshed == 0


def test_two_workspaces_never_mix(tenant: Any, other_tenant: Any) -> None:
    mine = Thread.start(tenant.workspace, tenant.email_channel)
    theirs = Thread.start(other_tenant.workspace, other_tenant.email_channel)
    m = mine.inbound(0)
    t = theirs.inbound(1)
    theirs.setter(2, user=other_tenant.rep)

    process()

    assert (event(m).workspace_id, event(m).setter_ms) == (tenant.workspace.pk, None)
    assert (event(t).workspace_id, event(t).setter_ms) == (other_tenant.workspace.pk, 1_000)


@pytest.mark.django_db(transaction=True)
def test_a_tick_steps_aside_while_another_writer_holds_the_watermark(tenant: Any) -> None:
    import threading

    from django.db import connection, transaction

    thread = Thread.start(tenant.workspace, tenant.email_channel)
    thread.inbound(0)
    TimingWatermark.objects.create(name=WATERMARK_NAME)
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                TimingWatermark.objects.select_for_update().get(name=WATERMARK_NAME)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(10)
    try:
        busy = process()
    finally:
        release.set()
        holder.join()

    assert (busy.busy, busy.batches, ResponseTimingEvent.objects.count()) == (True, 0, 0)
    assert process().batches == 1
    assert ResponseTimingEvent.objects.count() == 1
