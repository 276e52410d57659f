"""Lead-profile proposals: only the lead's assigned rep decides; accepting updates the lead."""

from __future__ import annotations

import uuid

import pytest

from drafts.models import Proposal
from tests.conftest import ApiClient
from tests.factories import LeadFactory, ProposalFactory
from workspaces.models import Lead
from workspaces.services import api_token_create


@pytest.fixture
def lead(tenant):
    return LeadFactory(workspace=tenant.workspace, assigned_to=tenant.rep, company="Old Co")


@pytest.fixture
def rep_api(tenant):
    _, token = api_token_create(workspace=tenant.workspace, user=tenant.rep)
    return ApiClient(token)


def _snapshot(lead):
    """The lead and its proposals as stored, to assert a refusal changed nothing."""
    fresh = Lead.objects.get(pk=lead.pk)
    rows = Proposal.objects.filter(lead=lead).order_by("id")
    return (
        (fresh.name, fresh.email, fresh.company, fresh.title, fresh.timezone),
        list(rows.values_list("status", "previous_value", "applied_value", "decided_by_id")),
    )


def test_list_pending(rep_api, tenant, lead):
    pending = ProposalFactory(lead=lead)
    ProposalFactory(lead=lead, status=Proposal.Status.REJECTED)
    body = rep_api.get("/api/v1/proposals?status=pending").json()
    assert body["count"] == 1
    [item] = body["items"]
    assert item["id"] == str(pending.pk)
    assert item["field"] == "company"
    assert item["proposed_value"] == "Sunrise Roofing"
    assert item["current_value"] == "Old Co"
    assert item["assigned_to_id"] == tenant.rep.pk
    assert rep_api.get("/api/v1/proposals").json()["count"] == 2


def test_rep_accepts_and_the_lead_changes(rep_api, tenant, lead):
    proposal = ProposalFactory(lead=lead)
    response = rep_api.post(f"/api/v1/proposals/{proposal.pk}/accept")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "accepted"
    assert (body["previous_value"], body["applied_value"]) == ("Old Co", "Sunrise Roofing")
    assert body["decided_by"] == tenant.rep.email
    assert Lead.objects.get(pk=lead.pk).company == "Sunrise Roofing"
    proposal.refresh_from_db()
    assert (proposal.previous_value, proposal.applied_value, proposal.decided_by_id) == (
        "Old Co",
        "Sunrise Roofing",
        tenant.rep.pk,
    )


def test_rep_edits_then_accepts(rep_api, tenant, lead):
    proposal = ProposalFactory(lead=lead, field="email", proposed_value="sam@sunrise.example")
    response = rep_api.post(
        f"/api/v1/proposals/{proposal.pk}/edit", {"value": " sam.r@sunrise.example "}
    )
    assert response.status_code == 200, response.content
    assert response.json()["applied_value"] == "sam.r@sunrise.example"
    assert response.json()["proposed_value"] == "sam@sunrise.example"
    assert Lead.objects.get(pk=lead.pk).email == "sam.r@sunrise.example"


def test_rep_rejects_and_the_proposal_stays(rep_api, tenant, lead):
    proposal = ProposalFactory(lead=lead)
    response = rep_api.post(f"/api/v1/proposals/{proposal.pk}/reject")
    assert response.status_code == 200
    assert Proposal.objects.get(pk=proposal.pk).status == "rejected"
    assert Lead.objects.get(pk=lead.pk).company == "Old Co"
    listed = rep_api.get("/api/v1/proposals?status=rejected").json()["items"]
    assert [p["id"] for p in listed] == [str(proposal.pk)]


@pytest.mark.parametrize(
    ("action", "body"),
    [("accept", None), ("reject", None), ("edit", {"value": "Evil Corp"})],
)
def test_anyone_but_the_rep_gets_403_and_nothing_changes(api, tenant, lead, action, body):
    proposal = ProposalFactory(lead=lead)
    before = _snapshot(lead)
    response = api.post(f"/api/v1/proposals/{proposal.pk}/{action}", body)
    assert response.status_code == 403
    assert response.json()["error"] == "Only the lead's assigned rep can decide on these proposals."
    assert _snapshot(lead) == before


def test_unassigned_lead_refuses_everyone(rep_api, tenant):
    lead = LeadFactory(workspace=tenant.workspace, assigned_to=None)
    proposal = ProposalFactory(lead=lead)
    before = _snapshot(lead)
    assert rep_api.post(f"/api/v1/proposals/{proposal.pk}/accept").status_code == 403
    assert _snapshot(lead) == before


@pytest.mark.parametrize("action", ["accept", "reject"])
def test_non_rep_batch_is_403_and_nothing_changes(api, tenant, lead, action):
    batch = uuid.uuid4()
    ProposalFactory(lead=lead, batch_id=batch, field="company")
    ProposalFactory(lead=lead, batch_id=batch, field="title", proposed_value="Owner")
    before = _snapshot(lead)
    response = api.post(f"/api/v1/proposals/batches/{batch}/{action}")
    assert response.status_code == 403
    assert _snapshot(lead) == before


def test_batch_accept_applies_every_pending_proposal(rep_api, tenant, lead):
    batch = uuid.uuid4()
    ProposalFactory(lead=lead, batch_id=batch, field="company")
    ProposalFactory(lead=lead, batch_id=batch, field="title", proposed_value="Owner")
    done = ProposalFactory(lead=lead, batch_id=batch, field="name", status="rejected")
    response = rep_api.post(f"/api/v1/proposals/batches/{batch}/accept")
    assert response.status_code == 200, response.content
    assert response.json()["count"] == 2
    fresh = Lead.objects.get(pk=lead.pk)
    assert (fresh.company, fresh.title) == ("Sunrise Roofing", "Owner")
    assert Proposal.objects.get(pk=done.pk).status == "rejected"
    assert rep_api.post(f"/api/v1/proposals/batches/{batch}/accept").status_code == 409


def test_batch_reject(rep_api, tenant, lead):
    batch = uuid.uuid4()
    ProposalFactory(lead=lead, batch_id=batch, field="company")
    ProposalFactory(lead=lead, batch_id=batch, field="title", proposed_value="Owner")
    response = rep_api.post(f"/api/v1/proposals/batches/{batch}/reject")
    assert response.status_code == 200
    assert set(Proposal.objects.filter(batch_id=batch).values_list("status", flat=True)) == {
        "rejected"
    }
    assert Lead.objects.get(pk=lead.pk).company == "Old Co"


def test_batch_with_an_invalid_value_changes_nothing(rep_api, tenant, lead):
    batch = uuid.uuid4()
    ProposalFactory(lead=lead, batch_id=batch, field="company")
    ProposalFactory(lead=lead, batch_id=batch, field="timezone", proposed_value="Mars/Olympus")
    before = _snapshot(lead)
    response = rep_api.post(f"/api/v1/proposals/batches/{batch}/accept")
    assert response.status_code == 400
    assert response.json()["details"] == [
        {"field": "value", "message": "Not a known time zone (e.g. Europe/Berlin)."}
    ]
    assert _snapshot(lead) == before


def test_invalid_edited_email_is_400(rep_api, tenant, lead):
    proposal = ProposalFactory(lead=lead, field="email", proposed_value="a@b.example")
    before = _snapshot(lead)
    response = rep_api.post(f"/api/v1/proposals/{proposal.pk}/edit", {"value": "not an email"})
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "value"
    assert _snapshot(lead) == before


def test_deciding_twice_is_409(rep_api, tenant, lead):
    proposal = ProposalFactory(lead=lead)
    assert rep_api.post(f"/api/v1/proposals/{proposal.pk}/accept").status_code == 200
    before = _snapshot(lead)
    response = rep_api.post(f"/api/v1/proposals/{proposal.pk}/reject")
    assert response.status_code == 409
    assert _snapshot(lead) == before


def test_another_workspaces_proposals_are_404(rep_api, tenant, other_tenant):
    their_lead = LeadFactory(workspace=other_tenant.workspace, assigned_to=tenant.rep)
    proposal = ProposalFactory(lead=their_lead)
    before = _snapshot(their_lead)
    for path, body in [
        (f"/api/v1/proposals/{proposal.pk}/accept", None),
        (f"/api/v1/proposals/{proposal.pk}/reject", None),
        (f"/api/v1/proposals/{proposal.pk}/edit", {"value": "X"}),
        (f"/api/v1/proposals/batches/{proposal.batch_id}/accept", None),
        (f"/api/v1/proposals/batches/{proposal.batch_id}/reject", None),
    ]:
        assert rep_api.post(path, body).status_code == 404, path
    assert _snapshot(their_lead) == before
    assert rep_api.get("/api/v1/proposals").json()["count"] == 0
