"""The draft pipeline end to end with the offline provider: grounded drafts, every stage
recorded once, idempotent re-runs and resumes, aborts, proposals, notifications."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from drafts.models import Draft, Notification, Proposal
from pipeline.models import AIInteraction, PipelineArtifact, PipelineRun, Stage
from pipeline.runner import pipeline_run_for_message
from tests.pipeline_support import (
    channel_of,
    demo_workspace,
    dev_rows,
    inbound,
    numbers_and_links,
)

DRAFT_STAGES = [
    Stage.STRATEGY,
    Stage.GENERATION,
    Stage.VERIFIER,
    Stage.MEETING_EXTRACT,
    Stage.MEETING_GATE,
]
# With auto-send off (the demo workspace) the draft is still evaluated once, in shadow
# (autosend/shadow.py): one more artifact and telemetry row after the drafting stages.
RUN_STAGES = [*DRAFT_STAGES, Stage.EVALUATION]

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    return demo_workspace()


@pytest.mark.parametrize("kind", ["email", "sms"])
def test_dev_set_drafts_cite_sources_and_invent_no_numbers(demo, kind):
    channel = channel_of(demo, kind)
    for row in dev_rows():
        message = inbound(channel, row["text"])
        run = pipeline_run_for_message(message_id=message.pk)
        assert run is not None
        assert run.status == PipelineRun.Status.COMPLETED, row["id"]
        if row["category"] in ("auto_reply", "bounce"):
            # The hard-block gate: nothing to answer, so no draft and no LLM call.
            assert not Draft.objects.filter(trigger_message=message).exists(), row["id"]
            assert not PipelineArtifact.objects.filter(run=run).exists(), row["id"]
            continue
        draft = Draft.objects.get(trigger_message=message)
        assert draft.status == Draft.Status.PENDING
        if row["label"] == "may_autosend":
            assert len(draft.sources) >= 1, row["id"]
        by_id = {str(doc.pk): doc for doc in demo.workspace.knowledge_documents.all()}
        cited = [by_id[source["id"]] for source in draft.sources]
        for source in draft.sources:
            assert source == {
                "id": source["id"],
                "title": by_id[source["id"]].title,
                "url": by_id[source["id"]].source_url,
            }
        allowed: set[str] = set()
        for doc in cited:
            allowed |= numbers_and_links(f"{doc.title} {doc.body} {doc.source_url}")
        invented = numbers_and_links(draft.text) - allowed
        assert invented == set(), (row["id"], invented, draft.text)
        if kind == "sms":
            assert len(draft.text) <= 320, row["id"]


def test_a_pricing_question_is_answered_from_the_pricing_document(demo):
    message = inbound(channel_of(demo, "email"), "Hi, roughly how much would a 7kW system cost?")
    pipeline_run_for_message(message_id=message.pk)
    draft = Draft.objects.get(trigger_message=message)
    assert "A typical 7 kW system is about $19,000" in draft.text
    assert [s["title"] for s in draft.sources] == ["Pricing"]
    assert draft.unsupported is False
    assert draft.held_reason == ""
    assert draft.original_text == draft.text
    assert (draft.prompt_key, draft.prompt_version) == ("draft_generation", "v1")


def test_every_stage_writes_one_artifact_and_one_telemetry_row(demo):
    message = inbound(channel_of(demo, "sms"), "Do you install in Reno Nevada?")
    run = pipeline_run_for_message(message_id=message.pk)
    artifacts = list(PipelineArtifact.objects.filter(run=run).order_by("id"))
    assert [a.stage for a in artifacts] == RUN_STAGES
    for artifact in artifacts:
        assert artifact.iteration == 0
        assert artifact.prompt_version == "v1"
        assert artifact.prompt_key != ""
        assert artifact.model == "offline-rules-v1"
        assert artifact.input_tokens > 0
        assert artifact.output_tokens > 0
    rows = AIInteraction.objects.filter(run=run)
    assert sorted(rows.values_list("stage", flat=True)) == sorted(RUN_STAGES)
    assert set(rows.values_list("outcome", "provider", "attempt")) == {("ok", "offline", 1)}
    run.refresh_from_db()
    assert run.finished_at is not None
    pack = run.context_pack
    assert set(pack["sections"]) == {
        "thread",
        "lead",
        "knowledge",
        "learning_samples",
        "guidelines",
    }
    assert pack["sections"]["knowledge"]["items"][0]["title"] == "Service area"
    assert pack["sections"]["knowledge"]["tokens"] > 0
    assert pack["max_chars"] == 320
    assert pack["total_tokens"] >= pack["sections"]["knowledge"]["tokens"]


def test_the_same_message_twice_is_one_run_with_one_set_of_artifacts(demo):
    message = inbound(channel_of(demo, "email"), "What warranty comes with the panels?")
    first = pipeline_run_for_message(message_id=message.pk)
    second = pipeline_run_for_message(message_id=message.pk)
    assert first is not None
    assert second is not None
    assert first.pk == second.pk
    assert PipelineRun.objects.count() == 1
    assert PipelineArtifact.objects.filter(run=first).count() == 6
    assert AIInteraction.objects.filter(run=first).count() == 6
    assert Draft.objects.filter(trigger_message=message).count() == 1
    assert Notification.objects.filter(kind=Notification.Kind.DRAFT_NEEDS_REVIEW).count() == 1


def test_a_crashed_run_resumes_reusing_what_it_wrote(demo):
    message = inbound(channel_of(demo, "email"), "Is there a lease option?")
    run = pipeline_run_for_message(message_id=message.pk)
    early = {
        a.stage: a.pk
        for a in PipelineArtifact.objects.filter(
            run=run, stage__in=[Stage.STRATEGY, Stage.GENERATION, Stage.VERIFIER]
        )
    }
    # The state a worker leaves when it dies after the first stage group committed.
    Draft.objects.filter(run=run).delete()
    Notification.objects.all().delete()
    PipelineArtifact.objects.filter(run=run).exclude(pk__in=early.values()).delete()
    PipelineRun.objects.filter(pk=run.pk).update(status="running", finished_at=None)

    resumed = pipeline_run_for_message(message_id=message.pk)

    assert resumed is not None
    assert resumed.pk == run.pk
    resumed.refresh_from_db()
    assert resumed.status == PipelineRun.Status.COMPLETED
    assert resumed.attempts == 2
    artifacts = PipelineArtifact.objects.filter(run=run)
    assert artifacts.count() == 6
    assert {a.stage: a.pk for a in artifacts if a.stage in early} == early
    # Only the two stages that were missing were asked again, and the shadow evaluation
    # of the new draft.
    assert AIInteraction.objects.filter(run=run).count() == 6 + 2 + 1
    draft = Draft.objects.get(trigger_message=message)
    assert "20-year lease" in draft.text


def test_a_newer_inbound_message_aborts_the_run(demo):
    channel = channel_of(demo, "email")
    older = inbound(channel, "Is there a lease option?")
    inbound(
        channel,
        "Also, what warranty do you give?",
        conversation=older.conversation,
        sent_at=older.sent_at + timedelta(seconds=30),
    )
    run = pipeline_run_for_message(message_id=older.pk)
    assert run is not None
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.ABORTED
    assert run.finished_at is not None
    assert not Draft.objects.filter(trigger_message=older).exists()
    assert pipeline_run_for_message(message_id=older.pk).status == PipelineRun.Status.ABORTED
    assert PipelineRun.objects.count() == 1


def test_a_newer_message_drafted_supersedes_the_older_draft(demo):
    channel = channel_of(demo, "email")
    older = inbound(channel, "Is there a lease option?")
    pipeline_run_for_message(message_id=older.pk)
    newer = inbound(
        channel,
        "And what warranty do you give?",
        conversation=older.conversation,
        sent_at=older.sent_at + timedelta(minutes=2),
    )
    pipeline_run_for_message(message_id=newer.pk)
    assert Draft.objects.get(trigger_message=older).status == Draft.Status.SUPERSEDED
    assert Draft.objects.get(trigger_message=newer).status == Draft.Status.PENDING


def test_a_specific_meeting_time_holds_the_draft_for_review(demo):
    # Sunday: outside the availability the knowledge states (Monday to Saturday), so a
    # person confirms it (a time inside it: tests/test_offline_availability.py).
    message = inbound(channel_of(demo, "sms"), "Sounds good, can we do a call Sunday afternoon?")
    run = pipeline_run_for_message(message_id=message.pk)
    draft = Draft.objects.get(trigger_message=message)
    assert "Sunday afternoon" in draft.held_reason
    gate = PipelineArtifact.objects.get(run=run, stage=Stage.MEETING_GATE)
    assert gate.payload["decision"] == "review"
    extract = PipelineArtifact.objects.get(run=run, stage=Stage.MEETING_EXTRACT)
    assert extract.payload["wants_meeting"] is True
    assert extract.payload["mode"] == "call"
    assert extract.payload["proposed_times"][0]["day"] == "sunday"
    assert "https://acmesolar.example/book" in draft.text or "consultation" in draft.text.lower()


def test_facts_the_lead_states_become_one_pending_batch(demo):
    channel = channel_of(demo, "email")
    message = inbound(
        channel,
        "Hi, my new email is ada.park@initech.example. I'm the head of operations at "
        "Initech, and I'm on Pacific time. How much extra is a battery?",
    )
    lead = message.lead
    before = (lead.email, lead.company, lead.title, lead.timezone)
    pipeline_run_for_message(message_id=message.pk)
    pipeline_run_for_message(message_id=message.pk)
    proposals = {p.field: p for p in Proposal.objects.filter(message=message)}
    assert set(proposals) == {"email", "title", "company", "timezone"}
    assert proposals["email"].proposed_value == "ada.park@initech.example"
    assert proposals["email"].previous_value == before[0]
    assert proposals["title"].proposed_value == "head of operations"
    assert proposals["company"].proposed_value == "Initech"
    assert proposals["timezone"].proposed_value == "America/Los_Angeles"
    assert "ada.park@initech.example" in proposals["email"].source_text
    assert len({p.batch_id for p in proposals.values()}) == 1
    assert {p.status for p in proposals.values()} == {Proposal.Status.PENDING}
    lead.refresh_from_db()
    assert (lead.email, lead.company, lead.title, lead.timezone) == before


def test_a_question_without_facts_proposes_nothing(demo):
    message = inbound(channel_of(demo, "email"), "Can you email sales@acmesolar.example?")
    pipeline_run_for_message(message_id=message.pk)
    assert Proposal.objects.count() == 0


def test_unknown_or_outbound_messages_are_ignored(demo):
    assert pipeline_run_for_message(message_id="not-a-uuid") is None
    assert pipeline_run_for_message(message_id="0190aaaa-0000-7000-8000-000000000000") is None
    message = inbound(channel_of(demo, "email"), "hello")
    message.direction = "outbound"
    message.sender_kind = "user"
    message.save()
    assert pipeline_run_for_message(message_id=message.pk) is None
    assert PipelineRun.objects.count() == 0


def test_no_message_text_reaches_telemetry_or_logs(demo, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "zebrawalrus"
    message = inbound(
        channel_of(demo, "email"),
        f"My code word is {secret}. Call me on 702-555-0199, how much is a battery?",
    )
    run = pipeline_run_for_message(message_id=message.pk)
    assert run is not None
    assert run.status == PipelineRun.Status.COMPLETED
    for row in AIInteraction.objects.filter(run=run).values():
        for value in row.values():
            assert secret not in str(value)
            assert "555-0199" not in str(value)
    assert secret not in caplog.text
    assert "555-0199" not in caplog.text


def test_a_message_costs_a_fixed_small_number_of_statements(demo, django_assert_num_queries):
    channel = channel_of(demo, "email")
    pipeline_run_for_message(message_id=inbound(channel, "Is there a lease option?").pk)
    first = inbound(channel, "Hi, my new email is sam@rivera.example. Any battery prices?")
    # message, thread, knowledge, samples, run (created with its lease), first stage
    # group's artifacts; then in one transaction artifacts, telemetry, newer-message check,
    # run completed (the lease holder's compare-and-swap), draft, proposals, notification:
    # 13. No lock statements: the lease is a column of the run. Then the shadow evaluation
    # (auto-send is off) in one transaction: its artifact and telemetry, the draft's
    # confidence, the verdict: 4 more. Inside the test's transaction the three atomic
    # blocks add a SAVEPOINT and a RELEASE each (in production the run INSERT has none and
    # the others are BEGIN/COMMIT, which Django does not count).
    with django_assert_num_queries(13 + 4 + 6):
        pipeline_run_for_message(message_id=first.pk)
    # A follow-up in the same conversation states no facts, but supersedes the open draft
    # and calls off its scheduled sends: two UPDATEs.
    follow_up = inbound(
        channel,
        "And what warranty do you give?",
        conversation=first.conversation,
        sent_at=first.sent_at + timedelta(minutes=1),
    )
    with django_assert_num_queries(14 + 4 + 6):
        pipeline_run_for_message(message_id=follow_up.pk)
    assert Draft.objects.get(trigger_message=first).status == Draft.Status.SUPERSEDED


@pytest.mark.parametrize(
    ("text", "source"),
    [
        ("What would the monthly payments look like on a loan?", "Financing"),
        ("Do you serve Albuquerque?", "Service area"),
        ("How long is the workmanship guarantee?", "Warranty"),
        ("Can I add a Powerwall, and what does it cost?", "Batteries"),
        ("Could somebody come out to my house next week for a quote?", "Consultations"),
        ("what number can I call you on", "Contact"),
    ],
)
def test_questions_phrased_afresh_are_answered_from_the_right_document(demo, text, source):
    message = inbound(channel_of(demo, "sms"), text)
    pipeline_run_for_message(message_id=message.pk)
    draft = Draft.objects.get(trigger_message=message)
    assert source in [s["title"] for s in draft.sources], draft.text
    assert len(draft.text) <= 320


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("pls quit texting me", "opt_out"),
        ("I'm going to report you to the FCC", "legal"),
        ("Is a human reading this?", "human_request"),
        ("Sorry, wrong number", "wrong_person"),
        ("We're dealing with a cancer diagnosis in the family right now", "sensitive"),
        ("Will you match Tesla's quote? They offered $1.90/W", "commitment_request"),
    ],
)
def test_messages_for_a_person_get_a_short_holding_reply(demo, text, intent):
    message = inbound(channel_of(demo, "email"), text)
    run = pipeline_run_for_message(message_id=message.pk)
    strategy = PipelineArtifact.objects.get(run=run, stage=Stage.STRATEGY).payload
    assert strategy["intent"] == intent
    draft = Draft.objects.get(trigger_message=message)
    assert "$" not in draft.text or intent == "commitment_request"
