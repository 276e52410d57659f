"""The draft page's server side: blocked approvals need a confirmation, holds are released
only as shown, undo, assignment, the operator's own reply after a reject, words and times."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from autosend.models import ScheduledSend
from drafts.models import ConversationAssignment, Draft, DraftAction, LearningSample
from drafts.quoted_text import message_parts
from review.draft_page import run_summary
from tests.factories import (
    ConversationFactory,
    LeadFactory,
    MessageFactory,
    PipelineArtifactFactory,
    PipelineRunFactory,
    make_draft,
)
from workspaces.models import WorkspaceSettings


@pytest.fixture
def operator_client(client, tenant):
    client.force_login(tenant.operator)
    return client


def _state(draft_id):
    d = Draft.objects.get(pk=draft_id)
    return (
        d.status,
        d.text,
        ScheduledSend.objects.filter(draft_id=draft_id).count(),
        DraftAction.objects.filter(draft_id=draft_id).count(),
    )


def _blocked(tenant):
    return make_draft(
        tenant.workspace,
        tenant.email_channel,
        body="This violates the TCPA, expect a letter from my lawyer.",
        blocked_reason="legal_threat",
        auto_send_action=Draft.Action.BLOCK,
        auto_send_confidence=None,
    )


def test_a_blocked_draft_is_approved_only_when_confirmed(operator_client, tenant):
    draft = _blocked(tenant)
    page = operator_client.get(f"/drafts/{draft.pk}").content.decode()
    assert "Blocked because: Legal threat. The sender mentions legal or regulatory action." in page
    assert 'name="confirm_blocked"' in page
    before = _state(draft.pk)

    refused = operator_client.post(f"/drafts/{draft.pk}/approve", {"text": draft.text})
    assert refused.status_code == 400
    assert "confirm you want to send it" in refused.content.decode()
    assert _state(draft.pk) == before

    # The queue's one-key approve (htmx) cannot skip the confirmation either.
    row = operator_client.post(f"/drafts/{draft.pk}/approve", HTTP_HX_REQUEST="true")
    assert row.status_code == 400
    assert _state(draft.pk) == before

    sent = operator_client.post(
        f"/drafts/{draft.pk}/approve", {"text": draft.text, "confirm_blocked": "1"}
    )
    assert sent.status_code == 302
    assert Draft.objects.get(pk=draft.pk).status == "scheduled"
    assert ScheduledSend.objects.get(draft=draft).origin == "approval"


def test_an_ordinary_draft_needs_no_confirmation(operator_client, tenant):
    draft = make_draft(tenant.workspace, tenant.email_channel)
    assert (
        'name="confirm_blocked"' not in operator_client.get(f"/drafts/{draft.pk}").content.decode()
    )
    assert operator_client.post(f"/drafts/{draft.pk}/approve", {"text": "Hi"}).status_code == 302


def test_leaving_releases_only_the_hold_the_page_showed(operator_client, tenant):
    draft = make_draft(tenant.workspace, tenant.email_channel)
    operator_client.get(f"/drafts/{draft.pk}")
    draft.refresh_from_db()
    shown = draft.held_until
    # A reload took a newer hold before the old page's beacon arrived: nothing changes.
    Draft.objects.filter(pk=draft.pk).update(held_until=shown + timedelta(seconds=30))
    late = operator_client.post(f"/drafts/{draft.pk}/release", {"until": shown.isoformat()})
    assert late.status_code == 204
    assert Draft.objects.get(pk=draft.pk).held_by_id == tenant.operator.pk

    current = Draft.objects.get(pk=draft.pk).held_until
    released = operator_client.post(f"/drafts/{draft.pk}/release", {"until": current.isoformat()})
    assert released.status_code == 204
    draft.refresh_from_db()
    assert (draft.held_by_id, draft.held_until) == (None, None)
    assert operator_client.post(f"/drafts/{draft.pk}/release", {"until": "x"}).status_code == 400


def test_someone_elses_hold_is_not_released_and_release_needs_csrf(tenant):
    draft = make_draft(tenant.workspace, tenant.email_channel)
    rep = Client()
    rep.force_login(tenant.rep)
    rep.get(f"/drafts/{draft.pk}")
    held = Draft.objects.get(pk=draft.pk).held_until
    operator = Client(enforce_csrf_checks=True)
    operator.force_login(tenant.operator)
    # No token: refused by the CSRF check.
    assert operator.post(
        f"/drafts/{draft.pk}/release", {"until": held.isoformat()}
    ).status_code == (403)
    operator.get(f"/drafts/{draft.pk}")
    token = operator.cookies["csrftoken"].value
    answer = operator.post(
        f"/drafts/{draft.pk}/release", {"until": held.isoformat(), "csrfmiddlewaretoken": token}
    )
    assert answer.status_code == 204
    assert Draft.objects.get(pk=draft.pk).held_by_id == tenant.rep.pk


def test_undo_on_the_draft_page_once(operator_client, tenant):
    draft = make_draft(tenant.workspace, tenant.email_channel)
    response = operator_client.post(
        f"/drafts/{draft.pk}/approve", {"text": draft.text, "next": f"/drafts/{draft.pk}"}
    )
    assert response["Location"] == f"/drafts/{draft.pk}"
    page = operator_client.get(f"/drafts/{draft.pk}").content.decode()
    assert "It goes out in 10 s" in page
    assert 'id="undo-btn"' in page
    assert "Sending in <span" in page

    undone = operator_client.post(f"/drafts/{draft.pk}/undo")
    assert undone.status_code == 302
    draft.refresh_from_db()
    assert draft.status == "pending"
    assert ScheduledSend.objects.get(draft=draft).status == "cancelled"
    page = operator_client.get(f"/drafts/{draft.pk}").content.decode()
    assert "Undone: nothing was sent" in page
    assert 'id="approve-form"' in page

    again = operator_client.post(f"/drafts/{draft.pk}/undo")
    assert again.status_code == 409
    assert "nothing to undo" in again.content.decode()
    assert DraftAction.objects.filter(draft=draft, kind="undo").count() == 1


def test_assign_from_the_draft_page(operator_client, tenant):
    lead = LeadFactory(workspace=tenant.workspace, assigned_to=tenant.rep)
    draft = make_draft(tenant.workspace, tenant.email_channel, lead=lead)
    page = operator_client.get(f"/drafts/{draft.pk}").content.decode()
    assert f'<strong>{tenant.rep.email}</strong> <span class="muted">(the lead\'s rep)' in page

    response = operator_client.post(
        f"/drafts/{draft.pk}/assign", {"user_email": tenant.operator.email}
    )
    assert response.status_code == 302
    row = ConversationAssignment.objects.get(conversation_id=draft.conversation_id)
    assert (row.previous_owner_id, row.new_owner_id, row.assigned_by_id) == (
        tenant.rep.pk,
        tenant.operator.pk,
        tenant.operator.pk,
    )
    page = operator_client.get(f"/drafts/{draft.pk}").content.decode()
    assert f"Conversation assigned to {tenant.operator.email}." in page

    refused = operator_client.post(f"/drafts/{draft.pk}/assign", {"user_email": "x@nowhere.test"})
    assert refused.status_code == 400
    assert "No one with that email works in this workspace." in refused.content.decode()
    assert ConversationAssignment.objects.filter(conversation_id=draft.conversation_id).count() == 1

    operator_client.post(f"/drafts/{draft.pk}/assign", {"user_email": ""})
    assert "<em>unassigned</em>" in operator_client.get(f"/drafts/{draft.pk}").content.decode()


def test_write_the_reply_yourself_after_a_reject(operator_client, tenant):
    draft = make_draft(tenant.workspace, tenant.email_channel, text="AI words")
    operator_client.post(
        f"/drafts/{draft.pk}/reject", {"reason": "wrong_facts", "next": f"/drafts/{draft.pk}"}
    )
    page = operator_client.get(f"/drafts/{draft.pk}").content.decode()
    assert "Write the reply yourself" in page

    empty = operator_client.post(f"/drafts/{draft.pk}/reply", {"reply_text": "  "})
    assert empty.status_code == 400
    assert "The reply is empty" in empty.content.decode()
    assert Draft.objects.get(pk=draft.pk).status == "rejected"

    response = operator_client.post(f"/drafts/{draft.pk}/reply", {"reply_text": "My own words"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.status, draft.text) == ("scheduled", "My own words")
    send = ScheduledSend.objects.get(draft=draft)
    assert (send.text, send.origin, send.approved_by_id) == (
        "My own words",
        "approval",
        tenant.operator.pk,
    )
    assert list(DraftAction.objects.filter(draft=draft).values_list("kind", flat=True)) == [
        "reject",
        "edit",
    ]
    assert LearningSample.objects.get(draft=draft).original == "AI words"

    twice = operator_client.post(f"/drafts/{draft.pk}/reply", {"reply_text": "Again"})
    assert twice.status_code == 409
    assert ScheduledSend.objects.filter(draft=draft).count() == 1


def test_no_handwritten_reply_once_the_lead_wrote_again(operator_client, tenant):
    draft = make_draft(tenant.workspace, tenant.email_channel)
    operator_client.post(f"/drafts/{draft.pk}/reject", {"reason": "other"})
    newer = make_draft(tenant.workspace, tenant.email_channel, lead=draft.conversation.lead)
    page = operator_client.get(f"/drafts/{draft.pk}").content.decode()
    assert f'href="/drafts/{newer.pk}">answer the newer message' in page
    before = _state(draft.pk)
    refused = operator_client.post(f"/drafts/{draft.pk}/reply", {"reply_text": "Late answer"})
    assert refused.status_code == 409
    assert _state(draft.pk) == before


def test_no_handwritten_reply_once_someone_answered(operator_client, tenant):
    draft = make_draft(tenant.workspace, tenant.email_channel)
    operator_client.post(f"/drafts/{draft.pk}/reject", {"reason": "other"})
    MessageFactory(
        conversation=draft.conversation,
        direction="outbound",
        sender_kind="user",
        sender_user=tenant.rep,
        body_text="Answered from my phone",
        sent_at=draft.trigger_message.sent_at + timedelta(minutes=5),
    )
    assert "Someone already replied" in operator_client.get(f"/drafts/{draft.pk}").content.decode()
    before = _state(draft.pk)
    refused = operator_client.post(f"/drafts/{draft.pk}/reply", {"reply_text": "Twice"})
    assert refused.status_code == 409
    assert _state(draft.pk) == before


def test_lead_panel_profile_local_time_and_earlier_conversations(operator_client, tenant):
    lead = LeadFactory(
        workspace=tenant.workspace,
        name="Sam Rivera",
        email="sam@example.com",
        phone="+1 602 555 0100",
        timezone="America/Phoenix",
        assigned_to=tenant.rep,
    )
    earlier = ConversationFactory(
        lead=lead, channel=tenant.sms_channel, workspace=tenant.workspace, subject="Day passes"
    )
    old_draft = make_draft(tenant.workspace, tenant.sms_channel, lead=lead)
    assert old_draft.conversation_id == earlier.pk
    draft = make_draft(tenant.workspace, tenant.email_channel, lead=lead)
    page = operator_client.get(f"/drafts/{draft.pk}").content.decode()
    assert "sam@example.com" in page
    assert "+1 602 555 0100" in page
    assert 'MST</span> <span class="muted">(America/Phoenix)' in page
    assert f'<a href="/drafts/{old_draft.pk}">Day passes</a>' in page
    assert "their time</span>" in page  # message times also in the lead's zone


def test_engineer_details_are_folded_and_labelled(operator_client, tenant):
    draft = make_draft(tenant.workspace, tenant.email_channel)
    run = PipelineRunFactory(trigger_message=draft.trigger_message)
    PipelineArtifactFactory(run=run, input_tokens=653, output_tokens=117, payload={"k": 1})
    Draft.objects.filter(pk=draft.pk).update(run=run)
    page = operator_client.get(f"/drafts/{draft.pk}").content.decode()
    assert '<details class="engineer" id="engineer-details">' in page
    assert "653 in / 117 out" in page
    assert "653/117" not in page
    assert page.index('id="run-summary"') < page.index('id="engineer-details"')


def test_run_summary_speaks_first(tenant):
    draft = make_draft(
        tenant.workspace,
        tenant.email_channel,
        held_reason="below threshold 0.85 (confidence 0.62)",
    )
    assert run_summary(draft=draft, threshold=0.85) == (
        "Held because the confidence 0.62 is below the workspace's threshold 0.85."
    )
    draft.held_reason = "meeting gate"
    assert run_summary(draft=draft, threshold=0.85) == "Held because meeting gate."
    draft.blocked_reason = "opt_out"
    assert run_summary(draft=draft, threshold=0.85).startswith(
        "Blocked because: Asked to stop messages. The sender asked not to be contacted."
    )


def test_quoted_and_long_text_fold():
    body = "Sounds good, see you Thursday.\n\nOn Tue, 3 Dec 2026, Bo Kim wrote:\n> Does 3pm?\n> Bo"
    parts = message_parts(body)
    assert parts.main == "Sounds good, see you Thursday."
    assert parts.quoted.startswith("On Tue, 3 Dec 2026, Bo Kim wrote:")
    inline = message_parts("> Do you have passes?\nYes please, two.\n> And parking?\nNo car.")
    assert inline.quoted == ""  # quotes answered inline are what the lead wrote
    outlook = message_parts("Yes.\n\nFrom: Bo Kim\nSent: Friday\nSubject: Passes\n\nHi")
    assert (outlook.main, outlook.quoted.split("\n")[0]) == ("Yes.", "From: Bo Kim")
    assert message_parts("From: my phone, sorry for typos").quoted == ""
    long = message_parts("\n".join(f"line {i}" for i in range(30)))
    assert long.main.endswith("line 17")
    assert long.more.startswith("line 18")


def test_times_name_their_zone(operator_client, tenant):
    draft = make_draft(tenant.workspace, tenant.email_channel)
    page = operator_client.get(f"/drafts/{draft.pk}").content.decode()
    now = timezone.localtime()
    assert f"{now:%H}:" in page
    assert " UTC</time>" in page
    assert "data-clock" not in page.split('id="lead-panel"')[1].split("</aside>")[0]


def test_undo_window_zero_sends_without_an_undo_box(operator_client, tenant):
    WorkspaceSettings.objects.filter(workspace=tenant.workspace).update(undo_seconds=0)
    draft = make_draft(tenant.workspace, tenant.email_channel)
    operator_client.post(f"/drafts/{draft.pk}/approve", {"text": draft.text})
    assert 'id="undo-btn"' not in operator_client.get(f"/drafts/{draft.pk}").content.decode()
