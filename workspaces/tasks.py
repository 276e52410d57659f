"""Celery tasks of the workspaces app: outbound webhook delivery. Tasks take ids and call one
service; retry delays live in the database (`WebhookDelivery.next_attempt_at`)."""

from __future__ import annotations

from celery import shared_task

from workspaces.webhooks_out import (
    DELIVER_WEBHOOK_TASK,
    webhook_deliveries_deliver_due,
    webhook_delivery_attempt,
)


# Time limits stay well under OUTBOUND_WEBHOOK_DELIVERING_TIMEOUT, so a row still
# `delivering` after that long belongs to a worker that is gone.
@shared_task(
    name="workspaces.deliver_due_webhooks", ignore_result=True, soft_time_limit=90, time_limit=120
)
def deliver_due_webhooks() -> None:
    webhook_deliveries_deliver_due()


@shared_task(name=DELIVER_WEBHOOK_TASK, ignore_result=True, soft_time_limit=30, time_limit=45)
def deliver_webhook(delivery_id: str) -> None:
    """The first attempt right after the event's commit (the beat's claim makes a duplicate
    task, or the beat getting there first, a no-op)."""
    webhook_delivery_attempt(delivery_id=delivery_id)
