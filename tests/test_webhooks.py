"""POST /webhooks/inbound/{channel_key}: every row of the contract table in CONTRACTS.md."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from autosend.models import ScheduledSend
from drafts.models import Attachment, Conversation, Draft, InboundEvent, Message, Proposal
from tests.factories import LeadFactory, MembershipFactory, UserFactory
from tests.webhooks import (
    encode,
    payload,
    post_signed,
    purge_queue,
    queued_tasks,
    signature_headers,
)
from workspaces.models import Lead
from workspaces.services import new_webhook_secret

STORED = (InboundEvent, Message, Lead, Conversation, Attachment, Proposal)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in STORED}


NOTHING = {model.__name__: 0 for model in STORED}


# --- New message ---------------------------------------------------------------------------


def test_new_inbound_message_is_stored_whole_and_the_pipeline_is_queued(
    client, tenant, django_capture_on_commit_callbacks
):
    purge_queue()
    channel = tenant.email_channel
    body = encode(payload())
    headers = signature_headers(channel.secret, body, msg_id="msg_abc")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            channel.webhook_path, data=body, content_type="application/json", headers=headers
        )

    assert response.status_code == 202
    message = Message.objects.get()
    assert response.json() == {"message_id": str(message.pk), "duplicate": False}
    assert message.channel == channel
    assert message.workspace == tenant.workspace
    assert message.direction == "inbound"
    assert message.sender_kind == "lead"
    assert message.external_id == "m-1"
    assert message.body_text == "Hi, what does the pro plan cost?"
    assert message.sent_at.isoformat() == "2026-11-22T10:00:00+00:00"

    lead = message.lead
    assert (lead.workspace, lead.external_id) == (tenant.workspace, "lead-9")
    assert (lead.name, lead.email, lead.phone) == ("Ada Park", "ada@example.com", "")

    conversation = message.conversation
    assert (conversation.external_id, conversation.subject) == ("t-1", "Pricing")
    assert conversation.lead == lead
    assert conversation.last_message_at == message.sent_at

    attachment = Attachment.objects.get()
    assert attachment.message == message
    assert (attachment.file_name, attachment.mime_type, attachment.size_bytes) == (
        "a.pdf",
        "application/pdf",
        1200,
    )
    assert attachment.url == "https://files.example.com/a.pdf"

    event = InboundEvent.objects.get()
    assert event.status == "processed"
    assert event.message == message
    assert event.body == body.decode()
    assert event.event_type == "message.inbound"
    assert event.webhook_id == "msg_abc"
    assert event.headers["webhook-id"] == "msg_abc"
    assert event.headers["webhook-signature"] == headers["webhook-signature"]
    assert event.headers["content-type"] == "application/json"
    assert event.remote_addr == "127.0.0.1"

    assert queued_tasks() == [("pipeline.run_for_message", [str(message.pk)])]
    purge_queue()


def test_redelivery_answers_200_with_the_same_id_and_stores_nothing(
    client, tenant, django_capture_on_commit_callbacks
):
    first = post_signed(client, tenant.email_channel, payload())
    before = counts()
    # A sender retrying may change anything but the message id: still the same message.
    with django_capture_on_commit_callbacks() as callbacks:
        again = post_signed(
            client,
            tenant.email_channel,
            payload(lead={"name": "Someone Else"}, thread={"external_id": "t-other"}),
        )

    assert again.status_code == 200
    assert again.json() == {"message_id": first.json()["message_id"], "duplicate": True}
    assert counts() == before
    assert Lead.objects.get().name == "Ada Park"
    assert callbacks == []


def test_same_external_id_on_another_channel_is_another_message(client, tenant):
    first = post_signed(client, tenant.email_channel, payload())
    second = post_signed(client, tenant.sms_channel, payload())

    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["message_id"] != second.json()["message_id"]
    assert Message.objects.count() == 2
    assert Lead.objects.count() == 1  # leads are per workspace, matched by external id


# --- Signature ------------------------------------------------------------------------------


def _flip_one_byte(body: bytes) -> bytes:
    index = body.index(b"pro plan")
    return body[:index] + b"Pro plan" + body[index + len(b"pro plan") :]


@pytest.mark.parametrize(
    "tamper",
    [
        "flipped_body_byte",
        "no_webhook_id",
        "no_webhook_timestamp",
        "no_webhook_signature",
        "stale_timestamp",
        "future_timestamp",
        "other_secret",
        "other_webhook_id",
        "garbage_signature",
        "unknown_version",
    ],
)
def test_bad_signature_is_401_and_nothing_is_stored(client, tenant, tamper):
    channel = tenant.email_channel
    body = encode(payload())
    now = int(time.time())
    timestamp = {"stale_timestamp": now - 301, "future_timestamp": now + 301}.get(tamper, now)
    secret = tenant.sms_channel.secret if tamper == "other_secret" else channel.secret
    headers = signature_headers(secret, body, timestamp=timestamp)
    if tamper == "flipped_body_byte":
        body = _flip_one_byte(body)
    elif tamper.startswith("no_"):
        del headers[tamper.removeprefix("no_").replace("_", "-")]
    elif tamper == "other_webhook_id":
        headers["webhook-id"] = "msg_other"
    elif tamper == "garbage_signature":
        headers["webhook-signature"] = "v1,not base64!! v1 ,,, v1,"
    elif tamper == "unknown_version":
        headers["webhook-signature"] = headers["webhook-signature"].replace("v1,", "v2,")

    response = client.post(
        channel.webhook_path, data=body, content_type="application/json", headers=headers
    )

    assert response.status_code == 401
    assert set(response.json()) == {"error"}
    assert counts() == NOTHING


def test_timestamp_within_five_minutes_is_accepted(client, tenant):
    channel = tenant.email_channel
    body = encode(payload())
    headers = signature_headers(channel.secret, body, timestamp=int(time.time()) - 290)

    response = client.post(
        channel.webhook_path, data=body, content_type="application/json", headers=headers
    )

    assert response.status_code == 202


def test_any_of_several_signatures_may_match(client, tenant):
    channel = tenant.email_channel
    body = encode(payload())
    headers = signature_headers(channel.secret, body)
    wrong = signature_headers(tenant.sms_channel.secret, body)["webhook-signature"]
    headers["webhook-signature"] = f"{wrong} {headers['webhook-signature']}"

    response = client.post(
        channel.webhook_path, data=body, content_type="application/json", headers=headers
    )

    assert response.status_code == 202


def _rotate(channel, valid_for: timedelta) -> str:
    """Give the channel a new secret; the old one stays valid for `valid_for`."""
    old = channel.secret
    channel.previous_secret = old
    channel.previous_secret_valid_until = timezone.now() + valid_for
    channel.secret = new_webhook_secret()
    channel.save()
    return old


def test_previous_secret_works_until_its_deadline(client, tenant):
    channel = tenant.email_channel
    old = _rotate(channel, timedelta(hours=1))
    body = encode(payload())

    with_old = client.post(
        channel.webhook_path,
        data=body,
        content_type="application/json",
        headers=signature_headers(old, body),
    )
    with_new = client.post(
        channel.webhook_path,
        data=encode(payload(message={"external_id": "m-2"})),
        content_type="application/json",
        headers=signature_headers(channel.secret, encode(payload(message={"external_id": "m-2"}))),
    )

    assert (with_old.status_code, with_new.status_code) == (202, 202)


def test_previous_secret_is_refused_after_its_deadline(client, tenant):
    channel = tenant.email_channel
    old = _rotate(channel, timedelta(seconds=-1))
    body = encode(payload())

    response = client.post(
        channel.webhook_path,
        data=body,
        content_type="application/json",
        headers=signature_headers(old, body),
    )

    assert response.status_code == 401
    assert counts() == NOTHING


# --- Channel, size, method ----------------------------------------------------------------


@pytest.mark.parametrize("key", ["no-such-channel", "x" * 65, "nul\x00key"])
def test_unknown_channel_is_404_and_nothing_is_stored(client, tenant, key):
    body = encode(payload())
    response = client.post(
        f"/webhooks/inbound/{key}",
        data=body,
        content_type="application/json",
        headers=signature_headers(tenant.email_channel.secret, body),
    )

    assert response.status_code == 404
    assert set(response.json()) == {"error"}
    assert counts() == NOTHING


def _padded(total: int) -> bytes:
    """A valid payload of exactly `total` bytes (the body text pads it)."""
    base = encode(payload(message={"body_text": ""}))
    return encode(payload(message={"body_text": "x" * (total - len(base))}))


def test_body_of_exactly_256_kib_is_accepted(client, tenant):
    body = _padded(256 * 1024)
    assert len(body) == 256 * 1024

    response = post_signed(client, tenant.email_channel, body)

    assert response.status_code == 202
    assert len(Message.objects.get().body_text) > 260_000


def test_body_over_256_kib_is_413_and_nothing_is_stored(client, tenant):
    response = post_signed(client, tenant.email_channel, _padded(256 * 1024 + 1))

    assert response.status_code == 413
    assert set(response.json()) == {"error"}
    assert counts() == NOTHING


def test_declared_length_over_the_limit_is_413_before_parsing(client, tenant):
    """10 MiB: over Django's own upload limit too, yet the webhook's 413 (the body is
    drained, see tests/test_ingest_limits.py)."""
    body = encode(payload()).ljust(10 * 1024 * 1024)
    response = client.generic(
        "POST",
        tenant.email_channel.webhook_path,
        data=body,
        content_type="application/json",
        headers=signature_headers(tenant.email_channel.secret, body),
    )

    assert response.status_code == 413
    assert response.json() == {"error": "The body is larger than 262144 bytes."}
    assert counts() == NOTHING


def test_get_is_405(client, tenant):
    response = client.get(tenant.email_channel.webhook_path)

    assert response.status_code == 405
    assert response["Allow"] == "POST"


# --- Not JSON, not the schema ---------------------------------------------------------------


def test_not_json_is_400_and_the_raw_event_is_kept_rejected(client, tenant):
    response = post_signed(client, tenant.email_channel, b'{"type": "message.inbound",')

    assert response.status_code == 400
    assert response.json()["error"] == "The body is not JSON."
    assert response.json()["details"][0]["field"] == "body"
    event = InboundEvent.objects.get()
    assert event.status == "rejected"
    assert event.body == '{"type": "message.inbound",'
    assert event.error == "The body is not JSON."
    assert event.details == response.json()["details"]
    assert event.message is None
    assert counts() == {**NOTHING, "InboundEvent": 1}


SCHEMA_CASES = {
    "missing message id": (
        {"message": {"external_id": None}},
        "message.external_id",
        "Input should be a valid string",
    ),
    "unknown type": ({"type": "message.deleted"}, "type", None),
    "wrong type": ({"lead": {"external_id": 42}}, "lead.external_id", None),
    "nested junk": ({"message": [[{"a": [1]}]]}, "message", None),
    "NUL in text": (
        {"message": {"body_text": "a\u0000b"}},
        "message.body_text",
        "must not contain NUL characters",
    ),
    "over-long id": ({"message": {"external_id": "m" * 201}}, "message.external_id", None),
    "over-long name": ({"lead": {"name": "n" * 201}}, "lead.name", None),
    "invalid email": (
        {"lead": {"email": "ada at example"}},
        "lead.email",
        "must be a valid email address",
    ),
    "invalid date": ({"message": {"sent_at": "2026-13-45T99:00:00Z"}}, "message.sent_at", None),
    "date without zone": (
        {"message": {"sent_at": "2026-11-22T10:00:00"}},
        "message.sent_at",
        "Input should have timezone info",
    ),
    "huge number": (
        {"message": {"attachments": [{"file_name": "a", "size_bytes": 2**64}]}},
        "message.attachments.0.size_bytes",
        None,
    ),
    "negative size": (
        {"message": {"attachments": [{"file_name": "a", "size_bytes": -1}]}},
        "message.attachments.0.size_bytes",
        None,
    ),
    "script url": (
        {"message": {"attachments": [{"file_name": "a", "url": "javascript:alert(1)"}]}},
        "message.attachments.0.url",
        "must be an http(s) URL",
    ),
    "outbound without sender": ({"type": "message.outbound"}, "sender", None),
}


@pytest.mark.parametrize("case", SCHEMA_CASES, ids=list(SCHEMA_CASES))
def test_payload_not_matching_the_schema_is_400_naming_the_field(client, tenant, case):
    sections, field, message = SCHEMA_CASES[case]

    response = post_signed(client, tenant.email_channel, payload(**sections))

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "The body does not match the schema."
    assert field in [detail["field"] for detail in body["details"]]
    if message is not None:
        assert {"field": field, "message": message} in body["details"]
    event = InboundEvent.objects.get()
    assert (event.status, event.error, event.details) == (
        "rejected",
        "The body does not match the schema.",
        body["details"],
    )
    assert counts() == {**NOTHING, "InboundEvent": 1}


def test_lone_surrogate_escape_is_400_not_a_database_error(client, tenant):
    body = encode(payload()).replace(b"Ada Park", b"Ada \\ud800Park")

    response = post_signed(client, tenant.email_channel, body)

    assert response.status_code == 400
    assert InboundEvent.objects.get().status == "rejected"
    assert Message.objects.count() == 0


def test_raw_nul_bytes_are_kept_readable_in_the_rejected_event(client, tenant):
    response = post_signed(client, tenant.email_channel, b'{"type": "\x00"}')

    assert response.status_code == 400
    assert InboundEvent.objects.get().body == '{"type": "\ufffd"}'


def test_body_that_is_not_utf8_is_400_and_nothing_is_stored(client, tenant):
    body = encode(payload()).replace(b"Ada Park", "Ada Pärk".encode("latin-1"))
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(time.time()))}

    response = client.post(
        tenant.email_channel.webhook_path,
        data=body,
        content_type="application/json",
        headers={**headers, "webhook-signature": "v1,AAAA"},
    )

    assert response.status_code == 400
    assert response.json()["details"] == [{"field": "body", "message": "must be UTF-8 JSON"}]
    assert counts() == NOTHING


def test_unknown_fields_are_ignored(client, tenant):
    data = payload(extra={"anything": [1, 2]})
    data["message"]["custom"] = {"x": 1}

    response = post_signed(client, tenant.email_channel, data)

    assert response.status_code == 202


# --- Lead, conversation ---------------------------------------------------------------------


def test_known_lead_is_filled_where_empty_and_differences_become_proposals(client, tenant):
    lead = LeadFactory(
        workspace=tenant.workspace,
        external_id="lead-9",
        name="Ada P.",
        email="ADA@example.com",
        phone="+1 520 555 0101",
    )
    lead.email = ""
    lead.save()

    response = post_signed(
        client,
        tenant.email_channel,
        payload(lead={"name": "Ada Park", "email": "ada@example.com", "phone": "+15205550199"}),
    )

    assert response.status_code == 202
    lead.refresh_from_db()
    # Filled where empty; never overwritten.
    assert (lead.name, lead.email, lead.phone) == ("Ada P.", "ada@example.com", "+1 520 555 0101")
    proposals = list(Proposal.objects.order_by("field"))
    assert [(p.field, p.previous_value, p.proposed_value) for p in proposals] == [
        ("name", "Ada P.", "Ada Park"),
        ("phone", "+1 520 555 0101", "+15205550199"),
    ]
    message = Message.objects.get()
    assert {p.batch_id for p in proposals} == {proposals[0].batch_id}
    for proposal in proposals:
        assert (proposal.status, proposal.lead, proposal.message) == ("pending", lead, message)
        assert proposal.workspace == tenant.workspace
        assert proposal.source_text == "webhook lead payload"


def test_same_identity_spelled_differently_makes_no_proposal(client, tenant):
    LeadFactory(
        workspace=tenant.workspace,
        external_id="lead-9",
        name="Ada Park",
        email="Ada@Example.com",
        phone="+1 (520) 555-0101",
    )

    post_signed(
        client,
        tenant.email_channel,
        payload(lead={"email": "ada@example.com", "phone": "+15205550101"}),
    )

    assert Proposal.objects.count() == 0


def test_messages_without_a_thread_share_the_leads_one_conversation(client, tenant):
    for external_id in ("m-1", "m-2"):
        post_signed(
            client, tenant.sms_channel, payload(message={"external_id": external_id}, thread=None)
        )
    post_signed(
        client,
        tenant.sms_channel,
        payload(message={"external_id": "m-3"}, lead={"external_id": "lead-10"}, thread=None),
    )

    conversations = {m.external_id: m.conversation_id for m in Message.objects.all()}
    assert conversations["m-1"] == conversations["m-2"] != conversations["m-3"]
    assert Conversation.objects.get(pk=conversations["m-1"]).external_id == ""


def test_threads_are_matched_by_their_external_id(client, tenant):
    post_signed(client, tenant.email_channel, payload(message={"external_id": "m-1"}))
    post_signed(client, tenant.email_channel, payload(message={"external_id": "m-2"}))
    post_signed(
        client,
        tenant.email_channel,
        payload(message={"external_id": "m-3"}, thread={"external_id": "t-2"}),
    )

    conversations = {m.external_id: m.conversation_id for m in Message.objects.all()}
    assert conversations["m-1"] == conversations["m-2"] != conversations["m-3"]
    assert Conversation.objects.count() == 2


# --- A human replied from another tool --------------------------------------------------------


def _pending_reply(message: Message) -> Draft:
    return Draft.objects.create(
        workspace=message.workspace,
        conversation=message.conversation,
        trigger_message=message,
        text="Our pro plan is…",
        original_text="Our pro plan is…",
    )


def _outbound(external_id: str, sent_at: str, user_email: str) -> dict:
    return payload(
        type="message.outbound",
        message={"external_id": external_id, "sent_at": sent_at, "body_text": "On it!"},
        sender={"user_email": user_email},
    )


def test_outbound_reply_is_stored_with_its_sender_and_calls_off_the_ai(
    client, tenant, django_capture_on_commit_callbacks
):
    post_signed(client, tenant.email_channel, payload())
    post_signed(
        client,
        tenant.email_channel,
        payload(message={"external_id": "m-later", "sent_at": "2026-11-22T10:30:00Z"}),
    )
    earlier = _pending_reply(Message.objects.get(external_id="m-1"))
    later = _pending_reply(Message.objects.get(external_id="m-later"))
    send = ScheduledSend.objects.create(
        workspace=tenant.workspace,
        draft=earlier,
        conversation=earlier.conversation,
        text=earlier.text,
        run_at=timezone.now() + timedelta(minutes=5),
    )

    with django_capture_on_commit_callbacks() as callbacks:
        response = post_signed(
            client,
            tenant.email_channel,
            _outbound("out-1", "2026-11-22T10:10:00Z", tenant.rep.email.upper()),
        )

    assert response.status_code == 202
    reply = Message.objects.get(external_id="out-1")
    assert (reply.direction, reply.sender_kind) == ("outbound", "user")
    assert reply.sender_user == tenant.rep
    assert reply.sender_email == tenant.rep.email.upper()
    assert reply.conversation == earlier.conversation
    send.refresh_from_db()
    assert (send.status, send.cancel_reason) == ("cancelled", "human_replied")
    earlier.refresh_from_db()
    later.refresh_from_db()
    assert earlier.status == "superseded"
    assert later.status == "pending"  # its message came after the human's reply
    assert callbacks == []  # no pipeline for our own side's messages
    assert InboundEvent.objects.get(message=reply).event_type == "message.outbound"


def test_outbound_reply_from_an_unknown_email_keeps_the_email_only(client, tenant):
    stranger = UserFactory(email="someone@else.test")
    MembershipFactory(user=stranger)  # a member of another workspace only

    response = post_signed(
        client, tenant.email_channel, _outbound("out-1", "2026-11-22T10:10:00Z", stranger.email)
    )

    assert response.status_code == 202
    reply = Message.objects.get()
    assert (reply.sender_user, reply.sender_email) == (None, "someone@else.test")


def test_response_bodies_are_json(client, tenant):
    response = post_signed(client, tenant.email_channel, payload())

    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["duplicate"] is False


def test_a_new_message_reopens_a_closed_conversation(client, tenant):
    first = post_signed(client, tenant.email_channel, payload(message={"external_id": "m-r1"}))
    assert first.status_code == 202
    Conversation.objects.update(status=Conversation.Status.CLOSED)
    second = post_signed(client, tenant.email_channel, payload(message={"external_id": "m-r2"}))
    assert second.status_code == 202
    assert list(Conversation.objects.values_list("status", flat=True)) == ["open"]
