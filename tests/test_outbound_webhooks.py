"""Proposal workflow webhooks against a real receiver on loopback: recorded with the acceptance,
signed per Standard Webhooks, retried with backoff from the database, delivered exactly once
per event as the receiver counts it (distinct `webhook-id`s), never blocking the acceptance."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from drafts.models import Proposal
from tests.conftest import ApiClient
from tests.factories import LeadFactory, MembershipFactory, ProposalFactory, UserFactory
from tests.test_ingest_sweeper import broker_unreachable
from tests.test_transports import free_port
from tests.webhooks import purge_queue, queued_tasks
from workspaces.models import OutboundWebhook, WebhookDelivery
from workspaces.services import api_token_create
from workspaces.tasks import deliver_webhook
from workspaces.webhooks_out import (
    outbound_webhook_create,
    retry_delay,
    webhook_deliveries_deliver_due,
)

ACCEPTED = "proposal.accepted"


class Receiver:
    """A webhook receiver on a real socket: verifies each request with `standardwebhooks` and
    answers the next of `statuses` (the last one repeats)."""

    def __init__(self, secret: str, port: int, statuses: tuple[int, ...] = (200,)) -> None:
        self.secret = secret
        self.statuses = list(statuses)
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    payload = Webhook(receiver.secret).verify(body, headers)
                except WebhookVerificationError:
                    payload = None
                with receiver.lock:
                    receiver.requests.append({"id": headers.get("webhook-id"), "payload": payload})
                    status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else None
                status = status or receiver.statuses[0]
                self.send_response(status if payload is not None else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def verified(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["payload"] is not None]

    @property
    def distinct_ids(self) -> set[str]:
        return {r["id"] for r in self.verified}

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def webhook(tenant: Any, port: int, allow_private_outbound: None) -> OutboundWebhook:
    return outbound_webhook_create(
        workspace=tenant.workspace, url=f"http://127.0.0.1:{port}/hooks?src=rd", events=[ACCEPTED]
    )


@pytest.fixture
def start_receiver(webhook: OutboundWebhook, port: int) -> Iterator[Any]:
    receivers: list[Receiver] = []

    def start(statuses: tuple[int, ...] = (200,)) -> Receiver:
        receiver = Receiver(webhook.secret, port, statuses)
        receivers.append(receiver)
        return receiver

    yield start
    for receiver in receivers:
        receiver.close()


@pytest.fixture
def lead(tenant: Any) -> Any:
    return LeadFactory(
        workspace=tenant.workspace, assigned_to=tenant.rep, company="Old Co", name="Ada Park"
    )


@pytest.fixture
def rep_api(tenant: Any) -> ApiClient:
    _, token = api_token_create(workspace=tenant.workspace, user=tenant.rep)
    return ApiClient(token)


def expected_payload(proposal: Proposal, tenant: Any) -> dict[str, Any]:
    proposal.refresh_from_db()
    lead = proposal.lead
    assert proposal.decided_at is not None
    return {
        "type": ACCEPTED,
        "workspace_id": str(tenant.workspace.pk),
        "proposal_id": str(proposal.pk),
        "lead": {"id": str(lead.pk), "external_id": lead.external_id, "name": lead.name},
        "field": proposal.field,
        "previous_value": proposal.previous_value,
        "applied_value": proposal.applied_value,
        "accepted_by": tenant.rep.email,
        "accepted_at": proposal.decided_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }


def test_accepted_while_the_receiver_is_down_is_delivered_exactly_once_when_it_is_back(
    rep_api, tenant, lead, webhook, start_receiver, django_capture_on_commit_callbacks
):
    purge_queue()
    proposal = ProposalFactory(lead=lead)

    with django_capture_on_commit_callbacks(execute=True):
        response = rep_api.post(f"/api/v1/proposals/{proposal.pk}/accept")

    # The acceptance does not wait for the receiver.
    assert response.status_code == 200, response.content
    assert lead.__class__.objects.get(pk=lead.pk).company == "Sunrise Roofing"
    [delivery] = WebhookDelivery.objects.all()
    assert (delivery.webhook_id, delivery.event_type, delivery.status) == (
        webhook.pk,
        ACCEPTED,
        "pending",
    )
    assert delivery.payload == expected_payload(proposal, tenant)
    assert queued_tasks() == [("workspaces.deliver_webhook", [str(delivery.pk)])]
    purge_queue()

    deliver_webhook(str(delivery.pk))  # what a worker does with it: the receiver is down

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, None)
    assert delivery.last_error == "no answer from the receiver (ConnectionRefusedError)"
    wait = delivery.next_attempt_at - delivery.started_at
    assert timedelta(seconds=5) <= wait <= timedelta(seconds=10)  # 10 s, jittered

    receiver = start_receiver()
    assert webhook_deliveries_deliver_due().outcomes == {}  # not due yet
    assert receiver.requests == []
    later = delivery.next_attempt_at + timedelta(seconds=1)

    assert webhook_deliveries_deliver_due(now=later).outcomes == {"delivered": 1}
    assert webhook_deliveries_deliver_due(now=later + timedelta(hours=2)).outcomes == {}

    assert len(receiver.requests) == 1
    assert receiver.distinct_ids == {str(delivery.pk)}
    assert receiver.verified[0]["payload"] == expected_payload(proposal, tenant)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 2, 200)
    assert delivery.last_error == ""
    assert delivery.delivered_at is not None


def test_batch_accept_records_one_delivery_per_proposal(
    rep_api, tenant, lead, webhook, start_receiver, django_capture_on_commit_callbacks
):
    purge_queue()
    receiver = start_receiver()
    batch = uuid.uuid4()
    company = ProposalFactory(lead=lead, batch_id=batch)
    title = ProposalFactory(lead=lead, batch_id=batch, field="title", proposed_value="Owner")

    with django_capture_on_commit_callbacks(execute=True):
        response = rep_api.post(f"/api/v1/proposals/batches/{batch}/accept")

    assert response.status_code == 200, response.content
    deliveries = {d.payload["proposal_id"]: d for d in WebhookDelivery.objects.all()}
    assert set(deliveries) == {str(company.pk), str(title.pk)}
    assert sorted(args for _, args in queued_tasks()) == sorted(
        [str(d.pk)] for d in deliveries.values()
    )
    purge_queue()
    assert webhook_deliveries_deliver_due().outcomes == {"delivered": 2}
    assert receiver.distinct_ids == {str(d.pk) for d in deliveries.values()}
    assert len(receiver.requests) == 2
    payloads = {r["payload"]["proposal_id"]: r["payload"] for r in receiver.verified}
    assert payloads == {
        str(company.pk): expected_payload(company, tenant),
        str(title.pk): expected_payload(title, tenant),
    }
    assert (
        payloads[str(title.pk)]["previous_value"],
        payloads[str(title.pk)]["applied_value"],
    ) == (
        "",
        "Owner",
    )


@pytest.mark.parametrize("case", ["inactive", "not_subscribed", "other_workspace", "rejected"])
def test_nothing_is_recorded_without_an_active_subscribed_webhook_of_the_workspace(
    rep_api,
    tenant,
    other_tenant,
    lead,
    port,
    case,
    django_capture_on_commit_callbacks,
    allow_private_outbound,
):
    outbound_webhook_create(
        workspace=other_tenant.workspace if case == "other_workspace" else tenant.workspace,
        url=f"http://127.0.0.1:{port}/",
        events=[] if case == "not_subscribed" else [ACCEPTED],
        active=case != "inactive",
    )
    proposal = ProposalFactory(lead=lead)
    action = "reject" if case == "rejected" else "accept"

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = rep_api.post(f"/api/v1/proposals/{proposal.pk}/{action}")

    assert response.status_code == 200
    assert WebhookDelivery.objects.count() == 0
    assert callbacks == []


def test_a_refused_acceptance_records_nothing(api, tenant, lead, webhook):
    proposal = ProposalFactory(lead=lead)

    response = api.post(f"/api/v1/proposals/{proposal.pk}/accept")  # the operator, not the rep

    assert response.status_code == 403
    assert Proposal.objects.get(pk=proposal.pk).status == "pending"
    assert WebhookDelivery.objects.count() == 0


def test_5xx_then_2xx_is_retried_after_the_backoff(rep_api, lead, webhook, start_receiver):
    receiver = start_receiver(statuses=(503, 200))
    proposal = ProposalFactory(lead=lead)
    assert rep_api.post(f"/api/v1/proposals/{proposal.pk}/accept").status_code == 200
    [delivery] = WebhookDelivery.objects.all()
    t = delivery.next_attempt_at

    assert webhook_deliveries_deliver_due(now=t).outcomes == {"pending": 1}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 503)
    assert delivery.last_error == "the receiver answered HTTP 503"
    retry_at = delivery.next_attempt_at
    assert t + timedelta(seconds=5) <= retry_at <= t + timedelta(seconds=10)  # 10 s, jittered

    assert webhook_deliveries_deliver_due(now=retry_at - timedelta(seconds=1)).outcomes == {}
    assert webhook_deliveries_deliver_due(now=retry_at).outcomes == {"delivered": 1}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 2, 200)
    # Two requests, one webhook-id: the receiver drops the repeat, if it ever got the first.
    assert [r["id"] for r in receiver.verified] == [str(delivery.pk)] * 2


def test_backoff_doubles_and_the_delivery_fails_after_the_last_attempt(
    rep_api, lead, webhook, start_receiver, settings
):
    settings.OUTBOUND_WEBHOOK_MAX_ATTEMPTS = 4
    receiver = start_receiver(statuses=(500,))
    proposal = ProposalFactory(lead=lead)
    assert rep_api.post(f"/api/v1/proposals/{proposal.pk}/accept").status_code == 200
    [delivery] = WebhookDelivery.objects.all()

    waits = []
    for _ in range(4):
        due = delivery.next_attempt_at
        webhook_deliveries_deliver_due(now=due)
        delivery.refresh_from_db()
        waits.append((delivery.status, (delivery.next_attempt_at - due).total_seconds()))

    assert [status for status, _ in waits] == ["pending", "pending", "pending", "failed"]
    for (_, wait), ceiling in zip(waits[:3], (10, 20, 40), strict=True):
        assert ceiling / 2 <= wait <= ceiling
    assert waits[3][1] == 0
    assert delivery.attempts == 4
    assert webhook_deliveries_deliver_due(now=due + timedelta(days=1)).outcomes == {}
    assert len(receiver.requests) == 4
    for attempts, ceiling in ((1, 10), (2, 20), (9, 2560), (10, 3600), (12, 3600)):
        assert ceiling / 2 <= retry_delay(attempts).total_seconds() <= ceiling


def test_webhook_retries_after_a_shared_outage_are_spread_out():
    """A hundred deliveries that failed at the same moment do not all retry in one second."""
    waits = {round(retry_delay(3).total_seconds()) for _ in range(100)}
    assert min(waits) >= 20
    assert max(waits) <= 40
    assert len(waits) > 5


def test_a_dead_workers_delivery_goes_back_to_pending_and_is_sent(
    rep_api, lead, webhook, start_receiver
):
    receiver = start_receiver()
    proposal = ProposalFactory(lead=lead)
    assert rep_api.post(f"/api/v1/proposals/{proposal.pk}/accept").status_code == 200
    [delivery] = WebhookDelivery.objects.all()
    now = timezone.now()
    # The state a worker killed mid-attempt leaves behind.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="delivering", started_at=now - timedelta(minutes=1), attempts=1
    )

    assert webhook_deliveries_deliver_due(now=now).outcomes == {}  # it may still be working
    assert receiver.requests == []

    report = webhook_deliveries_deliver_due(now=now + timedelta(minutes=5))

    assert (report.released, report.outcomes) == (1, {"delivered": 1})
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert receiver.distinct_ids == {str(delivery.pk)}


def test_a_webhook_turned_off_before_delivery_is_not_called(rep_api, lead, webhook, start_receiver):
    receiver = start_receiver()
    proposal = ProposalFactory(lead=lead)
    assert rep_api.post(f"/api/v1/proposals/{proposal.pk}/accept").status_code == 200
    OutboundWebhook.objects.filter(pk=webhook.pk).update(active=False)

    assert webhook_deliveries_deliver_due().outcomes == {"failed": 1}

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_error) == ("failed", "the webhook was turned off")
    assert receiver.requests == []


def test_a_broker_outage_never_fails_the_acceptance(
    rep_api, lead, webhook, start_receiver, caplog, django_capture_on_commit_callbacks
):
    receiver = start_receiver()
    proposal = ProposalFactory(lead=lead)

    with (
        caplog.at_level(logging.WARNING, logger="workspaces.webhooks_out"),
        broker_unreachable(),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = rep_api.post(f"/api/v1/proposals/{proposal.pk}/accept")

    assert response.status_code == 200, response.content
    assert Proposal.objects.get(pk=proposal.pk).status == "accepted"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    [record] = [r for r in caplog.records if r.name == "workspaces.webhooks_out"]
    assert record.getMessage() == "webhooks_out: enqueue failed; the beat will deliver"
    assert record.delivery_id == str(delivery.pk)  # type: ignore[attr-defined]

    assert webhook_deliveries_deliver_due().outcomes == {"delivered": 1}
    assert receiver.distinct_ids == {str(delivery.pk)}


@pytest.mark.worker
def test_a_real_worker_delivers_the_attempt_enqueued_after_commit(
    celery_worker_live, rep_api, lead, webhook, start_receiver
):
    receiver = start_receiver()
    proposal = ProposalFactory(lead=lead)

    assert rep_api.post(f"/api/v1/proposals/{proposal.pk}/accept").status_code == 200

    delivery = WebhookDelivery.objects.get()
    deadline = time.monotonic() + 20
    while WebhookDelivery.objects.get(pk=delivery.pk).status != "delivered":
        assert time.monotonic() < deadline, "the worker never delivered"
        time.sleep(0.05)
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert receiver.distinct_ids == {str(delivery.pk)}
    assert len(receiver.requests) == 1
    assert receiver.verified[0]["payload"]["proposal_id"] == str(proposal.pk)


# --- Admin ----------------------------------------------------------------------------------


def _staff_of(tenant: Any) -> Any:
    staff = UserFactory(is_staff=True, is_superuser=False)
    MembershipFactory(user=staff, workspace=tenant.workspace)
    for codename in (
        "view_outboundwebhook",
        "add_outboundwebhook",
        "change_outboundwebhook",
        "view_webhookdelivery",
    ):
        staff.user_permissions.add(Permission.objects.get(codename=codename))
    return staff


def _delivery(webhook: OutboundWebhook) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        webhook=webhook,
        event_type=ACCEPTED,
        event_key=f"proposal:{uuid.uuid4()}",
        payload={"type": ACCEPTED},
        next_attempt_at=timezone.now(),
    )


def test_admin_staff_see_and_add_webhooks_of_their_workspaces_only(client, tenant, other_tenant):
    mine = outbound_webhook_create(
        workspace=tenant.workspace, url="https://hooks.acme.example/rd", events=[ACCEPTED]
    )
    theirs = outbound_webhook_create(
        workspace=other_tenant.workspace, url="https://hooks.globex.example/rd", events=[ACCEPTED]
    )
    my_delivery, _ = _delivery(mine), _delivery(theirs)
    client.force_login(_staff_of(tenant))

    listing = client.get("/admin/workspaces/outboundwebhook/")
    assert list(listing.context["cl"].result_list) == [mine]
    assert client.get(f"/admin/workspaces/outboundwebhook/{theirs.pk}/change/").status_code == 302
    mine_page = client.get(f"/admin/workspaces/outboundwebhook/{mine.pk}/change/")
    assert mine_page.status_code == 200
    assert mine.secret not in mine_page.content.decode()
    deliveries = client.get("/admin/workspaces/webhookdelivery/")
    assert list(deliveries.context["cl"].result_list) == [my_delivery]

    form = {"url": "https://hooks.acme.example/two", "events": [ACCEPTED], "active": "on"}
    refused = client.post(
        "/admin/workspaces/outboundwebhook/add/", {**form, "workspace": other_tenant.workspace.pk}
    )
    assert refused.status_code == 200
    assert "workspace" in refused.context["adminform"].form.errors
    assert OutboundWebhook.objects.count() == 2

    added = client.post(
        "/admin/workspaces/outboundwebhook/add/",
        {**form, "workspace": tenant.workspace.pk},
        follow=True,
    )
    assert added.status_code == 200
    created = OutboundWebhook.objects.get(url="https://hooks.acme.example/two")
    assert (created.workspace, created.events, created.active) == (
        tenant.workspace,
        [ACCEPTED],
        True,
    )
    assert created.secret.startswith("whsec_")
    assert created.secret in added.content.decode()  # shown once, on creation
    again = client.get(f"/admin/workspaces/outboundwebhook/{created.pk}/change/")
    assert created.secret not in again.content.decode()


def test_admin_superadmin_sees_every_workspaces_webhooks(client, tenant, other_tenant, superadmin):
    mine = outbound_webhook_create(workspace=tenant.workspace, url="https://a.example/", events=[])
    theirs = outbound_webhook_create(
        workspace=other_tenant.workspace, url="https://b.example/", events=[]
    )
    client.force_login(superadmin)

    listing = client.get("/admin/workspaces/outboundwebhook/")

    assert set(listing.context["cl"].result_list) == {mine, theirs}


# --- Wiring ---------------------------------------------------------------------------------


def test_beat_attempts_due_webhooks_every_ten_seconds(settings):
    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["workspaces-deliver-due-webhooks"]
    assert (entry["task"], entry["schedule"]) == ("workspaces.deliver_due_webhooks", 10.0)
    app.loader.import_default_modules()
    for name in ("workspaces.deliver_due_webhooks", "workspaces.deliver_webhook"):
        # A live worker's row never looks dead to the sweep.
        assert timedelta(seconds=app.tasks[name].time_limit) < (
            settings.OUTBOUND_WEBHOOK_DELIVERING_TIMEOUT
        )
