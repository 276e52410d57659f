"""Outbound workflow webhooks: recording events for a workspace's webhooks, and delivering them.

Recording happens in the transaction of the change it reports (a proposal accepted), so an
event exists exactly when the change does; the delivery itself never blocks or fails that
change. After commit an attempt is enqueued at once; whatever happens to it (broker down,
worker killed), the `WebhookDelivery` row is the truth and the beat finds it again.

At least once, effectively once. Unlike a reply to a lead (autosend, at most once: a crash
mid-send makes the send `unknown` for a person to check), a webhook is safe to repeat: its
`webhook-id` header is the delivery id, the same on every attempt, and Standard Webhooks
receivers drop an id they have already processed. So any attempt that did not end in a 2xx
answer is retried with exponential backoff, and a row left in `delivering` by a dead worker
goes back to `pending`: the receiver may see an id twice, never an event twice, and never
misses one while attempts remain.

Transitions (compare-and-swap, in `webhook_delivery_transition` only):
  pending → delivering (a worker claims a due row);
  delivering → delivered (2xx) | pending (retry later, or a dead worker's row)
             | failed (no attempts left, the webhook was turned off, or the outbound guard
               refused its URL, e.g. a private address: the reason is `last_error`).
  delivered and failed are final.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from config.signed_webhooks import signed_post
from config.tasks import task_publish
from workspaces.models import OutboundWebhook, WebhookDelivery, WebhookEvent, Workspace
from workspaces.services import new_webhook_secret, outbound_url_refuse

# Published by name: workspaces.tasks imports this module, so this one must not import it.
DELIVER_WEBHOOK_TASK = "workspaces.deliver_webhook"

logger = logging.getLogger(__name__)

W = WebhookDelivery.Status
ALLOWED: dict[str, frozenset[str]] = {
    W.PENDING: frozenset({W.DELIVERING}),
    W.DELIVERING: frozenset({W.DELIVERED, W.PENDING, W.FAILED}),
    W.DELIVERED: frozenset(),
    W.FAILED: frozenset(),
}
RETRY_BASE = timedelta(seconds=10)
RETRY_CAP = timedelta(hours=1)
ANSWER_LIMIT = 16 * 1024


class IllegalDeliveryTransition(ValueError):
    pass


def webhook_delivery_transition(
    *,
    delivery_id: Any,
    from_status: str,
    to_status: str,
    where: Q | None = None,
    **fields: Any,
) -> bool:
    """Move a delivery from `from_status` to `to_status` if it is still there (and `where`
    holds). True if this call made the move, False if someone else got there first."""
    if to_status not in ALLOWED[from_status]:
        raise IllegalDeliveryTransition(f"a delivery cannot go from {from_status} to {to_status}")
    qs = WebhookDelivery.objects.filter(pk=delivery_id, status=from_status)
    if where is not None:
        qs = qs.filter(where)
    return qs.update(status=to_status, **fields) == 1


def retry_delay(attempts: int) -> timedelta:
    """Wait after the `attempts`-th failed attempt: 10 s, 20 s, 40 s, … capped at 1 hour, each
    jittered down to half at random, so deliveries that failed together (a receiver's outage)
    do not all come back in the same second and knock it over again."""
    ceiling = min(RETRY_BASE * 2 ** max(attempts - 1, 0), RETRY_CAP)
    return ceiling * random.uniform(0.5, 1.0)


# --- Webhooks -------------------------------------------------------------------------------


def outbound_webhook_save(*, webhook: OutboundWebhook) -> str | None:
    """Save a webhook (its URL, events and switch already validated, e.g. by the admin form).
    A new one gets a fresh signing secret, returned so the caller can show it once. An
    internal URL is refused here too, whoever calls (see `config.netguard`)."""
    outbound_url_refuse(field="url", url=webhook.url)
    secret = None
    if webhook._state.adding:
        webhook.secret = secret = new_webhook_secret()
    events = webhook.events if isinstance(webhook.events, list) else []
    webhook.events = [e for e in dict.fromkeys(events) if e in WebhookEvent.values]
    webhook.save()
    return secret


def outbound_webhook_create(
    *, workspace: Workspace, url: str, events: Iterable[str], active: bool = True
) -> OutboundWebhook:
    webhook = OutboundWebhook(workspace=workspace, url=url, events=list(events), active=active)
    outbound_webhook_save(webhook=webhook)
    return webhook


def _subscribed(webhook: OutboundWebhook, event: str) -> bool:
    return webhook.active and isinstance(webhook.events, list) and event in webhook.events


# --- Recording events -----------------------------------------------------------------------


@dataclass(frozen=True)
class EventRecord:
    """One event to deliver: its workspace, a key unique per event (a repeat is ignored) and
    the JSON payload. The app that owns the event builds it (drafts for proposals), so this
    base module imports no app above it."""

    workspace_id: Any
    event_key: str
    payload: dict[str, Any]


def webhook_deliveries_record(
    *, event: WebhookEvent, records: list[EventRecord]
) -> list[WebhookDelivery]:
    """One delivery per record and active webhook of its workspace subscribed to `event`,
    written in the caller's transaction; an attempt is enqueued after commit."""
    if not records:
        return []
    workspace_ids = {r.workspace_id for r in records}
    webhooks = [
        w
        for w in OutboundWebhook.objects.filter(workspace_id__in=workspace_ids, active=True)
        if _subscribed(w, event)
    ]
    if not webhooks:
        return []
    now = timezone.now()
    rows = [
        WebhookDelivery(
            webhook=webhook,
            event_type=event,
            event_key=record.event_key,
            payload=record.payload,
            next_attempt_at=now,
        )
        for record in records
        for webhook in webhooks
        if webhook.workspace_id == record.workspace_id
    ]
    # An event is recorded once (a proposal is accepted by compare-and-swap), so a conflict
    # cannot come from here; ignoring one keeps a recording problem from failing the caller.
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    ids = [str(row.pk) for row in rows]
    transaction.on_commit(lambda: webhook_deliveries_enqueue(delivery_ids=ids))
    return rows


def webhook_deliveries_enqueue(*, delivery_ids: list[str]) -> None:
    """Ask a worker to attempt these now. A broker error is logged and swallowed: the rows are
    pending and due, so the beat delivers them anyway."""
    for delivery_id in delivery_ids:
        task_publish(
            DELIVER_WEBHOOK_TASK,
            delivery_id,
            log=logger,
            failed="webhooks_out: enqueue failed; the beat will deliver",
            delivery_id=delivery_id,
        )


# --- Delivering -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status_code: int | None  # None: no HTTP answer at all
    error: str = ""
    # The outbound guard refused the URL: the same URL is refused again, so no retry.
    permanent: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def webhook_body(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def webhook_post(*, url: str, secret: str, msg_id: str, body: str, timeout: float) -> Answer:
    """POST `body` signed per Standard Webhooks. Any failure is an `Answer` with its reason
    (ours, never the receiver's text), never an exception."""
    result = signed_post(
        url=url,
        secret=secret,
        msg_id=msg_id,
        body=body,
        timeout=timeout,
        user_agent="Replydesk-Webhooks/1",
        answer_limit=ANSWER_LIMIT,
    )
    if result.failure == "refused":
        return Answer(None, result.reason, permanent=True)
    if result.failure is not None:
        return Answer(None, f"no answer from the receiver ({result.error_type})")
    return Answer(result.status, "" if result.ok else f"the receiver answered HTTP {result.status}")


def webhook_delivery_attempt(*, delivery_id: Any, now: datetime | None = None) -> str:
    """Claim one due delivery and attempt it. Safe to call any number of times from any number
    of workers: only the claim's winner sends. Returns the status the row ended in, or
    `not_claimed`."""
    now = now or timezone.now()
    if not webhook_delivery_transition(
        delivery_id=delivery_id,
        from_status=W.PENDING,
        to_status=W.DELIVERING,
        where=Q(next_attempt_at__lte=now),
        started_at=now,
        attempts=F("attempts") + 1,
    ):
        return "not_claimed"
    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)
    webhook = delivery.webhook
    if not webhook.active:
        webhook_delivery_transition(
            delivery_id=delivery.pk,
            from_status=W.DELIVERING,
            to_status=W.FAILED,
            last_error="the webhook was turned off",
        )
        return W.FAILED
    answer = webhook_post(
        url=webhook.url,
        secret=webhook.secret,
        msg_id=str(delivery.pk),
        body=webhook_body(delivery.payload),
        timeout=settings.OUTBOUND_WEBHOOK_TIMEOUT_SECONDS,
    )
    return _record_answer(delivery=delivery, answer=answer, now=now)


def _record_answer(*, delivery: WebhookDelivery, answer: Answer, now: datetime) -> str:
    extra = {
        "delivery_id": str(delivery.pk),
        "webhook_id": str(delivery.webhook_id),
        "status_code": answer.status_code,
        "attempts": delivery.attempts,
    }
    if answer.ok:
        webhook_delivery_transition(
            delivery_id=delivery.pk,
            from_status=W.DELIVERING,
            to_status=W.DELIVERED,
            delivered_at=timezone.now(),
            last_status_code=answer.status_code,
            last_error="",
        )
        logger.info("webhooks_out: delivered", extra=extra)
        return W.DELIVERED
    fields: dict[str, Any] = {}
    if answer.permanent or delivery.attempts >= settings.OUTBOUND_WEBHOOK_MAX_ATTEMPTS:
        to_status = W.FAILED
    else:
        to_status = W.PENDING
        fields["next_attempt_at"] = now + retry_delay(delivery.attempts)
    webhook_delivery_transition(
        delivery_id=delivery.pk,
        from_status=W.DELIVERING,
        to_status=to_status,
        last_status_code=answer.status_code,
        last_error=answer.error[:500],
        **fields,
    )
    logger.warning("webhooks_out: attempt failed", extra={**extra, "now": to_status})
    return to_status


def webhook_deliveries_release_stuck(*, now: datetime | None = None, limit: int = 100) -> int:
    """Rows in `delivering` for longer than any attempt can take belong to a dead worker: back
    to `pending` (due now) while attempts remain, else `failed`."""
    now = now or timezone.now()
    cutoff = now - settings.OUTBOUND_WEBHOOK_DELIVERING_TIMEOUT
    stuck = WebhookDelivery.objects.filter(status=W.DELIVERING, started_at__lt=cutoff)
    released = 0
    for delivery_id, attempts in stuck.order_by("started_at").values_list("pk", "attempts")[:limit]:
        last = attempts >= settings.OUTBOUND_WEBHOOK_MAX_ATTEMPTS
        released += webhook_delivery_transition(
            delivery_id=delivery_id,
            from_status=W.DELIVERING,
            to_status=W.FAILED if last else W.PENDING,
            where=Q(started_at__lt=cutoff),
            next_attempt_at=now,
            last_error="the worker stopped during the attempt",
        )
    return released


@dataclass
class DueReport:
    released: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


def webhook_deliveries_deliver_due(
    *, now: datetime | None = None, limit: int | None = None, time_budget: float | None = None
) -> DueReport:
    """The beat's job: release dead workers' rows, then attempt a bounded batch of due rows,
    oldest first, one claim at a time, until the time budget is spent (the rest wait a tick)."""
    report = DueReport(released=webhook_deliveries_release_stuck(now=now))
    limit = limit or settings.OUTBOUND_WEBHOOK_BATCH
    budget = time_budget if time_budget is not None else settings.OUTBOUND_WEBHOOK_BUDGET_SECONDS
    deadline = time.monotonic() + budget
    due = WebhookDelivery.objects.filter(
        status=W.PENDING, next_attempt_at__lte=now or timezone.now()
    )
    for delivery_id in list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:limit]):
        if time.monotonic() > deadline:
            break
        outcome = webhook_delivery_attempt(delivery_id=delivery_id, now=now)
        report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1
    return report
