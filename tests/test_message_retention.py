"""Message retention: the bodies of closed conversations older than the workspace's setting
are erased, exactly those, and everything else (ids, times, directions, drafts, timing)
stays, so the timing summary is the same before and after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.models import F
from django.utils import timezone

from drafts import signals, tasks
from drafts.models import (
    Conversation,
    Draft,
    DraftAction,
    InboundEvent,
    LearningSample,
    Message,
    Proposal,
)
from drafts.retention import erase_marker, message_retention_apply
from pipeline.models import PipelineRun
from tests.conftest import ApiClient
from tests.factories import PipelineRunFactory
from tests.timing_helpers import Thread
from timing.models import ResponseTimingEvent
from timing.processor import response_timing_process
from workspaces.models import JobRun, WorkspaceSettings
from workspaces.services import workspace_settings_update

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=40)
DAY = 86400
MARKER = "[erased 2026-11-22T10:00:00Z]"
SUMMARY = "/api/v1/timing/summary"
WINDOW = {"since": (OLD - timedelta(days=1)).isoformat(), "until": NOW.isoformat()}


def retain(workspace: Any, days: int | None) -> None:
    workspace_settings_update(
        workspace=workspace,
        actor=None,
        changes={"message_retention_days": days},
        source="test",
        system=True,
    )


@dataclass
class History:
    old: Thread  # quiet for 40 days: closed and erased
    recent: Thread  # started 40 days ago, last message 5 days ago: kept
    reopened: Thread  # closed earlier, then a message 1 day ago: kept
    theirs: Thread  # another workspace, retention off: kept
    first: Message  # the old thread's first inbound message, with every copy of its text
    draft: Draft


def _thread_with_copies(tenant: Any) -> tuple[Thread, Message, Draft]:
    old = Thread.start(tenant.workspace, tenant.email_channel, base=OLD)
    Conversation.objects.filter(pk=old.conversation.pk).update(subject="Roof quote for 12 Elm St")
    first = old.inbound(0)
    Message.objects.filter(pk=first.pk).update(
        subject="Roof quote for 12 Elm St",
        body_text="Hi, I'm Ada at 12 Elm St, call me on 555-0101.",
        body_html="<p>Hi, I'm Ada at 12 Elm St</p>",
    )
    InboundEvent.objects.create(
        channel=tenant.email_channel, body='{"message": {"body_text": "Hi, I\'m Ada"}}',
        status="processed", message=first,
    )  # fmt: skip
    Proposal.objects.create(
        workspace=tenant.workspace, lead=old.lead, message=first, batch_id=first.pk,
        field="phone", proposed_value="555-0101", source_text="call me on 555-0101",
    )  # fmt: skip
    PipelineRunFactory(trigger_message=first, context_pack={"thread": ["Hi, I'm Ada…"]})
    old.ai(30, trigger=first, delay=(10, 60), started=29, finished=30)
    draft = Draft.objects.get(trigger_message=first)
    action = DraftAction.objects.create(
        draft=draft, user=tenant.operator, kind="edit", final_text="Hi Ada, yes.", diff=[["x"]]
    )
    LearningSample.objects.create(
        workspace=tenant.workspace, draft=draft, lead=old.lead, channel=old.channel,
        original="Hi, yes.", final=action.final_text,
    )  # fmt: skip
    old.setter(60, user=tenant.rep)
    old.inbound(120)
    return old, first, draft


@pytest.fixture
def history(tenant: Any, other_tenant: Any) -> History:
    retain(tenant.workspace, 30)
    old, first, draft = _thread_with_copies(tenant)

    recent = Thread.start(tenant.workspace, tenant.sms_channel, base=OLD)
    recent.inbound(0)
    recent.setter(300, user=tenant.rep)
    recent.inbound(35 * DAY)

    reopened = Thread.start(tenant.workspace, tenant.email_channel, base=OLD)
    reopened.inbound(0)
    reopened.setter(20, user=tenant.operator)
    reopened.inbound(39 * DAY)
    Conversation.objects.filter(pk=reopened.conversation.pk).update(status="closed")

    theirs = Thread.start(other_tenant.workspace, other_tenant.email_channel, base=OLD)
    theirs.inbound(0)
    theirs.setter(5, user=other_tenant.rep)

    # The messages arrived when they were sent.
    Message.objects.update(received_at=F("sent_at"))
    response_timing_process(settle=timedelta(0))
    return History(old, recent, reopened, theirs, first, draft)


MESSAGE_KEEP = [
    "id", "workspace_id", "channel_id", "conversation_id", "lead_id", "direction",
    "sender_kind", "sender_user_id", "sender_email", "external_id", "sent_at", "received_at",
    "draft_id", "transport_message_id",
]  # fmt: skip
TEXT = ["subject", "body_text", "body_html", "body_erased_at"]


def snapshot() -> dict[str, Any]:
    timing_fields = [
        f.attname for f in ResponseTimingEvent._meta.concrete_fields if f.attname != "computed_at"
    ]
    return {
        "messages": set(Message.objects.values_list(*MESSAGE_KEEP)),
        "texts": {m[0]: m[1:] for m in Message.objects.values_list("id", *TEXT)},
        "drafts": list(Draft.objects.order_by("pk").values_list()),
        "actions": set(DraftAction.objects.values_list("id", "kind", "final_text", "user_id")),
        "samples": set(LearningSample.objects.values_list("id", "original", "final")),
        "timing": set(ResponseTimingEvent.objects.values_list(*timing_fields)),
        "events": dict(InboundEvent.objects.values_list("id", "body")),
        "proposals": dict(Proposal.objects.values_list("id", "source_text")),
        "packs": dict(PipelineRun.objects.values_list("id", "context_pack")),
    }


def test_retention_erases_exactly_the_bodies_due_and_keeps_everything_else(
    history: History, tenant: Any, api: ApiClient
) -> None:
    before = snapshot()
    summary_before = api.get(SUMMARY, WINDOW).json()
    assert summary_before["setter"]["count"] == 3

    result = message_retention_apply(workspace=tenant.workspace, now=NOW)

    after = snapshot()
    erased = {m.pk for m in history.old.messages}
    assert len(erased) == 4  # two inbound, the AI's reply and the setter's
    assert result.erased.messages == 4
    # The erased messages: text gone, a marker with the erase time in its place.
    for message_id in erased:
        assert after["texts"][message_id] == ("", MARKER, "", NOW)
    # Every other message exactly as it was.
    assert {k: v for k, v in after["texts"].items() if k not in erased} == {
        k: v for k, v in before["texts"].items() if k not in erased
    }
    # Ids, times, directions, senders, external ids, drafts: untouched, erased or not.
    for kept in ("messages", "drafts", "actions", "samples", "timing"):
        assert after[kept] == before[kept], kept
    # The other copies of the erased text.
    event = InboundEvent.objects.get(message=history.first)
    assert after["events"] == {**before["events"], event.pk: MARKER}
    proposal = Proposal.objects.get(message=history.first)
    assert after["proposals"] == {**before["proposals"], proposal.pk: ""}
    run = PipelineRun.objects.get(trigger_message=history.first)
    assert after["packs"] == {**before["packs"], run.pk: None}
    # Conversations: the quiet one closed (subject gone); the others as they were.
    states = dict(Conversation.objects.values_list("pk", "status"))
    assert states == {
        history.old.conversation.pk: "closed",
        history.recent.conversation.pk: "open",
        history.reopened.conversation.pk: "closed",
        history.theirs.conversation.pk: "open",
    }
    assert Conversation.objects.get(pk=history.old.conversation.pk).subject == ""
    # The timing summary the API gives is the same, and so after the next beat tick.
    assert api.get(SUMMARY, WINDOW).json() == summary_before
    response_timing_process(settle=timedelta(0))
    assert snapshot()["timing"] == before["timing"]
    assert api.get(SUMMARY, WINDOW).json() == summary_before
    # And the job says what it did.
    job = JobRun.objects.get()
    assert (job.type, job.workspace_id, job.status) == (
        "message_retention",
        tenant.workspace.pk,
        "succeeded",
    )
    assert {k: v for k, v in job.metrics.items() if k != "duration_ms"} == {
        "rows_processed": 4,
        "retention_days": 30,
        "batches": 1,
        "conversations_closed": 1,
        "messages_erased": 4,
        "events_erased": 1,
        "proposal_excerpts_erased": 1,
        "run_context_packs_erased": 1,
        "conversation_subjects_erased": 1,
        "more": 0,
    }


def test_a_second_run_erases_nothing_more(history: History, tenant: Any) -> None:
    message_retention_apply(workspace=tenant.workspace, now=NOW)
    first = snapshot()

    result = message_retention_apply(workspace=tenant.workspace, now=NOW + timedelta(hours=1))

    assert (result.conversations_closed, result.erased.messages) == (0, 0)
    assert snapshot() == first


def test_a_message_after_the_erase_is_kept_until_the_thread_is_quiet_again(
    history: History, tenant: Any
) -> None:
    message_retention_apply(workspace=tenant.workspace, now=NOW)
    late = history.old.inbound((40 * DAY) - 3600)  # an hour before NOW
    Message.objects.filter(pk=late.pk).update(received_at=F("sent_at"), body_text="I'm back!")

    message_retention_apply(workspace=tenant.workspace, now=NOW + timedelta(days=29))
    assert Message.objects.get(pk=late.pk).body_text == "I'm back!"

    message_retention_apply(workspace=tenant.workspace, now=NOW + timedelta(days=31))
    late.refresh_from_db()
    assert late.body_text == erase_marker(NOW + timedelta(days=31))


def test_retention_is_off_by_default(history: History, other_tenant: Any) -> None:
    before = snapshot()
    assert (
        WorkspaceSettings.objects.get(workspace=other_tenant.workspace).message_retention_days
        is None
    )

    result = message_retention_apply(workspace=other_tenant.workspace, now=NOW)

    assert result.erased.messages == 0
    assert snapshot() == before
    assert not JobRun.objects.exists()


def test_a_message_received_recently_keeps_its_thread_open_whatever_its_sent_at(
    tenant: Any,
) -> None:
    """A sender's clock can be wrong: a message dated 40 days ago that arrived today counts."""
    retain(tenant.workspace, 30)
    thread = Thread.start(tenant.workspace, tenant.email_channel, base=OLD)
    message = thread.inbound(0)
    Message.objects.filter(pk=message.pk).update(received_at=NOW - timedelta(hours=2))

    result = message_retention_apply(workspace=tenant.workspace, now=NOW)

    assert (result.conversations_closed, result.erased.messages) == (0, 0)
    assert Message.objects.get(pk=message.pk).body_erased_at is None


def test_large_backlogs_go_in_batches_and_the_task_queues_itself_again(
    tenant: Any, other_tenant: Any, monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    retain(tenant.workspace, 30)
    for _ in range(5):
        Thread.start(tenant.workspace, tenant.email_channel, base=OLD).inbound(0)
    Message.objects.update(received_at=F("sent_at"))
    monkeypatch.setattr("drafts.retention.RETENTION_BATCH_SIZE", 2)
    monkeypatch.setattr("drafts.retention.RETENTION_MAX_BATCHES", 2)

    with django_capture_on_commit_callbacks() as callbacks:
        tasks.apply_message_retention()
    assert len(callbacks) == 1  # one workspace has retention on
    with django_capture_on_commit_callbacks() as callbacks:
        tasks.apply_message_retention_for(str(tenant.workspace.pk))
    assert len(callbacks) == 1  # four of five erased: more to do
    assert Message.objects.filter(body_erased_at__isnull=False).count() == 4
    with django_capture_on_commit_callbacks() as callbacks:
        tasks.apply_message_retention_for(str(tenant.workspace.pk))
    assert callbacks == []
    assert not Message.objects.filter(body_erased_at__isnull=True).exists()
    jobs = JobRun.objects.order_by("created_at")
    assert [
        (j.metrics["batches"], j.metrics["messages_erased"], j.metrics["more"]) for j in jobs
    ] == [
        (2, 4, 1),
        (1, 1, 0),
    ]


def test_the_task_returns_quietly_for_a_workspace_that_is_gone(db: None) -> None:
    tasks.apply_message_retention_for("00000000-0000-7000-8000-000000000000")
    assert not JobRun.objects.exists()


def test_the_marker_says_when_in_utc() -> None:
    moment = timezone.make_aware(
        datetime(2026, 11, 22, 11, 0), timezone=timezone.get_fixed_timezone(60)
    )
    assert erase_marker(moment) == MARKER


def test_erasing_without_pipeline_listening_fails_instead_of_keeping_the_text(
    history: History, tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pipeline erases its run's copy of the thread on `drafts.signals.messages_erased`; with
    nothing connected, retention stops (and rolls back) rather than leave that copy behind."""
    monkeypatch.setattr(signals.messages_erased, "receivers", [])
    monkeypatch.setattr(signals.messages_erased, "sender_receivers_cache", {})
    with pytest.raises(ImproperlyConfigured, match="messages_erased"):
        message_retention_apply(workspace=tenant.workspace, now=NOW)
    assert Message.objects.filter(body_erased_at__isnull=False).count() == 0
    assert PipelineRun.objects.filter(context_pack__isnull=False).exists()
