"""The queue's endpoints without a browser: forms that work without JavaScript, workspace
scoping, and the refusals each shows in plain words."""

from __future__ import annotations

from autosend.models import ScheduledSend
from drafts.models import Conversation, ConversationAssignment, Draft, DraftAction
from tests.factories import LeadFactory, make_draft


def test_plain_forms_assign_bulk_and_undo_then_redirect_back(client, tenant):
    draft = make_draft(
        tenant.workspace,
        tenant.sms_channel,
        lead=LeadFactory(workspace=tenant.workspace, name="Sam Rivera"),
    )
    client.force_login(tenant.operator)
    response = client.post(
        f"/queue/{draft.pk}/assign", {"user_email": tenant.rep.email, "next": "/?view=all"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/?view=all"
    assert Conversation.objects.get(pk=draft.conversation_id).owner_id == tenant.rep.pk
    page = client.get("/?view=all").content.decode()
    assert "Sam Rivera&#x27;s conversation is now with" in page

    response = client.post("/queue/bulk", {"action": "approve", "ids": [str(draft.pk)]})
    assert response.status_code == 302
    assert Draft.objects.get(pk=draft.pk).status == "scheduled"
    assert "Reply to Sam Rivera approved." in client.get("/").content.decode()
    client.post("/queue/undo", {"ids": [str(draft.pk)]})
    assert Draft.objects.get(pk=draft.pk).status == "pending"
    assert ScheduledSend.objects.get(draft=draft).status == "cancelled"


def test_assign_refuses_a_stranger_and_another_workspace(client, tenant, other_tenant):
    draft = make_draft(tenant.workspace, tenant.sms_channel)
    theirs = make_draft(other_tenant.workspace, other_tenant.sms_channel)
    client.force_login(tenant.operator)
    response = client.post(
        f"/queue/{draft.pk}/assign",
        {"user_email": other_tenant.operator.email},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert "No one with that email works in this workspace." in response.content.decode()
    assert not ConversationAssignment.objects.exists()
    response = client.post(f"/queue/{theirs.pk}/assign", {"user_email": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 404
    response = client.post(f"/queue/{theirs.pk}/approve", HTTP_HX_REQUEST="true")
    assert response.status_code == 404
    assert Draft.objects.get(pk=theirs.pk).status == "pending"
    assert not DraftAction.objects.filter(draft=theirs).exists()


def test_in_place_approve_refuses_a_blocked_draft(client, tenant):
    draft = make_draft(
        tenant.workspace,
        tenant.email_channel,
        blocked_reason="legal_threat",
        auto_send_action="block",
    )
    client.force_login(tenant.operator)
    response = client.post(f"/queue/{draft.pk}/approve", HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert "Blocked, open it to confirm" in response.content.decode()
    assert Draft.objects.get(pk=draft.pk).status == "pending"


def test_bulk_reject_needs_a_reason_and_keeps_the_selection(client, tenant):
    draft = make_draft(tenant.workspace, tenant.sms_channel)
    client.force_login(tenant.operator)
    response = client.post(
        "/queue/bulk", {"action": "reject", "ids": [str(draft.pk)]}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400
    assert "Say why the draft is rejected." in response.content.decode()
    assert "HX-Trigger-After-Settle" not in response  # the list (and selection) stay
    assert Draft.objects.get(pk=draft.pk).status == "pending"


def test_live_fragment_has_the_counts(client, tenant):
    make_draft(tenant.workspace, tenant.sms_channel, body="first question")
    client.force_login(tenant.operator)
    html = client.get("/queue/list?view=all", HTTP_HX_REQUEST="true").content.decode()
    assert "first question" in html
    assert 'id="queue-summary" hx-swap-oob="true">1 waiting' in html
    assert 'data-pending="1"' in html
