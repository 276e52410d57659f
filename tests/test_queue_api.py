"""Working the queue through the API: search, owner views, assignment, bulk decisions, undo."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from autosend.delivery import Outcome, scheduled_send_deliver
from autosend.models import ScheduledSend
from autosend.scheduling import scheduled_send_create
from drafts.models import Conversation, ConversationAssignment, Draft, DraftAction, Message
from drafts.review import draft_approve, draft_undo
from drafts.search import _DRAFT_SQL, _LEAD_SQL, _MESSAGE_SQL
from tests.factories import LeadFactory, make_draft
from tests.test_review_concurrency import _race
from workspaces.errors import Conflict


def _ids(response):
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["items"]}


def test_search_finds_drafts_by_lead_identity_and_text(api, tenant, other_tenant):
    rosa = LeadFactory(
        workspace=tenant.workspace, name="Rosa Diaz", email="rosa@acme.io", phone="+1 415 555 0100"
    )
    by_lead = make_draft(tenant.workspace, tenant.email_channel, lead=rosa, body="Hello")
    by_message = make_draft(tenant.workspace, tenant.sms_channel, body="Can I bring my dogs?")
    by_reply = make_draft(tenant.workspace, tenant.sms_channel, text="Parking is free on Sundays.")
    make_draft(other_tenant.workspace, other_tenant.email_channel, body="my dog too")

    assert _ids(api.get("/api/v1/drafts", {"q": "ros"})) == {str(by_lead.pk)}
    assert _ids(api.get("/api/v1/drafts", {"q": "rosa@acme"})) == {str(by_lead.pk)}
    assert _ids(api.get("/api/v1/drafts", {"q": "555-0100"})) == {str(by_lead.pk)}
    assert _ids(api.get("/api/v1/drafts", {"q": "dog"})) == {str(by_message.pk)}
    assert _ids(api.get("/api/v1/drafts", {"q": "parking sunday"})) == {str(by_reply.pk)}
    assert _ids(api.get("/api/v1/drafts", {"q": "parking dog"})) == set()
    assert api.get("/api/v1/drafts", {"q": "'); drop table x; --"}).status_code == 200
    assert api.get("/api/v1/drafts", {"q": "dog"}).json()["count"] == 1


def test_search_queries_the_expressions_the_gin_indexes_are_built_on(tenant):
    """PostgreSQL uses an expression index only for the same expression: the one each search
    clause is planned with must be the one its GIN index holds."""
    with connection.cursor() as cursor:
        for sql, index in (
            (_DRAFT_SQL, "draft_text_fts"),
            (_MESSAGE_SQL, "message_inbound_fts"),
            (_LEAD_SQL, "lead_identity_fts"),
        ):
            cursor.execute("EXPLAIN " + sql, [str(tenant.workspace.pk), "'dog':*"])
            plan = "\n".join(row[0] for row in cursor.fetchall())
            planned = plan[plan.index("to_tsvector(") : plan.index(" @@ ")]
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [index])
            (indexdef,) = cursor.fetchone()
            assert "USING gin" in indexdef
            assert planned.strip("()") in indexdef, (planned, indexdef)


def test_assignee_views_default_to_the_leads_rep(api, tenant):
    repped = make_draft(
        tenant.workspace,
        tenant.email_channel,
        lead=LeadFactory(workspace=tenant.workspace, assigned_to=tenant.rep),
    )
    mine = make_draft(
        tenant.workspace,
        tenant.email_channel,
        lead=LeadFactory(workspace=tenant.workspace, assigned_to=tenant.operator),
    )
    nobody = make_draft(tenant.workspace, tenant.email_channel)

    assert _ids(api.get("/api/v1/drafts", {"assignee": "me"})) == {str(mine.pk)}
    assert _ids(api.get("/api/v1/drafts", {"assignee": "none"})) == {str(nobody.pk)}
    assert _ids(api.get("/api/v1/drafts", {"assignee": tenant.rep.email})) == {str(repped.pk)}
    response = api.get("/api/v1/drafts", {"assignee": "stranger@example.com"})
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "user_email"


def test_assign_reassign_and_unassign_are_audited(api, tenant, other_tenant):
    draft = make_draft(
        tenant.workspace,
        tenant.email_channel,
        lead=LeadFactory(workspace=tenant.workspace, assigned_to=tenant.rep),
    )
    url = f"/api/v1/drafts/{draft.pk}/assign"
    body = api.post(url, {"user_email": tenant.operator.email}).json()
    assert body["owner"]["email"] == tenant.operator.email
    assert _ids(api.get("/api/v1/drafts", {"assignee": "me"})) == {str(draft.pk)}

    again = api.post(url, {"user_email": tenant.operator.email})  # no change, no new row
    assert again.status_code == 200
    assert api.post(url, {"user_email": None}).json()["owner"] is None
    assert _ids(api.get("/api/v1/drafts", {"assignee": "none"})) == {str(draft.pk)}

    history = list(
        ConversationAssignment.objects.filter(conversation_id=draft.conversation_id).values_list(
            "previous_owner_id", "new_owner_id", "assigned_by_id"
        )
    )
    assert history == [
        (tenant.rep.pk, tenant.operator.pk, tenant.operator.pk),
        (tenant.operator.pk, None, tenant.operator.pk),
    ]

    refused = api.post(url, {"user_email": other_tenant.operator.email})
    assert refused.status_code == 400
    assert ConversationAssignment.objects.count() == 2
    assert Conversation.objects.get(pk=draft.conversation_id).owner_id is None
    foreign = make_draft(other_tenant.workspace, other_tenant.email_channel)
    assert api.post(f"/api/v1/drafts/{foreign.pk}/assign", {"user_email": None}).status_code == 404
    assert ConversationAssignment.objects.count() == 2


def test_bulk_approve_gives_a_result_per_id_and_decides_each_once(api, tenant, other_tenant):
    first = make_draft(tenant.workspace, tenant.email_channel)
    second = make_draft(tenant.workspace, tenant.sms_channel)
    blocked = make_draft(
        tenant.workspace,
        tenant.sms_channel,
        blocked_reason="legal_threat",
        auto_send_action="block",
    )
    foreign = make_draft(other_tenant.workspace, other_tenant.email_channel)
    ids = [str(first.pk), str(second.pk), str(blocked.pk), str(foreign.pk), str(first.pk)]

    body = api.post("/api/v1/drafts/bulk", {"action": "approve", "ids": ids}).json()

    by_id = {r["id"]: r for r in body["results"]}
    assert (body["succeeded"], body["failed"]) == (2, 2)
    assert (by_id[str(first.pk)]["ok"], by_id[str(first.pk)]["status"]) == (True, "scheduled")
    assert (by_id[str(blocked.pk)]["ok"], by_id[str(blocked.pk)]["code"]) == (False, 409)
    assert (by_id[str(foreign.pk)]["ok"], by_id[str(foreign.pk)]["code"]) == (False, 404)
    assert Draft.objects.get(pk=blocked.pk).status == "pending"
    assert Draft.objects.get(pk=foreign.pk).status == "pending"
    assert ScheduledSend.objects.count() == 2
    assert DraftAction.objects.filter(draft=first).count() == 1

    twice = api.post("/api/v1/drafts/bulk", {"action": "approve", "ids": ids[:2]}).json()
    assert [r["code"] for r in twice["results"]] == [409, 409]
    assert DraftAction.objects.count() == 2


def test_bulk_reject_needs_one_reason_and_records_it_on_each(api, tenant):
    drafts = [make_draft(tenant.workspace, tenant.email_channel) for _ in range(3)]
    ids = [str(d.pk) for d in drafts]
    refused = api.post("/api/v1/drafts/bulk", {"action": "reject", "ids": ids})
    assert refused.status_code == 400
    assert DraftAction.objects.count() == 0

    body = api.post(
        "/api/v1/drafts/bulk", {"action": "reject", "ids": ids, "reason": "wrong_tone"}
    ).json()
    assert body["succeeded"] == 3
    assert set(DraftAction.objects.values_list("kind", "reason")) == {("reject", "wrong_tone")}
    assert set(Draft.objects.values_list("status", flat=True)) == {"rejected"}


def test_undo_puts_an_approved_draft_back_exactly_once(api, tenant):
    draft = make_draft(tenant.workspace, tenant.email_channel)
    approved = api.post(f"/api/v1/drafts/{draft.pk}/approve").json()
    run_at = approved["scheduled_send"]["run_at"]
    assert approved["status"] == "scheduled"

    undone = api.post(f"/api/v1/drafts/{draft.pk}/undo")
    assert undone.status_code == 200, undone.content
    assert undone.json()["status"] == "pending"
    assert undone.json()["action"]["kind"] == "undo"
    send = ScheduledSend.objects.get(draft=draft)
    assert (send.status, send.cancel_reason) == ("cancelled", "undone")
    assert scheduled_send_deliver(scheduled_send_id=send.pk, now=send.run_at + timedelta(1)) == (
        Outcome.NOT_CLAIMED
    )
    assert not Message.objects.filter(direction="outbound").exists()
    assert run_at

    second = api.post(f"/api/v1/drafts/{draft.pk}/undo")
    assert second.status_code == 409
    assert DraftAction.objects.filter(draft=draft, kind="undo").count() == 1

    # Approved again: the same send row is booked again and goes out once.
    assert api.post(f"/api/v1/drafts/{draft.pk}/approve").status_code == 200
    send.refresh_from_db()
    assert scheduled_send_deliver(scheduled_send_id=send.pk, now=send.run_at) == Outcome.SENT
    late = api.post(f"/api/v1/drafts/{draft.pk}/undo")
    assert late.status_code == 409
    assert "already gone out" in late.json()["error"]
    assert Draft.objects.get(pk=draft.pk).status == "sent"


def test_an_automatic_send_can_be_undone_during_its_delay(api, tenant):
    draft = make_draft(tenant.workspace, tenant.email_channel)
    scheduled_send_create(
        draft=draft, origin="auto", run_at=timezone.now() + timedelta(minutes=5), text=draft.text
    )
    assert api.post(f"/api/v1/drafts/{draft.pk}/undo").json()["status"] == "pending"
    assert ScheduledSend.objects.get(draft=draft).status == "cancelled"


@pytest.mark.django_db(transaction=True)
def test_undo_racing_the_sender_lets_exactly_one_win(tenant):
    for _ in range(5):
        draft = make_draft(tenant.workspace, tenant.email_channel)
        draft_approve(draft=draft, user=tenant.operator)
        send = ScheduledSend.objects.get(draft=draft)
        due = send.run_at + timedelta(seconds=1)
        undo_result, outcome = _race(
            lambda d=draft: draft_undo(draft=d, user=tenant.operator),
            lambda s=send, t=due: scheduled_send_deliver(scheduled_send_id=s.pk, now=t),
        )
        send.refresh_from_db()
        sent = Message.objects.filter(draft_id=draft.pk, direction="outbound").count()
        if isinstance(undo_result, Conflict):
            assert (outcome, send.status, sent) == (Outcome.SENT, "sent", 1)
            assert Draft.objects.get(pk=draft.pk).status == "sent"
        else:
            assert isinstance(undo_result, DraftAction)
            assert (outcome, send.status, sent) == (Outcome.NOT_CLAIMED, "cancelled", 0)
            assert Draft.objects.get(pk=draft.pk).status == "pending"
