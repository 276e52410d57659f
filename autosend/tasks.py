"""Celery tasks of the autosend app. Tasks take ids and call one service; the delay lives in
the database (`ScheduledSend.run_at`), never in the broker."""

from __future__ import annotations

from celery import shared_task

from autosend.delivery import scheduled_send_deliver, scheduled_sends_deliver_due


# Beat runs this every 5 s. Time limits stay under AUTO_SEND_SENDING_TIMEOUT, so a row still
# in `sending` after that long belongs to a worker that is gone.
@shared_task(name="autosend.deliver_due", ignore_result=True, soft_time_limit=90, time_limit=120)
def deliver_due() -> None:
    scheduled_sends_deliver_due()


@shared_task(name="autosend.send_now", ignore_result=True, soft_time_limit=50, time_limit=60)
def send_now(scheduled_send_id: str) -> None:
    """An approved reply, delivered now through the same claim as the beat (a duplicate task
    or the beat getting there first makes this a no-op)."""
    scheduled_send_deliver(scheduled_send_id=scheduled_send_id)
