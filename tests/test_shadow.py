"""Shadow evaluation as people meet it: a workspace with auto-send off still gets every draft
evaluated, nothing is sent, and the verdict shows in the API, the queue, the draft page and
the /ops/ evidence (would-send rate, and how often those drafts were approved unchanged)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from autosend.delivery import scheduled_sends_deliver_due
from autosend.models import AutoSendVerdict, ScheduledSend
from autosend.shadow import shadow_figures
from drafts.models import Draft, DraftAction, Message
from pipeline import stages
from pipeline.llm import LLMPermanentError
from pipeline.models import PipelineArtifact, Stage
from pipeline.runner import pipeline_run_for_message
from tests.conftest import ApiClient, build_tenant
from tests.ops_builders import make_draft, review
from tests.pipeline_support import channel_of, demo_workspace, inbound

PRICING = "Hi, roughly how much would a 7kW system cost?"
LEGAL = "This violates the TCPA, expect a lawsuit."

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo() -> Any:
    return demo_workspace()  # auto-send off, as every new workspace


def drafted(demo: Any, text: str) -> Draft:
    message = inbound(
        channel_of(demo, "email"), text, sent_at=timezone.now() - timedelta(minutes=30)
    )
    pipeline_run_for_message(message_id=message.pk)
    return Draft.objects.get(trigger_message=message)


def operator_of(demo: Any) -> Client:
    client = Client()
    client.force_login(demo.workspace.memberships.get(user__email__startswith="operator@").user)
    return client


def test_auto_send_off_still_scores_every_draft_and_sends_nothing(demo):
    confident = drafted(demo, PRICING)
    blocked = drafted(demo, LEGAL)
    assert scheduled_sends_deliver_due().outcomes == {}
    assert not ScheduledSend.objects.exists()
    assert not Message.objects.filter(direction=Message.Direction.OUTBOUND).exists()
    assert {d.status for d in (confident, blocked)} == {Draft.Status.PENDING}
    assert confident.auto_send_confidence == 0.92

    api = ApiClient(demo.api_token)
    items = {i["id"]: i["auto_send"] for i in api.get("/api/v1/drafts").json()["items"]}
    shown = items[str(confident.pk)]
    assert (shown["confidence"], shown["would_send"], shown["shadow"]) == (0.92, True, True)
    assert shown["reason_code"] == "confident"
    assert shown["reason"].startswith("confidence 0.92 reaches the threshold 0.85")
    assert shown["action"] == "none"  # auto-send itself did nothing
    held = items[str(blocked.pk)]
    assert (held["confidence"], held["would_send"], held["reason_code"]) == (
        None,
        False,
        "blocked",
    )
    assert held["reason"] == "held because the safety gate blocked it: Legal threat"
    detail = api.get(f"/api/v1/drafts/{confident.pk}").json()["auto_send"]
    assert (detail["confidence"], detail["would_send"]) == (0.92, True)


def test_a_failed_shadow_evaluation_fails_closed(demo, monkeypatch):
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise LLMPermanentError("refusal")

    monkeypatch.setattr(stages, "draft_evaluate", refuse)
    draft = drafted(demo, PRICING)
    assert (draft.status, draft.auto_send_confidence) == (Draft.Status.PENDING, None)
    verdict = AutoSendVerdict.objects.get(draft=draft)
    assert (verdict.would_send, verdict.would_send_reason) == (False, "evaluation_error")
    error = PipelineArtifact.objects.get(run_id=draft.run_id, stage=Stage.LOOP_ERROR)
    assert (error.payload["stage"], error.payload["outcome"]) == (Stage.EVALUATION, "refusal")
    assert not ScheduledSend.objects.exists()
    shown = ApiClient(demo.api_token).get(f"/api/v1/drafts/{draft.pk}").json()["auto_send"]
    assert (shown["would_send"], shown["reason"]) == (False, "held because the evaluation failed")


def test_the_queue_and_the_draft_page_show_the_confidence_and_the_verdict(demo):
    confident = drafted(demo, PRICING)
    blocked = drafted(demo, LEGAL)
    client = operator_of(demo)

    queue = client.get("/").content.decode()
    row = queue[queue.index(f'id="row-{confident.pk}"') :]
    row = row[: row.index("</tr>")]
    assert ">0.92</span>" in row
    assert 'data-testid="would-send"' in row
    other = queue[queue.index(f'id="row-{blocked.pk}"') :]
    assert 'data-testid="would-send"' not in other[: other.index("</tr>")]

    page = client.get(f"/drafts/{confident.pk}").content.decode()
    assert "Would have been sent automatically: <strong>yes</strong> — confidence 0.92" in page
    assert "not evaluated" not in page
    page = client.get(f"/drafts/{blocked.pk}").content.decode()
    assert "Would have been sent automatically: <strong>no</strong> — held because" in page
    assert "Legal threat" in page
    assert "legal_threat" not in page.split('data-testid="shadow-verdict"')[1].split("</dd>")[0]


# --- /ops/ evidence ---------------------------------------------------------------------


def verdict(draft: Draft, *, would_send: bool, at: Any, shadow: bool = True) -> None:
    AutoSendVerdict.objects.create(
        workspace=draft.workspace,
        draft=draft,
        shadow=shadow,
        confidence=0.9 if would_send else 0.5,
        threshold=0.85,
        would_send=would_send,
        would_send_reason="confident" if would_send else "below_threshold",
    )
    AutoSendVerdict.objects.filter(draft=draft).update(created_at=at)


def test_ops_figures_count_would_send_drafts_and_their_unchanged_approvals(tenant, other_tenant):
    now = timezone.now()
    recent, older, ancient = (
        now - timedelta(days=2),
        now - timedelta(days=20),
        now - timedelta(days=40),
    )
    ch, op = tenant.email_channel, tenant.operator

    def one(would_send: bool, at: Any, *decisions: str) -> Draft:
        draft = make_draft(ch, created_at=at)
        verdict(draft, would_send=would_send, at=at)
        for i, kind in enumerate(decisions):
            review(draft, op, kind, at=at + timedelta(minutes=i + 1), final_text="x")
        return draft

    # Last 7 days: 3 would send (approved unchanged; edited; undone then approved unchanged),
    # 1 would not (approved unchanged: not part of the approval rate).
    one(True, recent, DraftAction.Kind.APPROVE)
    one(True, recent, DraftAction.Kind.EDIT)
    one(True, recent, DraftAction.Kind.APPROVE, DraftAction.Kind.UNDO, DraftAction.Kind.APPROVE)
    one(False, recent, DraftAction.Kind.APPROVE)
    # 8 to 30 days: would send, rejected after an approval was undone; and one not reviewed.
    one(True, older, DraftAction.Kind.APPROVE, DraftAction.Kind.UNDO, DraftAction.Kind.REJECT)
    one(True, older)
    # Outside both windows, and another workspace: not counted.
    one(True, ancient, DraftAction.Kind.APPROVE)
    elsewhere = make_draft(other_tenant.email_channel, created_at=recent)
    verdict(elsewhere, would_send=True, at=recent)

    figures = shadow_figures(workspace_ids=[tenant.workspace.pk], now=now)[tenant.workspace.pk]
    week, month = figures
    assert (week.window, week.evaluated, week.would_send) == ("7d", 4, 3)
    assert (week.reviewed, week.approved_unchanged) == (3, 2)
    assert week.would_send_rate == 0.75
    assert week.approved_unchanged_rate == pytest.approx(2 / 3)
    assert (month.window, month.evaluated, month.would_send) == ("30d", 6, 5)
    assert (month.reviewed, month.approved_unchanged) == (4, 2)
    assert month.approved_unchanged_rate == 0.5

    empty = shadow_figures(workspace_ids=[other_tenant.workspace.pk], now=now - timedelta(days=9))
    assert [(f.evaluated, f.would_send_rate) for f in empty[other_tenant.workspace.pk]] == [
        (0, None),
        (0, None),
    ]


def test_ops_workspace_page_and_auto_send_confirmation_show_the_evidence(
    client, tenant, superadmin
):
    now = timezone.now()
    for would_send, kind in [(True, "approve"), (True, "edit"), (False, "approve")]:
        draft = make_draft(tenant.email_channel, created_at=now - timedelta(days=1))
        verdict(draft, would_send=would_send, at=now - timedelta(days=1))
        review(draft, tenant.operator, kind, at=now, final_text="x")
    client.force_login(superadmin)

    pages = [
        client.get(f"/ops/workspaces/{tenant.workspace.pk}/"),
        client.post(
            f"/ops/workspaces/{tenant.workspace.pk}/toggle/",
            {"field": "auto_send_enabled", "value": "on"},
        ),
    ]
    for response in pages:
        assert response.status_code == 200
        page = response.content.decode()
        week = page.split('data-testid="would-send-7d">')[1].split("</td>")[0]
        assert "67%" in week
        assert "2 of 3 drafts" in week
        approved = page.split('data-testid="approved-unchanged-7d">')[1].split("</td>")[0]
        assert "50%" in approved
        assert "1 of 2 reviewed" in approved


def test_ops_overview_lists_each_workspaces_30_day_shadow_figures(
    client, tenant, other_tenant, superadmin
):
    now = timezone.now()
    # 20 days ago: outside the workspace page's 7 days, inside the overview's 30.
    for would_send, kind in [(True, "approve"), (True, "edit"), (True, None), (False, "approve")]:
        draft = make_draft(tenant.email_channel, created_at=now - timedelta(days=20))
        verdict(draft, would_send=would_send, at=now - timedelta(days=20))
        if kind:
            review(draft, tenant.operator, kind, at=now - timedelta(days=19), final_text="x")
    client.force_login(superadmin)

    page = client.get("/ops/").content.decode()

    def cell(slug: str) -> str:
        return page.split(f'data-testid="ws-shadow-{slug}">')[1].split("</td>")[0]

    acme = cell(tenant.workspace.slug)
    assert "75%" in acme
    assert "3 of 4 drafts" in acme
    assert "50% approved unchanged" in acme
    assert "(1 of 2)" in acme
    quiet = cell(other_tenant.workspace.slug)
    assert "0 of 0 drafts" in quiet
    assert "none reviewed" in quiet


def test_ops_overview_reads_the_shadow_figures_in_one_query_for_the_page(
    client, tenant, superadmin
):
    client.force_login(superadmin)

    def verdict_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/ops/").status_code == 200
        return sum('FROM "autosend_autosendverdict"' in q["sql"] for q in queries)

    assert verdict_queries() == 1
    for name in ("Beta", "Gamma"):
        other = build_tenant(name)
        draft = make_draft(other.email_channel, created_at=timezone.now())
        verdict(draft, would_send=True, at=timezone.now())
    assert verdict_queries() == 1
