"""Nothing is lost when the broker is down at commit: the webhook still answers 202 and the
sweeper publishes the pipeline once the broker is back."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from celery.signals import task_prerun
from django.conf import settings
from django.utils import timezone
from kombu import pools

from config.celery import app
from drafts.models import Message
from pipeline import sweeper
from pipeline.models import PipelineRun
from pipeline.tasks import sweep_unstarted_messages
from tests.factories import ConversationFactory, LeadFactory, MessageFactory
from tests.webhooks import payload, post_signed, purge_queue, queued_tasks

DEAD_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused


@contextmanager
def broker_unreachable() -> Iterator[None]:
    """Publishing goes to a dead broker: the app's producer pools are swapped for ones on a
    connection nobody answers, as after a Redis crash. A running worker keeps its own
    connection, so it is unaffected (it is the web process that loses the broker)."""
    saved = app._pool, app.amqp._producer_pool
    dead = app.connection_for_write(url=DEAD_BROKER)
    app._pool = pools.connections[dead]
    app.amqp._producer_pool = pools.producers[dead]
    app.amqp._producer_pool.limit = app._pool.limit
    try:
        yield
    finally:
        app._pool, app.amqp._producer_pool = saved


@contextmanager
def started_tasks() -> Iterator[list[tuple[str, tuple]]]:
    """(task name, args) of every task a worker starts while the block runs."""
    seen: list[tuple[str, tuple]] = []
    lock = threading.Lock()

    def record(sender=None, task=None, args=None, **_):
        with lock:
            seen.append((task.name, tuple(args or ())))

    task_prerun.connect(record, weak=False)
    try:
        yield seen
    finally:
        task_prerun.disconnect(record)


def _age(message_id, by: timedelta) -> None:
    Message.objects.filter(pk=message_id).update(received_at=timezone.now() - by)


@pytest.mark.worker
def test_broker_outage_at_commit_loses_nothing(celery_worker_live, client, tenant):
    with broker_unreachable():
        started = time.monotonic()
        response = post_signed(client, tenant.email_channel, payload())
        elapsed = time.monotonic() - started

    assert response.status_code == 202
    # A hang guard, not a speed measurement: a publish retrying on a dead broker for
    # long would hold the sender's request (and a web worker) hostage.
    assert elapsed < 5
    message_id = response.json()["message_id"]
    assert Message.objects.filter(pk=message_id).exists()
    # Within PIPELINE_SWEEP_AFTER the sweeper leaves it alone (its publish may be in flight).
    assert sweeper.unstarted_messages_requeue().enqueued == 0

    _age(message_id, timedelta(minutes=3))
    with started_tasks() as seen:
        sweep_unstarted_messages.delay()
        deadline = time.monotonic() + 20
        while ("pipeline.run_for_message", (message_id,)) not in seen:
            assert time.monotonic() < deadline, f"pipeline never started; saw {seen}"
            time.sleep(0.05)

    # The beat task ran on the worker and published the pipeline, which the worker started.
    assert ("pipeline.sweep_unstarted_messages", ()) in seen


def test_sweeper_publishes_only_old_enough_inbound_messages_without_a_run(tenant):
    purge_queue()
    conversation = ConversationFactory(
        lead=LeadFactory(workspace=tenant.workspace), channel=tenant.email_channel
    )
    wanted = MessageFactory(conversation=conversation)
    started = MessageFactory(conversation=conversation)
    MessageFactory(conversation=conversation)  # too fresh: its publish may be in flight
    ancient = MessageFactory(conversation=conversation)
    outbound = MessageFactory(conversation=conversation, direction="outbound", sender_kind="user")
    for message in (wanted, started, outbound):
        _age(message.pk, timedelta(minutes=3))
    _age(ancient.pk, timedelta(days=1, minutes=1))
    PipelineRun.objects.create(
        workspace=tenant.workspace, trigger_message=started, channel=tenant.email_channel
    )

    result = sweeper.unstarted_messages_requeue()

    assert (result.enqueued, result.next_after) == (1, None)
    assert queued_tasks() == [("pipeline.run_for_message", [str(wanted.pk)])]
    purge_queue()


def test_sweeper_walks_a_backlog_in_batches_and_requeues_itself(tenant, monkeypatch):
    purge_queue()
    conversation = ConversationFactory(
        lead=LeadFactory(workspace=tenant.workspace), channel=tenant.email_channel
    )
    backlog = [MessageFactory(conversation=conversation) for _ in range(5)]
    for minutes, message in enumerate(backlog):
        _age(message.pk, timedelta(minutes=30 - minutes))
    monkeypatch.setattr(sweeper, "SWEEP_BATCH_SIZE", 2)

    # Run the sweep, then each follow-up sweep it queued, as a worker would.
    enqueued, args = [], []
    while True:
        enqueued.append(sweep_unstarted_messages(*args))
        follow_ups = [
            a for name, a in queued_tasks() if name == "pipeline.sweep_unstarted_messages"
        ]
        if len(follow_ups) < len(enqueued):
            break
        args = follow_ups[-1]

    assert enqueued == [2, 2, 1]
    published = [a[0] for name, a in queued_tasks() if name == "pipeline.run_for_message"]
    assert published == [str(m.pk) for m in backlog]  # each once, oldest first
    purge_queue()


def test_a_lost_publish_is_picked_up_within_seconds_and_published_once(tenant):
    purge_queue()
    conversation = ConversationFactory(
        lead=LeadFactory(workspace=tenant.workspace), channel=tenant.email_channel
    )
    lost = MessageFactory(conversation=conversation)
    fresh = MessageFactory(conversation=conversation)
    _age(lost.pk, timedelta(seconds=20))
    _age(fresh.pk, timedelta(seconds=5))

    first = sweeper.unstarted_messages_requeue()
    again = sweeper.unstarted_messages_requeue()  # the next beat, while the task still waits

    assert (first.enqueued, again.enqueued) == (1, 0)
    assert queued_tasks() == [("pipeline.run_for_message", [str(lost.pk)])]
    # Still no run a grace period later (the queued task was lost too): published again.
    later = timezone.now() + timedelta(seconds=61)
    assert sweeper.unstarted_messages_requeue(now=later).enqueued == 2  # and `fresh` by then
    purge_queue()


def test_beat_runs_the_sweeper_every_10_seconds_as_a_registered_task() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["pipeline.sweep_unstarted_messages"]
    assert (entry["task"], entry["schedule"]) == ("pipeline.sweep_unstarted_messages", 10.0)
    assert entry["task"] in app.tasks
