"""The operator pages: queue, draft page (holds, approve, reject), proposals, notifications."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from autosend.models import ScheduledSend
from drafts.models import (
    Draft,
    DraftAction,
    LearningSample,
    Message,
    Notification,
    Proposal,
)
from pipeline.models import Stage
from tests.factories import (
    LeadFactory,
    NotificationFactory,
    PipelineArtifactFactory,
    PipelineRunFactory,
    ProposalFactory,
    UserFactory,
    make_draft,
)
from workspaces.models import Lead, Membership


@pytest.fixture
def operator_client(client, tenant):
    client.force_login(tenant.operator)
    return client


@pytest.fixture
def rep_client(tenant):
    from django.test import Client

    c = Client()
    c.force_login(tenant.rep)
    return c


def _draft_state(draft_id):
    d = Draft.objects.get(pk=draft_id)
    return (
        d.status,
        d.text,
        d.held_by_id,
        d.held_until,
        ScheduledSend.objects.filter(draft_id=draft_id).count(),
        DraftAction.objects.filter(draft_id=draft_id).count(),
    )


# --- Queue ---------------------------------------------------------------------------------


def test_queue_lists_waiting_drafts_oldest_first(operator_client, tenant):
    older = make_draft(
        tenant.workspace,
        tenant.sms_channel,
        lead=LeadFactory(workspace=tenant.workspace, name="Sam Rivera"),
        body="Can I bring my dog?",
    )
    # The lead wrote 3 hours ago; the draft was only made a minute ago: the wait is 3h.
    Draft.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(minutes=1))
    Message.objects.filter(pk=older.trigger_message_id).update(
        sent_at=timezone.now() - timedelta(hours=3)
    )
    make_draft(
        tenant.workspace,
        tenant.email_channel,
        lead=LeadFactory(workspace=tenant.workspace, name="Lee Chen"),
        body="This violates the TCPA",
        blocked_reason="legal_threat",
        auto_send_action=Draft.Action.BLOCK,
        auto_send_confidence=None,
    )
    make_draft(tenant.workspace, tenant.email_channel, status=Draft.Status.SENT)
    response = operator_client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Sam Rivera") < html.index("Lee Chen")
    assert "“Can I bring my dog?”" in html
    assert "blocked: Legal threat" in html
    assert "held: below threshold 0.85" in html
    assert "2 waiting · oldest" in html
    assert ">3h</time>" in html
    assert '<span class="count">2</span>' in html  # the nav's Queue count


def test_queue_filters_by_channel_status_and_reason(operator_client, tenant):
    make_draft(tenant.workspace, tenant.sms_channel, body="sms one")
    make_draft(tenant.workspace, tenant.email_channel, body="email one")
    make_draft(tenant.workspace, tenant.email_channel, body="blocked one", blocked_reason="opt_out")
    make_draft(tenant.workspace, tenant.email_channel, body="sent one", status="sent")

    def bodies(query):
        html = operator_client.get(f"/?{query}").content.decode()
        return {b for b in ("sms one", "email one", "blocked one", "sent one") if b in html}

    assert bodies(f"channel={tenant.sms_channel.pk}") == {"sms one"}
    assert bodies("reason=blocked") == {"blocked one"}
    assert bodies("status=sent") == {"sent one"}
    assert bodies("status=all") == {"sms one", "email one", "blocked one", "sent one"}
    assert bodies("status=bogus&channel=nope&reason=x&page=zz") == {
        "sms one",
        "email one",
        "blocked one",
    }


def test_queue_paginates(operator_client, tenant):
    for i in range(53):
        make_draft(tenant.workspace, tenant.email_channel, body=f"message number {i:03d}")
    first = operator_client.get("/").content.decode()
    assert "message number 000" in first
    assert "message number 050" not in first
    assert "Page 1 of 2 · 1\u201350 of 53" in first
    second = operator_client.get("/?page=2").content.decode()
    assert "message number 052" in second
    assert "message number 000" not in second
    assert "past the end" in operator_client.get("/?page=9").content.decode()


def test_queue_query_count_is_constant(operator_client, tenant, django_assert_max_num_queries):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert operator_client.get("/").status_code == 200
        return len(ctx.captured_queries)

    holder = UserFactory()
    for _ in range(5):
        make_draft(tenant.workspace, tenant.email_channel)
    with_5 = queries()
    for i in range(45):
        d = make_draft(
            tenant.workspace, tenant.sms_channel, lead=LeadFactory(workspace=tenant.workspace)
        )
        if i % 3 == 0:
            Draft.objects.filter(pk=d.pk).update(
                held_by=holder, held_until=timezone.now() + timedelta(minutes=5)
            )
    with_50 = queries()
    assert with_5 == with_50
    # 7, one for the runs parked waiting for the model provider (_waiting_for_provider), and
    # one for the members the owner menus offer.
    with django_assert_max_num_queries(9):
        operator_client.get("/")


def test_queue_empty_state_says_what_next(operator_client, tenant):
    html = operator_client.get("/").content.decode()
    assert "Nothing waiting for review in Acme" in html


def test_queue_never_shows_another_workspace(operator_client, tenant, other_tenant):
    make_draft(other_tenant.workspace, other_tenant.email_channel, body="their secret message")
    html = operator_client.get("/?status=all").content.decode()
    assert "their secret message" not in html
    html = operator_client.get(f"/?channel={other_tenant.email_channel.pk}").content.decode()
    assert "their secret message" not in html


# --- Draft page ----------------------------------------------------------------------------


def test_draft_page_shows_thread_decision_sources_and_run(operator_client, tenant):
    lead = LeadFactory(
        workspace=tenant.workspace, name="Sam Rivera", assigned_to=tenant.rep, timezone="UTC"
    )
    draft = make_draft(
        tenant.workspace,
        tenant.sms_channel,
        lead=lead,
        body="Can I bring my dog?",
        sources=[{"id": "k1", "title": "Day passes", "url": "https://example.com/passes"}],
        original_confidence=0.62,
        auto_send_confidence=0.81,
        revision_applied=True,
        revision_iterations=2,
    )
    run = PipelineRunFactory(trigger_message=draft.trigger_message)
    PipelineArtifactFactory(
        run=run, stage=Stage.STRATEGY, prompt_key="strategy", prompt_version="v2"
    )
    PipelineArtifactFactory(
        run=run, stage=Stage.EVALUATION, iteration=1, payload={"confidence": 0.81}
    )
    Draft.objects.filter(pk=draft.pk).update(run=run)
    html = operator_client.get(f"/drafts/{draft.pk}").content.decode()
    assert "Sam Rivera" in html
    assert f"rep: {tenant.rep.email}" in html
    assert "Can I bring my dog?" in html
    assert 'href="https://example.com/passes"' in html
    assert "0.62 → <strong>0.81</strong>" in html
    assert "after 2 revisions" in html
    assert "strategy.v2" in html
    assert 'Auto-send evaluation <span class="muted">(iter 1)</span>' in html
    assert "&quot;confidence&quot;: 0.81" in html
    assert "Held by you until" in html


def test_opening_a_draft_holds_it_and_others_see_who(operator_client, rep_client, tenant):
    draft = make_draft(tenant.workspace, tenant.email_channel)
    operator_client.get(f"/drafts/{draft.pk}")
    draft.refresh_from_db()
    assert draft.held_by_id == tenant.operator.pk
    assert draft.held_until > timezone.now() + timedelta(minutes=9)
    held_until = draft.held_until

    html = rep_client.get(f"/drafts/{draft.pk}").content.decode()
    assert f"<strong>{tenant.operator.email}</strong> has this draft open until" in html
    draft.refresh_from_db()
    assert (draft.held_by_id, draft.held_until) == (tenant.operator.pk, held_until)
    assert f"open by {tenant.operator.email}" in rep_client.get("/").content.decode()

    # Expired holds are free to take.
    Draft.objects.filter(pk=draft.pk).update(held_until=timezone.now() - timedelta(seconds=1))
    rep_client.get(f"/drafts/{draft.pk}")
    assert Draft.objects.get(pk=draft.pk).held_by_id == tenant.rep.pk


def test_someone_else_holding_does_not_stop_an_approval(operator_client, rep_client, tenant):
    draft = make_draft(tenant.workspace, tenant.email_channel)
    operator_client.get(f"/drafts/{draft.pk}")
    response = rep_client.post(f"/drafts/{draft.pk}/approve", {"text": draft.text})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == "scheduled"
    assert draft.held_by_id is None
    assert DraftAction.objects.get(draft=draft).user_id == tenant.rep.pk


def test_approve_form_edits_and_redirects_to_the_queue(operator_client, tenant):
    draft = make_draft(tenant.workspace, tenant.email_channel, text="Hello")
    NotificationFactory(workspace=tenant.workspace, draft=draft)
    response = operator_client.post(f"/drafts/{draft.pk}/approve", {"text": "Hello Sam\r\n"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    draft.refresh_from_db()
    assert (draft.status, draft.text) == ("scheduled", "Hello Sam\n")
    assert LearningSample.objects.get(draft=draft).final == "Hello Sam\n"
    assert Notification.objects.get(draft=draft).read_at is not None
    page = operator_client.get("/").content.decode()
    assert "edited and approved: it is on its way." in page


def test_approve_from_the_queue_with_htmx_redraws_the_row(operator_client, tenant):
    draft = make_draft(tenant.workspace, tenant.email_channel)
    response = operator_client.post(f"/drafts/{draft.pk}/approve", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert f'id="row-{draft.pk}"' in response.content.decode()
    assert ">Scheduled</span>" in response.content.decode()
    again = operator_client.post(f"/drafts/{draft.pk}/approve", HTTP_HX_REQUEST="true")
    assert again.status_code == 409
    assert "no longer waiting for review (it is scheduled)" in again.content.decode()
    assert ScheduledSend.objects.filter(draft=draft).count() == 1


def test_double_submit_of_the_approve_form_books_once(operator_client, tenant):
    draft = make_draft(tenant.workspace, tenant.email_channel)
    assert operator_client.post(f"/drafts/{draft.pk}/approve", {"text": "A"}).status_code == 302
    second = operator_client.post(f"/drafts/{draft.pk}/approve", {"text": "B"})
    assert second.status_code == 409
    assert "no longer waiting for review" in second.content.decode()
    assert list(ScheduledSend.objects.filter(draft=draft).values_list("text", flat=True)) == ["A"]


def test_empty_reply_is_refused_next_to_the_editor(operator_client, tenant):
    draft = make_draft(tenant.workspace, tenant.email_channel)
    before = _draft_state(draft.pk)
    operator_client.get(f"/drafts/{draft.pk}")
    before = _draft_state(draft.pk)
    response = operator_client.post(f"/drafts/{draft.pk}/approve", {"text": "   "})
    assert response.status_code == 400
    assert "The reply is empty" in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert _draft_state(draft.pk) == before


def test_reject_form(operator_client, tenant):
    draft = make_draft(tenant.workspace, tenant.email_channel)
    response = operator_client.post(
        f"/drafts/{draft.pk}/reject", {"reason": "wrong_tone", "note": "too pushy"}
    )
    assert response.status_code == 302
    action = DraftAction.objects.get(draft=draft)
    assert (action.kind, action.reason, action.note) == ("reject", "wrong_tone", "too pushy")
    assert Draft.objects.get(pk=draft.pk).status == "rejected"


def test_reject_without_reason_shows_the_error(operator_client, tenant):
    draft = make_draft(tenant.workspace, tenant.email_channel)
    before = _draft_state(draft.pk)
    response = operator_client.post(f"/drafts/{draft.pk}/reject", {"note": "meh"})
    assert response.status_code == 400
    assert "Say why the draft is rejected." in response.content.decode()
    assert _draft_state(draft.pk) == before


def test_another_workspaces_draft_pages_are_404_and_change_nothing(
    operator_client, tenant, other_tenant
):
    theirs = make_draft(other_tenant.workspace, other_tenant.email_channel)
    before = _draft_state(theirs.pk)
    assert operator_client.get(f"/drafts/{theirs.pk}").status_code == 404
    assert operator_client.post(f"/drafts/{theirs.pk}/approve", {"text": "x"}).status_code == 404
    assert operator_client.post(f"/drafts/{theirs.pk}/reject", {"reason": "other"}).status_code == (
        404
    )
    assert operator_client.post(f"/drafts/{theirs.pk}/hold").status_code == 404
    assert _draft_state(theirs.pk) == before


def test_pages_need_login(client, tenant):
    draft = make_draft(tenant.workspace, tenant.email_channel)
    for path in ("/", f"/drafts/{draft.pk}", "/proposals/", "/notifications/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/login/")
    assert client.post(f"/drafts/{draft.pk}/approve").status_code == 302
    assert Draft.objects.get(pk=draft.pk).status == "pending"


# --- Proposals -----------------------------------------------------------------------------


def _lead_state(lead):
    fresh = Lead.objects.get(pk=lead.pk)
    return (
        fresh.company,
        fresh.title,
        list(Proposal.objects.filter(lead=lead).order_by("id").values_list("status", flat=True)),
    )


def test_proposals_page_groups_by_lead_and_batch(rep_client, tenant):
    sam = LeadFactory(workspace=tenant.workspace, name="Sam Rivera", assigned_to=tenant.rep)
    lee = LeadFactory(workspace=tenant.workspace, name="Lee Chen", assigned_to=tenant.operator)
    batch = uuid.uuid4()
    ProposalFactory(lead=sam, batch_id=batch, field="company")
    ProposalFactory(lead=sam, batch_id=batch, field="title", proposed_value="Owner")
    ProposalFactory(lead=lee, field="timezone", proposed_value="Europe/Berlin")
    html = rep_client.get("/proposals/").content.decode()
    assert html.count('class="card batch"') == 2
    assert html.index("Sam Rivera") < html.index("Lee Chen")
    assert "Accept all 2" in html
    assert f"Only {tenant.operator.email}, the lead's rep, can decide these." in html
    mine = rep_client.get("/proposals/?mine=1").content.decode()
    assert "Sam Rivera" in mine
    assert "Lee Chen" not in mine


def test_rep_accepts_on_the_page(rep_client, tenant):
    lead = LeadFactory(workspace=tenant.workspace, assigned_to=tenant.rep, company="Old Co")
    proposal = ProposalFactory(lead=lead)
    response = rep_client.post(
        f"/proposals/{proposal.pk}/accept", HTTP_HX_REQUEST="true", follow=False
    )
    assert response.status_code == 200
    assert "Old Co</span> → <strong>Sunrise Roofing</strong>" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).company == "Sunrise Roofing"


def test_rep_edits_then_accepts_on_the_page(rep_client, tenant):
    lead = LeadFactory(workspace=tenant.workspace, assigned_to=tenant.rep)
    proposal = ProposalFactory(lead=lead, field="title", proposed_value="owner")
    response = rep_client.post(f"/proposals/{proposal.pk}/edit", {"value": "Owner & CEO"})
    assert response.status_code == 302
    assert Lead.objects.get(pk=lead.pk).title == "Owner & CEO"


@pytest.mark.parametrize("htmx", [True, False])
def test_non_rep_is_refused_on_the_page_and_nothing_changes(operator_client, tenant, htmx):
    lead = LeadFactory(workspace=tenant.workspace, assigned_to=tenant.rep, company="Old Co")
    proposal = ProposalFactory(lead=lead)
    before = _lead_state(lead)
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    for path in (
        f"/proposals/{proposal.pk}/accept",
        f"/proposals/{proposal.pk}/reject",
        f"/proposals/batches/{proposal.batch_id}/accept",
    ):
        response = operator_client.post(path, {"value": "Evil"}, **extra)
        assert response.status_code == 403, path
        assert "Only the lead&#x27;s assigned rep can decide" in response.content.decode()
    response = operator_client.post(f"/proposals/{proposal.pk}/edit", {"value": "Evil"}, **extra)
    assert response.status_code == 403
    assert _lead_state(lead) == before


def test_batch_accept_on_the_page(rep_client, tenant):
    lead = LeadFactory(workspace=tenant.workspace, assigned_to=tenant.rep)
    batch = uuid.uuid4()
    ProposalFactory(lead=lead, batch_id=batch, field="company")
    ProposalFactory(lead=lead, batch_id=batch, field="title", proposed_value="Owner")
    response = rep_client.post(f"/proposals/batches/{batch}/accept")
    assert response.status_code == 302
    assert _lead_state(lead) == ("Sunrise Roofing", "Owner", ["accepted", "accepted"])


def test_another_workspaces_proposals_are_404_on_the_page(rep_client, tenant, other_tenant):
    their_lead = LeadFactory(workspace=other_tenant.workspace, assigned_to=tenant.rep)
    proposal = ProposalFactory(lead=their_lead)
    before = _lead_state(their_lead)
    for path in (
        f"/proposals/{proposal.pk}/accept",
        f"/proposals/{proposal.pk}/edit",
        f"/proposals/{proposal.pk}/reject",
        f"/proposals/batches/{proposal.batch_id}/accept",
        f"/proposals/batches/{proposal.batch_id}/reject",
    ):
        assert rep_client.post(path, {"value": "x"}).status_code == 404, path
    assert _lead_state(their_lead) == before
    assert "Sunrise Roofing" not in rep_client.get("/proposals/").content.decode()


# --- Notifications and the workspace switcher -----------------------------------------------


def test_notification_feed_and_mark_read(operator_client, tenant, other_tenant):
    draft = make_draft(tenant.workspace, tenant.email_channel)
    mine = NotificationFactory(
        workspace=tenant.workspace, draft=draft, title="Draft for Sam needs review"
    )
    NotificationFactory(
        workspace=tenant.workspace,
        kind=Notification.Kind.SEND_UNKNOWN,
        title="Send to Lee: outcome unknown",
    )
    theirs = NotificationFactory(workspace=other_tenant.workspace, title="Their news")
    queue = operator_client.get("/").content.decode()
    assert 'aria-label="2 unread">2</span>' in queue  # the top bar's bell
    feed = operator_client.get("/notifications/", HTTP_HX_REQUEST="true").content.decode()
    assert "Draft for Sam needs review" in feed
    assert "Send outcome unknown" in feed
    assert "Their news" not in feed
    response = operator_client.post(f"/notifications/{mine.pk}/read", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert Notification.objects.get(pk=mine.pk).read_at is not None
    assert operator_client.post(f"/notifications/{theirs.pk}/read").status_code == 404
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    operator_client.post("/notifications/read-all")
    assert not Notification.objects.filter(workspace=tenant.workspace, read_at=None).exists()
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_notifications_api(api, tenant, other_tenant):
    mine = NotificationFactory(workspace=tenant.workspace)
    theirs = NotificationFactory(workspace=other_tenant.workspace)
    body = api.get("/api/v1/notifications?unread=true").json()
    assert [i["id"] for i in body["items"]] == [str(mine.pk)]
    assert api.post(f"/api/v1/notifications/{mine.pk}/read").json()["read_at"] is not None
    assert api.post(f"/api/v1/notifications/{theirs.pk}/read").status_code == 404
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_workspace_switcher_changes_the_queue(client, tenant, other_tenant):
    Membership.objects.create(user=tenant.operator, workspace=other_tenant.workspace)
    make_draft(tenant.workspace, tenant.email_channel, body="acme message")
    make_draft(other_tenant.workspace, other_tenant.email_channel, body="globex message")
    client.force_login(tenant.operator)
    assert "acme message" in client.get("/").content.decode()
    client.post("/workspace/switch/", {"workspace_id": str(other_tenant.workspace.pk)})
    html = client.get("/").content.decode()
    assert "globex message" in html
    assert "acme message" not in html
