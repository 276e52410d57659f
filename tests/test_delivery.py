"""Delivery of scheduled sends: the claim, the re-checks before sending, what gets recorded,
failures and crashes, and the approval path. Real PostgreSQL, real transports on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from autosend.delivery import (
    Outcome,
    scheduled_send_deliver,
    scheduled_send_reconcile,
    scheduled_sends_cancel_for_conversation,
    scheduled_sends_deliver_due,
    scheduled_sends_mark_stuck_unknown,
)
from autosend.models import ScheduledSend
from autosend.scheduling import draft_send_approved, scheduled_send_create
from drafts.models import Draft, Message, Notification
from tests import test_transports
from tests.factories import ConversationFactory, DraftFactory, LeadFactory, MessageFactory
from tests.live_processes import REPO, subprocess_env
from workspaces.models import Transport, WorkspaceSettings

# Real servers on loopback, shared with the transport tests.
smtp_server = test_transports.smtp_server
webhook_receiver = test_transports.webhook_receiver
free_port = test_transports.free_port

TEXT = "Hi Ada! A 7kW system is about $21,000 before the federal tax credit."
S = ScheduledSend.Status


def book(
    tenant,
    *,
    channel=None,
    origin=ScheduledSend.Origin.AUTO,
    run_at=None,
    text=TEXT,
    auto_send=True,
    approved_by=None,
) -> ScheduledSend:
    """A draft answering a lead's message, booked to send (due a second ago by default)."""
    # No undo window: these tests are about delivery once an approval is due.
    WorkspaceSettings.objects.filter(workspace=tenant.workspace).update(
        auto_send_enabled=auto_send, undo_seconds=0
    )
    tag = uuid.uuid4().hex[:8]
    lead = LeadFactory(workspace=tenant.workspace, email=f"ada-{tag}@example.com", name="Ada")
    conversation = ConversationFactory(
        lead=lead, channel=channel or tenant.email_channel, subject="Pricing", external_id=tag
    )
    trigger = MessageFactory(
        conversation=conversation,
        external_id=f"{tag}@mail.example.com",
        subject="Pricing",
        sent_at=timezone.now() - timedelta(minutes=10),
    )
    draft = DraftFactory(trigger_message=trigger, text=text)
    send = scheduled_send_create(
        draft=draft,
        origin=origin,
        run_at=run_at or timezone.now() - timedelta(seconds=1),
        text=text,
        approved_by=approved_by,
    )
    assert send is not None
    return send


def reload(send: ScheduledSend) -> tuple[ScheduledSend, Draft]:
    send.refresh_from_db()
    return send, Draft.objects.get(pk=send.draft_id)


def outbound(send: ScheduledSend):
    """What Replydesk sent for this send's draft."""
    return Message.objects.filter(draft_id=send.draft_id, direction="outbound")


# --- The happy path -------------------------------------------------------------------------


def test_due_auto_send_is_sent_and_recorded(tenant):
    send = book(tenant)

    assert scheduled_send_deliver(scheduled_send_id=send.pk) == Outcome.SENT

    send, draft = reload(send)
    assert (send.status, send.attempts, draft.status) == (S.SENT, 1, Draft.Status.SENT)
    assert send.started_at is not None
    assert send.finished_at is not None
    assert send.transport_message_id == f"log:{draft.pk}"
    [message] = outbound(send)
    assert message.sender_kind == Message.Sender.AI
    assert message.sender_user is None
    assert message.external_id == f"replydesk:{draft.pk}"
    assert message.transport_message_id == f"log:{draft.pk}"
    assert message.draft_id == draft.pk
    assert message.body_text == TEXT
    assert message.channel_id == tenant.email_channel.pk


def test_email_auto_send_reaches_the_smtp_server_threaded(tenant, smtp_server):
    channel = tenant.email_channel
    channel.transport = Transport.EMAIL
    channel.from_address = "solar@acme.example"
    channel.save()
    send = book(tenant, channel=channel)

    scheduled_sends_deliver_due()
    scheduled_sends_deliver_due()

    assert len(smtp_server.envelopes) == 1
    msg = smtp_server.parsed()[0]
    trigger = Draft.objects.get(pk=send.draft_id).trigger_message
    assert msg["In-Reply-To"] == f"<{trigger.external_id}>"
    assert msg["Message-ID"] == f"<replydesk.{send.draft_id}@acme.example>"
    send, _ = reload(send)
    assert send.status == S.SENT
    assert outbound(send).get().transport_message_id == msg["Message-ID"]


def test_a_send_that_is_not_due_waits(tenant):
    send = book(tenant, run_at=timezone.now() + timedelta(minutes=5))

    assert scheduled_send_deliver(scheduled_send_id=send.pk) == Outcome.NOT_CLAIMED
    report = scheduled_sends_deliver_due()

    send, draft = reload(send)
    assert (send.status, send.attempts, draft.status) == (S.SCHEDULED, 0, Draft.Status.SCHEDULED)
    assert report.outcomes == {}
    assert not outbound(send).exists()


def test_delivering_again_changes_nothing(tenant):
    send = book(tenant)
    assert scheduled_send_deliver(scheduled_send_id=send.pk) == Outcome.SENT
    assert scheduled_send_deliver(scheduled_send_id=send.pk) == Outcome.NOT_CLAIMED
    send, _ = reload(send)
    assert send.attempts == 1
    assert outbound(send).count() == 1


# --- Re-checks at delivery time -------------------------------------------------------------


def _assert_called_off(send, reason, draft_status):
    send, draft = reload(send)
    assert (send.status, send.cancel_reason, draft.status) == (S.CANCELLED, reason, draft_status)
    assert not outbound(send).exists()


def test_kill_switch_cancels_an_auto_send_and_returns_the_draft_to_review(tenant):
    send = book(tenant)
    with override_settings(AUTO_SEND_DISABLED=True):
        assert scheduled_send_deliver(scheduled_send_id=send.pk) == Outcome.CANCELLED
    _assert_called_off(send, "kill_switch", Draft.Status.PENDING)


def test_kill_switch_does_not_stop_an_operator_approved_send(tenant):
    send = book(tenant, origin=ScheduledSend.Origin.APPROVAL, approved_by=tenant.operator)
    with override_settings(AUTO_SEND_DISABLED=True):
        assert scheduled_send_deliver(scheduled_send_id=send.pk) == Outcome.SENT
    message = outbound(send).get()
    assert message.sender_kind == Message.Sender.USER
    assert message.sender_user == tenant.operator


def test_the_revision_kill_switch_does_not_stop_delivery(tenant):
    send = book(tenant)
    with override_settings(AUTO_SEND_REVISION_DISABLED=True):
        assert scheduled_send_deliver(scheduled_send_id=send.pk) == Outcome.SENT


def test_workspace_auto_send_turned_off_cancels_an_auto_send(tenant):
    send = book(tenant)
    WorkspaceSettings.objects.filter(workspace=tenant.workspace).update(auto_send_enabled=False)
    assert scheduled_send_deliver(scheduled_send_id=send.pk) == Outcome.CANCELLED
    _assert_called_off(send, "auto_send_off", Draft.Status.PENDING)


def test_newer_inbound_message_supersedes_the_draft(tenant):
    send = book(tenant)
    conversation = send.conversation
    MessageFactory(conversation=conversation, body_text="Actually, what about a battery?")
    assert scheduled_send_deliver(scheduled_send_id=send.pk) == Outcome.CANCELLED
    _assert_called_off(send, "newer_inbound", Draft.Status.SUPERSEDED)


def test_human_reply_since_the_trigger_supersedes_the_draft(tenant):
    send = book(tenant)
    MessageFactory(
        conversation=send.conversation,
        direction=Message.Direction.OUTBOUND,
        sender_kind=Message.Sender.USER,
        sender_user=tenant.rep,
        body_text="Hi Ada, Jo here, I'll call you.",
    )
    assert scheduled_send_deliver(scheduled_send_id=send.pk) == Outcome.CANCELLED
    _assert_called_off(send, "human_replied", Draft.Status.SUPERSEDED)


def test_human_reply_cancels_pending_sends_before_they_are_due(tenant):
    send = book(tenant, run_at=timezone.now() + timedelta(minutes=3))
    assert (
        scheduled_sends_cancel_for_conversation(
            conversation_id=send.conversation_id, reason="human_replied"
        )
        == 1
    )
    later = timezone.now() + timedelta(minutes=4)
    assert scheduled_send_deliver(scheduled_send_id=send.pk, now=later) == Outcome.NOT_CLAIMED
    send, _ = reload(send)
    assert (send.status, send.cancel_reason) == (S.CANCELLED, "human_replied")
    assert not outbound(send).exists()


def test_edited_draft_text_cancels_the_auto_send(tenant):
    send = book(tenant)
    Draft.objects.filter(pk=send.draft_id).update(text=TEXT + " Edited.")
    assert scheduled_send_deliver(scheduled_send_id=send.pk) == Outcome.CANCELLED
    _assert_called_off(send, "draft_changed", Draft.Status.PENDING)


def test_rejected_draft_is_not_sent(tenant):
    send = book(tenant)
    Draft.objects.filter(pk=send.draft_id).update(status=Draft.Status.REJECTED)
    assert scheduled_send_deliver(scheduled_send_id=send.pk) == Outcome.CANCELLED
    _assert_called_off(send, "draft_rejected", Draft.Status.REJECTED)


def test_a_send_more_than_an_hour_late_is_cancelled_as_stale(tenant):
    send = book(tenant, run_at=timezone.now() - timedelta(hours=1, minutes=1))
    report = scheduled_sends_deliver_due()
    assert report.outcomes == {Outcome.CANCELLED: 1}
    _assert_called_off(send, "stale", Draft.Status.PENDING)


def test_a_send_just_under_an_hour_late_still_goes(tenant):
    send = book(tenant, run_at=timezone.now() - timedelta(minutes=59))
    assert scheduled_send_deliver(scheduled_send_id=send.pk) == Outcome.SENT


def test_operator_approved_send_ignores_a_newer_inbound_message(tenant):
    send = book(tenant, origin=ScheduledSend.Origin.APPROVAL, approved_by=tenant.operator)
    MessageFactory(conversation=send.conversation, body_text="Also, do you do batteries?")
    assert scheduled_send_deliver(scheduled_send_id=send.pk) == Outcome.SENT


# --- Failures and crashes -------------------------------------------------------------------


def _sms_channel(tenant, url):
    channel = tenant.sms_channel
    channel.transport = Transport.WEBHOOK
    channel.outbound_url = url
    channel.save()
    return channel


def test_refused_connection_fails_the_send_once_and_tells_operators(tenant, allow_private_outbound):
    channel = _sms_channel(tenant, f"http://127.0.0.1:{free_port()}/hook")
    send = book(tenant, channel=channel)

    assert scheduled_send_deliver(scheduled_send_id=send.pk) == Outcome.FAILED
    scheduled_sends_deliver_due()  # never retried automatically

    send, draft = reload(send)
    assert (send.status, send.attempts, draft.status) == (S.FAILED, 1, Draft.Status.PENDING)
    assert send.last_error.startswith("could not connect")
    note = Notification.objects.get(draft_id=send.draft_id)
    assert (note.kind, note.workspace_id) == (Notification.Kind.SEND_FAILED, tenant.workspace.pk)
    assert not outbound(send).exists()


def test_an_error_before_the_transport_is_a_failure_not_an_unknown(tenant):
    send = book(tenant)
    WorkspaceSettings.objects.filter(workspace=tenant.workspace).delete()

    assert scheduled_send_deliver(scheduled_send_id=send.pk) == Outcome.FAILED

    send, draft = reload(send)
    assert (send.status, draft.status) == (S.FAILED, Draft.Status.PENDING)
    assert send.last_error == "internal error before sending (RelatedObjectDoesNotExist)"
    assert Notification.objects.get(draft_id=send.draft_id).kind == Notification.Kind.SEND_FAILED
    assert not outbound(send).exists()


def test_a_row_stuck_in_sending_becomes_unknown_and_is_never_retried(tenant, webhook_receiver):
    receiver = webhook_receiver()
    send = book(tenant, channel=_sms_channel(tenant, receiver.url))
    started = timezone.now() - settings.AUTO_SEND_SENDING_TIMEOUT - timedelta(seconds=1)
    ScheduledSend.objects.filter(pk=send.pk).update(status=S.SENDING, started_at=started)

    report = scheduled_sends_deliver_due()
    scheduled_sends_deliver_due()

    assert report.stuck == 1
    send, draft = reload(send)
    assert (send.status, draft.status) == (S.UNKNOWN, Draft.Status.SCHEDULED)
    assert (
        Notification.objects.filter(
            draft_id=send.draft_id, kind=Notification.Kind.SEND_UNKNOWN
        ).count()
        == 1
    )
    assert receiver.requests == []


def test_a_send_in_flight_is_not_swept(tenant):
    send = book(tenant)
    ScheduledSend.objects.filter(pk=send.pk).update(status=S.SENDING, started_at=timezone.now())
    assert scheduled_sends_mark_stuck_unknown() == 0
    send, _ = reload(send)
    assert send.status == S.SENDING


def test_receiver_timeout_marks_the_send_unknown(tenant, webhook_receiver, settings):
    settings.AUTO_SEND_WEBHOOK_TIMEOUT_SECONDS = 0.5
    receiver = webhook_receiver(hold=5)
    send = book(tenant, channel=_sms_channel(tenant, receiver.url))

    assert scheduled_send_deliver(scheduled_send_id=send.pk) == Outcome.UNKNOWN
    scheduled_sends_deliver_due()

    send, draft = reload(send)
    assert (send.status, draft.status) == (S.UNKNOWN, Draft.Status.SCHEDULED)
    assert len(receiver.requests) == 1
    assert Notification.objects.filter(kind=Notification.Kind.SEND_UNKNOWN).count() == 1


@pytest.mark.parametrize("delivered", [True, False])
def test_operator_reconciles_an_unknown_send(tenant, delivered):
    send = book(tenant)
    ScheduledSend.objects.filter(pk=send.pk).update(status=S.UNKNOWN)
    assert scheduled_send_reconcile(scheduled_send=send, delivered=delivered)
    send, draft = reload(send)
    if delivered:
        assert (send.status, draft.status) == (S.SENT, Draft.Status.SENT)
        assert outbound(send).get().sender_kind == Message.Sender.AI
    else:
        assert (send.status, draft.status) == (S.FAILED, Draft.Status.PENDING)
        assert not outbound(send).exists()
    assert not scheduled_send_reconcile(scheduled_send=send, delivered=delivered)


# --- Exactly once under concurrency and crashes ---------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_deliveries_of_one_due_row_send_once(tenant, webhook_receiver):
    receiver = webhook_receiver()
    send = book(tenant, channel=_sms_channel(tenant, receiver.url))
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def attempt(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            if i % 2:
                outcomes.append(scheduled_send_deliver(scheduled_send_id=send.pk))
            else:
                report = scheduled_sends_deliver_due()
                outcomes.extend(report.outcomes)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    assert outcomes.count(Outcome.SENT) == 1
    assert len(receiver.requests) == 1
    assert len(receiver.verified()) == 1
    send, draft = reload(send)
    assert (send.status, send.attempts, draft.status) == (S.SENT, 1, Draft.Status.SENT)
    assert outbound(send).count() == 1


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_send_leaves_unknown_and_one_send_at_most(tenant, webhook_receiver):
    """A separate process claims the row and is inside the transport (the receiver has the
    request and holds its answer) when it gets SIGKILL. The row must end `unknown`, never
    be resent, and the receiver must have seen one request."""
    receiver = webhook_receiver(hold=60)
    send = book(tenant, channel=_sms_channel(tenant, receiver.url))
    code = (
        "from autosend.delivery import scheduled_send_deliver; "
        f"scheduled_send_deliver(scheduled_send_id='{send.pk}')"
    )
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=REPO,
        env={**subprocess_env(), "OUTBOUND_ALLOW_PRIVATE": "1"},  # a local receiver
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert receiver.received.wait(timeout=60), "the worker never reached the transport"
        send, _ = reload(send)
        assert send.status == S.SENDING
        os.kill(worker.pid, signal.SIGKILL)
        assert worker.wait(timeout=10) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()

    receiver.release.set()
    swept = scheduled_sends_mark_stuck_unknown(older_than=timedelta(0))
    scheduled_sends_deliver_due()
    time.sleep(0.2)

    assert swept == 1
    send, draft = reload(send)
    assert send.status == S.UNKNOWN  # killed before the receiver answered: cannot be `sent`
    assert draft.status == Draft.Status.SCHEDULED
    assert len(receiver.requests) == 1
    assert Notification.objects.filter(
        draft_id=send.draft_id, kind=Notification.Kind.SEND_UNKNOWN
    ).exists()


# --- Approvals ------------------------------------------------------------------------------


def _pending_draft(tenant, channel=None) -> Draft:
    send = book(tenant, channel=channel, auto_send=False)
    ScheduledSend.objects.filter(pk=send.pk).delete()
    Draft.objects.filter(pk=send.draft_id).update(status=Draft.Status.PENDING)
    return Draft.objects.get(pk=send.draft_id)


def test_approval_books_a_send_now_and_enqueues_it_after_commit(
    tenant, django_capture_on_commit_callbacks
):
    WorkspaceSettings.objects.filter(workspace=tenant.workspace).update(undo_seconds=0)
    draft = _pending_draft(tenant)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        send = draft_send_approved(draft=draft, user=tenant.operator, text="Edited by Jo.")
    assert send is not None
    assert len(callbacks) == 1  # send_now, enqueued only once the approval is committed
    send, draft = reload(send)
    assert send.origin == ScheduledSend.Origin.APPROVAL
    assert send.approved_by == tenant.operator
    assert send.text == draft.text == "Edited by Jo."
    assert abs((send.run_at - timezone.now()).total_seconds()) < 5
    assert scheduled_send_deliver(scheduled_send_id=send.pk) == Outcome.SENT
    message = outbound(send).get()
    assert (message.sender_kind, message.sender_user, message.body_text) == (
        Message.Sender.USER,
        tenant.operator,
        "Edited by Jo.",
    )


def test_approval_waits_for_the_undo_window_before_it_goes_out(
    tenant, django_capture_on_commit_callbacks
):
    draft = _pending_draft(tenant)
    WorkspaceSettings.objects.filter(workspace=tenant.workspace).update(undo_seconds=10)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        send = draft_send_approved(draft=draft, user=tenant.operator, text="Edited by Jo.")
    assert send is not None
    assert callbacks == []  # nothing enqueued at once: the beat sends it when due
    assert 8 <= (send.run_at - timezone.now()).total_seconds() <= 10
    assert scheduled_send_deliver(scheduled_send_id=send.pk) == Outcome.NOT_CLAIMED
    assert not outbound(send).exists()
    later = send.run_at + timedelta(seconds=1)
    assert scheduled_send_deliver(scheduled_send_id=send.pk, now=later) == Outcome.SENT
    assert outbound(send).get().body_text == "Edited by Jo."


def test_approving_a_waiting_auto_send_sends_it_now_with_the_operator_text(tenant):
    send = book(tenant, run_at=timezone.now() + timedelta(minutes=10))
    draft = Draft.objects.get(pk=send.draft_id)

    again = draft_send_approved(draft=draft, user=tenant.operator, text="Better words.")

    assert again is not None
    assert again.pk == send.pk
    assert scheduled_send_deliver(scheduled_send_id=send.pk) == Outcome.SENT
    assert outbound(send).get().body_text == "Better words."


def test_approval_after_the_kill_switch_called_it_off_rebooks_the_same_row(tenant):
    send = book(tenant)
    with override_settings(AUTO_SEND_DISABLED=True):
        scheduled_send_deliver(scheduled_send_id=send.pk)
        draft = Draft.objects.get(pk=send.draft_id)
        assert draft.status == Draft.Status.PENDING
        again = draft_send_approved(draft=draft, user=tenant.operator, text=TEXT)
        assert again is not None
        assert again.pk == send.pk
        assert scheduled_send_deliver(scheduled_send_id=send.pk) == Outcome.SENT
    send, draft = reload(send)
    assert (send.status, send.attempts, send.cancel_reason) == (S.SENT, 2, "")
    assert ScheduledSend.objects.filter(draft_id=draft.pk).count() == 1


@pytest.mark.parametrize("status", [Draft.Status.REJECTED, Draft.Status.SUPERSEDED])
def test_a_closed_draft_cannot_be_approved(tenant, status):
    draft = _pending_draft(tenant)
    Draft.objects.filter(pk=draft.pk).update(status=status)
    assert draft_send_approved(draft=draft, user=tenant.operator, text=TEXT) is None
    assert not ScheduledSend.objects.filter(draft_id=draft.pk).exists()
    assert Draft.objects.get(pk=draft.pk).text == TEXT


def test_an_unknown_send_cannot_be_approved_again(tenant):
    send = book(tenant)
    ScheduledSend.objects.filter(pk=send.pk).update(status=S.UNKNOWN)
    draft = Draft.objects.get(pk=send.draft_id)
    assert draft_send_approved(draft=draft, user=tenant.operator, text="again") is None
    send, draft = reload(send)
    assert (send.status, draft.text) == (S.UNKNOWN, TEXT)


def test_an_operator_send_cancels_other_waiting_sends_in_the_thread(tenant):
    waiting = book(tenant, run_at=timezone.now() + timedelta(minutes=10))
    newer = MessageFactory(conversation=waiting.conversation, external_id="m-2@mail.example.com")
    approved = DraftFactory(trigger_message=newer, text="Yes, Saturday at 10 works.")
    send = draft_send_approved(draft=approved, user=tenant.operator, text=approved.text)
    assert send is not None

    assert scheduled_send_deliver(scheduled_send_id=send.pk) == Outcome.SENT

    waiting, waiting_draft = reload(waiting)
    assert (waiting.status, waiting.cancel_reason) == (S.CANCELLED, "human_replied")
    assert waiting_draft.status == Draft.Status.SUPERSEDED


@pytest.mark.django_db(transaction=True)
def test_double_approval_through_the_live_worker_sends_once(
    celery_worker_live, tenant, webhook_receiver
):
    receiver = webhook_receiver()
    draft = _pending_draft(tenant, channel=_sms_channel(tenant, receiver.url))

    first = draft_send_approved(draft=draft, user=tenant.operator, text=TEXT)
    second = draft_send_approved(draft=draft, user=tenant.operator, text=TEXT)

    assert first is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if ScheduledSend.objects.get(pk=first.pk).status == S.SENT:
            break
        time.sleep(0.1)
    time.sleep(1)  # a second task, had it claimed anything, would have sent by now
    send, draft = reload(first)
    assert (send.status, draft.status) == (S.SENT, Draft.Status.SENT)
    assert second is None or second.pk == first.pk
    assert len(receiver.verified()) == 1
    assert outbound(send).count() == 1


# --- Wiring ---------------------------------------------------------------------------------


def test_beat_runs_delivery_every_five_seconds():
    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["autosend-deliver-due"]
    assert (entry["task"], entry["schedule"]) == ("autosend.deliver_due", 5.0)
    app.loader.import_default_modules()
    assert {"autosend.deliver_due", "autosend.send_now"} <= set(app.tasks)
    assert (
        timedelta(seconds=app.tasks["autosend.deliver_due"].time_limit)
        <= settings.AUTO_SEND_SENDING_TIMEOUT
    )
