"""The drafts REST API: listing, detail, approve / edit / reject, messages, learning samples."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from autosend.models import ScheduledSend
from autosend.scheduling import scheduled_send_create
from drafts.models import Draft, DraftAction, LearningSample
from pipeline.models import Stage
from tests.conftest import ApiClient
from tests.factories import (
    LeadFactory,
    MessageFactory,
    PipelineArtifactFactory,
    PipelineRunFactory,
    make_draft,
)


@pytest.fixture
def draft(tenant):
    return make_draft(tenant.workspace, tenant.email_channel)


def _state(draft_id):
    """Everything an approve or reject could change, to assert a refusal changed nothing."""
    d = Draft.objects.get(pk=draft_id)
    return (
        d.status,
        d.text,
        d.held_by_id,
        list(ScheduledSend.objects.filter(draft_id=draft_id).values_list("status", "text")),
        DraftAction.objects.filter(draft_id=draft_id).count(),
        LearningSample.objects.filter(draft_id=draft_id).count(),
    )


def test_list_returns_items_and_count_with_the_contract_fields(api, tenant, draft):
    make_draft(tenant.workspace, tenant.sms_channel, status=Draft.Status.REJECTED)
    body = api.get("/api/v1/drafts?status=pending").json()
    assert body["count"] == 1
    [item] = body["items"]
    assert item["id"] == str(draft.pk)
    assert item["status"] == "pending"
    assert item["text"] == draft.text
    assert item["lead"]["id"] == str(draft.conversation.lead_id)
    assert item["trigger_message_id"] == str(draft.trigger_message_id)
    assert item["auto_send"] == {
        "action": "review",
        "confidence": 0.62,
        "original_confidence": 0.62,
        "final_confidence": None,
        "revision_applied": False,
        "revision_iterations": 0,
        "blocked_reason": "",
        "held_reason": "below threshold 0.85",
        # No verdict recorded for this hand-made draft (the pipeline records one).
        "would_send": None,
        "reason": None,
        "reason_code": None,
        "shadow": None,
    }
    assert "created_at" in item
    assert api.get("/api/v1/drafts").json()["count"] == 2


def test_list_paginates_oldest_first(api, tenant):
    drafts = [make_draft(tenant.workspace, tenant.email_channel) for _ in range(5)]
    body = api.get("/api/v1/drafts?status=pending&limit=2&offset=2").json()
    assert body["count"] == 5
    assert [i["id"] for i in body["items"]] == [str(d.pk) for d in drafts[2:4]]


@pytest.mark.parametrize("query", ["status=nope", "limit=0", "limit=201", "offset=-1", "limit=abc"])
def test_list_bad_parameters_are_a_clear_400(api, tenant, query):
    response = api.get(f"/api/v1/drafts?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Invalid request."
    assert body["details"][0]["field"] in {"status", "limit", "offset"}


def test_list_needs_auth(db):
    response = ApiClient().get("/api/v1/drafts")
    assert response.status_code == 401
    assert "error" in response.json()


def test_list_query_count_does_not_grow_with_drafts(api, tenant):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get("/api/v1/drafts?status=pending&limit=100").status_code == 200
        return len(ctx.captured_queries)

    api.get("/api/v1/drafts")  # the token's first use records last_used_at once
    for _ in range(5):
        make_draft(tenant.workspace, tenant.email_channel)
    with_5 = queries()
    for _ in range(45):
        make_draft(
            tenant.workspace, tenant.sms_channel, lead=LeadFactory(workspace=tenant.workspace)
        )
    with_50 = queries()
    assert with_5 == with_50
    assert with_50 == 3  # token, count, page


def test_list_query_count_bound(api, tenant, django_assert_max_num_queries):
    for _ in range(50):
        make_draft(tenant.workspace, tenant.email_channel)
    api.get("/api/v1/drafts")
    with django_assert_max_num_queries(3):
        body = api.get("/api/v1/drafts?limit=50").json()
    assert len(body["items"]) == 50


def test_detail_has_the_runs_artifacts(api, tenant):
    message = MessageFactory(
        conversation__lead=LeadFactory(workspace=tenant.workspace),
        conversation__channel=tenant.email_channel,
    )
    run = PipelineRunFactory(trigger_message=message)
    PipelineArtifactFactory(run=run, stage=Stage.STRATEGY, prompt_key="strategy", latency_ms=7)
    PipelineArtifactFactory(run=run, stage=Stage.GENERATION, payload={"reply": "x"})
    draft = make_draft(tenant.workspace, tenant.email_channel)
    Draft.objects.filter(pk=draft.pk).update(run=run)
    body = api.get(f"/api/v1/drafts/{draft.pk}").json()
    assert [a["stage"] for a in body["artifacts"]] == [Stage.STRATEGY, Stage.GENERATION]
    first = body["artifacts"][0]
    assert first["prompt_key"] == "strategy"
    assert first["latency_ms"] == 7
    assert first["input_tokens"] == 300
    assert first["output_tokens"] == 80
    assert first["model"] == "offline"
    assert first["iteration"] == 0
    assert body["artifacts"][1]["payload"] == {"reply": "x"}
    assert body["run"]["id"] == str(run.pk)
    assert body["scheduled_send"] is None


def test_message_has_its_draft_id(api, tenant, draft):
    body = api.get(f"/api/v1/messages/{draft.trigger_message_id}").json()
    assert body["draft_id"] == str(draft.pk)
    assert body["direction"] == "inbound"
    undrafted = MessageFactory(conversation=draft.conversation)
    assert api.get(f"/api/v1/messages/{undrafted.pk}").json()["draft_id"] is None


def test_approve_as_is_books_one_send(api, tenant, draft):
    response = api.post(f"/api/v1/drafts/{draft.pk}/approve")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "scheduled"
    assert body["action"]["kind"] == "approve"
    assert body["action"]["user"] == tenant.operator.email
    assert body["scheduled_send"]["origin"] == "approval"
    send = ScheduledSend.objects.get(draft=draft)
    assert (send.status, send.origin, send.text) == ("scheduled", "approval", draft.text)
    assert send.run_at <= timezone.now() + timedelta(seconds=10)  # the undo window
    assert LearningSample.objects.count() == 0


def test_edit_then_approve_keeps_diff_and_learning_sample(api, tenant):
    message = MessageFactory(
        conversation__lead=LeadFactory(workspace=tenant.workspace),
        conversation__channel=tenant.email_channel,
    )
    run = PipelineRunFactory(trigger_message=message)
    draft = make_draft(tenant.workspace, tenant.email_channel, text="Yes, dogs are welcome.")
    PipelineArtifactFactory(
        run=run,
        stage=Stage.VERIFIER,
        prompt_key="verifier",
        prompt_version="v3",
        text="Yes, dogs are welcome.",
    )
    Draft.objects.filter(pk=draft.pk).update(run=run)
    response = api.post(
        f"/api/v1/drafts/{draft.pk}/approve", {"text": "Yes, small dogs are welcome.\r\n"}
    )
    assert response.status_code == 200, response.content
    draft.refresh_from_db()
    assert draft.status == "scheduled"
    assert draft.text == "Yes, small dogs are welcome.\n"
    action = DraftAction.objects.get(draft=draft)
    assert action.kind == "edit"
    assert action.final_text == "Yes, small dogs are welcome.\n"
    changed = [op for op in action.diff if op["op"] != "equal"]
    assert changed == [
        {"op": "insert", "a": [1, 1], "b": [1, 3], "before": "", "after": " small"},
        {"op": "insert", "a": [7, 7], "b": [9, 10], "before": "", "after": "\n"},
    ]
    sample = LearningSample.objects.get(draft=draft)
    assert sample.original == "Yes, dogs are welcome."
    assert sample.final == "Yes, small dogs are welcome.\n"
    assert sample.diff == action.diff
    assert (sample.stage, sample.prompt_key, sample.prompt_version) == (
        Stage.VERIFIER,
        "verifier",
        "v3",
    )
    assert sample.lead_id == draft.conversation.lead_id
    assert sample.channel_id == tenant.email_channel.pk
    assert ScheduledSend.objects.get(draft=draft).text == "Yes, small dogs are welcome.\n"


def test_double_approve_books_once(api, tenant, draft):
    first = api.post(f"/api/v1/drafts/{draft.pk}/approve", {"text": "Edited once."})
    assert first.status_code == 200
    before = _state(draft.pk)
    second = api.post(f"/api/v1/drafts/{draft.pk}/approve", {"text": "Edited twice."})
    assert second.status_code == 409
    assert second.json()["error"] == "This draft is no longer waiting for review (it is scheduled)."
    assert second.json()["details"] == {"status": "scheduled", "send_status": "scheduled"}
    assert _state(draft.pk) == before
    assert ScheduledSend.objects.filter(draft=draft).count() == 1
    assert DraftAction.objects.filter(draft=draft).count() == 1


def test_approve_takes_over_a_waiting_automatic_send(api, tenant, draft):
    """An operator may edit and send now a reply that auto-send booked for later: the one
    booked row becomes the approval, so it still goes out once."""
    scheduled_send_create(
        draft=draft, origin="auto", run_at=timezone.now() + timedelta(minutes=5), text=draft.text
    )
    response = api.post(f"/api/v1/drafts/{draft.pk}/approve", {"text": "Different"})
    assert response.status_code == 200
    send = ScheduledSend.objects.get(draft=draft)
    assert (send.origin, send.text, send.approved_by) == ("approval", "Different", tenant.operator)
    assert send.run_at <= timezone.now() + timedelta(seconds=10)  # the undo window
    assert DraftAction.objects.get(draft=draft).kind == "edit"


def test_approve_empty_text_is_400(api, tenant, draft):
    before = _state(draft.pk)
    response = api.post(f"/api/v1/drafts/{draft.pk}/approve", {"text": "  \n"})
    assert response.status_code == 400
    assert response.json()["details"] == [{"field": "text", "message": "Cannot be empty."}]
    assert _state(draft.pk) == before


@pytest.mark.parametrize(
    ("sent", "reason", "note"),
    [
        ({"reason": "wrong_tone"}, "wrong_tone", ""),
        ({"reason": "Wrong facts", "note": "price is old"}, "wrong_facts", "price is old"),
        ({"reason": "should-not-reply"}, "should_not_reply", ""),
        ({"reason": "they already bought"}, "other", "they already bought"),
    ],
)
def test_reject_with_reason(api, tenant, draft, sent, reason, note):
    response = api.post(f"/api/v1/drafts/{draft.pk}/reject", sent)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "rejected"
    action = DraftAction.objects.get(draft=draft)
    assert (action.kind, action.reason, action.note) == ("reject", reason, note)
    assert Draft.objects.get(pk=draft.pk).status == "rejected"


def test_reject_without_reason_is_400(api, tenant, draft):
    before = _state(draft.pk)
    response = api.post(f"/api/v1/drafts/{draft.pk}/reject", {"reason": " "})
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "reason"
    assert _state(draft.pk) == before


def test_reject_cancels_a_booked_send(api, tenant, draft):
    scheduled_send_create(
        draft=draft, origin="auto", run_at=timezone.now() + timedelta(minutes=5), text=draft.text
    )
    response = api.post(f"/api/v1/drafts/{draft.pk}/reject", {"reason": "wrong_facts"})
    assert response.status_code == 200
    send = ScheduledSend.objects.get(draft=draft)
    assert send.status == "cancelled"
    assert send.cancel_reason == "rejected by operator"
    assert Draft.objects.get(pk=draft.pk).status == "rejected"


def test_reject_while_sending_is_409_and_changes_nothing(api, tenant, draft):
    scheduled_send_create(draft=draft, origin="auto", run_at=timezone.now(), text=draft.text)
    ScheduledSend.objects.filter(draft=draft).update(status="sending")
    before = _state(draft.pk)
    response = api.post(f"/api/v1/drafts/{draft.pk}/reject", {"reason": "wrong_facts"})
    assert response.status_code == 409
    assert response.json()["details"] == {"status": "scheduled", "send_status": "sending"}
    assert _state(draft.pk) == before


def test_reject_twice_is_409(api, tenant, draft):
    assert api.post(f"/api/v1/drafts/{draft.pk}/reject", {"reason": "other"}).status_code == 200
    before = _state(draft.pk)
    assert api.post(f"/api/v1/drafts/{draft.pk}/reject", {"reason": "other"}).status_code == 409
    assert _state(draft.pk) == before


def test_another_workspaces_ids_are_404_and_change_nothing(api, tenant, other_tenant):
    theirs = make_draft(other_tenant.workspace, other_tenant.email_channel)
    before = _state(theirs.pk)
    for method, path, body in [
        ("get", f"/api/v1/drafts/{theirs.pk}", None),
        ("get", f"/api/v1/messages/{theirs.trigger_message_id}", None),
        ("post", f"/api/v1/drafts/{theirs.pk}/approve", {"text": "hijack"}),
        ("post", f"/api/v1/drafts/{theirs.pk}/reject", {"reason": "other"}),
    ]:
        response = getattr(api, method)(path, body)
        assert response.status_code == 404, path
        assert response.json() == {"error": "Not found.", "details": None}
    assert _state(theirs.pk) == before
    assert api.get("/api/v1/drafts").json() == {"items": [], "count": 0}


def test_malformed_ids_are_404_or_400_not_500(api, tenant):
    assert api.get("/api/v1/drafts/not-a-uuid").status_code in (400, 404)
    assert api.post("/api/v1/drafts/not-a-uuid/approve").status_code in (400, 404)


def _approve_with_edit(api, draft, text):
    assert api.post(f"/api/v1/drafts/{draft.pk}/approve", {"text": text}).status_code == 200


def test_learning_samples_export_streams_jsonl_with_filters(api, tenant, other_tenant):
    first = make_draft(tenant.workspace, tenant.email_channel, text="Hello there")
    second = make_draft(tenant.workspace, tenant.sms_channel, text="Hi")
    _approve_with_edit(api, first, "Hello there, Sam")
    _approve_with_edit(api, second, "Hi Sam")
    theirs = make_draft(other_tenant.workspace, other_tenant.email_channel, text="Yo")
    _approve_with_edit(ApiClient(other_tenant.token), theirs, "Yo!")
    LearningSample.objects.filter(draft=first).update(created_at=timezone.now() - timedelta(days=3))

    response = api.get("/api/v1/learning-samples.jsonl")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert [(row["original"], row["final"]) for row in lines] == [
        ("Hello there", "Hello there, Sam"),
        ("Hi", "Hi Sam"),
    ]
    assert lines[1]["lead_id"] == str(second.conversation.lead_id)
    assert lines[1]["channel_id"] == str(tenant.sms_channel.pk)
    assert lines[1]["diff"][-1]["after"] == " Sam"

    since = (timezone.now() - timedelta(days=1)).date().isoformat()
    recent = api.get(f"/api/v1/learning-samples.jsonl?since={since}")
    assert [json.loads(x)["final"] for x in b"".join(recent.streaming_content).splitlines()] == [
        "Hi Sam"
    ]
    older = api.get(f"/api/v1/learning-samples.jsonl?until={since}")
    assert [json.loads(x)["final"] for x in b"".join(older.streaming_content).splitlines()] == [
        "Hello there, Sam"
    ]
    assert api.get("/api/v1/learning-samples.jsonl?since=yesterday").status_code == 400
