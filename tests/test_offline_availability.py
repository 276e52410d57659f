"""Booking requests with the offline provider (issue 16): a time the lead proposes inside the
availability the knowledge states ("Monday to Saturday between 8am and 6pm") gets a reply
that says so and may go out on its own; any other time stays with a person. And the
evaluator does not take a draft that merely shares words with the question for an answer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from autosend.models import ScheduledSend
from drafts.models import Draft
from pipeline.llm.offline.drafting import meeting_gate
from pipeline.runner import pipeline_run_for_message
from pipeline.stages import evaluate_draft
from tests.pipeline_support import channel_of, demo_workspace, inbound
from workspaces.models import WorkspaceSettings

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    provisioned = demo_workspace()
    WorkspaceSettings.objects.filter(workspace=provisioned.workspace).update(
        auto_send_enabled=True, revision_enabled=True
    )
    return provisioned


def _drafted(demo, text: str, kind: str = "email") -> Draft:
    sent_at = timezone.now() - timedelta(minutes=20)
    message = inbound(channel_of(demo, kind), text, sent_at=sent_at)
    pipeline_run_for_message(message_id=message.pk)
    return Draft.objects.select_related("run").get(trigger_message=message)


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("Could we do a video call Tuesday morning?", "Tuesday morning"),
        ("Friday at 2pm works for a home visit", "The time you suggested on Friday"),
    ],
)
@pytest.mark.parametrize("kind", ["email", "sms"])
def test_a_time_inside_the_stated_availability_is_answered_and_sent(demo, text, when, kind):
    draft = _drafted(demo, text, kind)
    assert f"{when} is within our available hours" in draft.text
    assert "Monday to Saturday between 8am and 6pm" in draft.text or kind == "sms"
    assert "confirm" not in draft.text.lower()
    assert draft.held_reason == ""
    assert draft.auto_send_action == "send"
    assert ScheduledSend.objects.filter(draft=draft).exists()


@pytest.mark.parametrize(
    "text",
    [
        "Can we do a call Sunday afternoon?",  # not a day the knowledge names
        "Could you come by Thursday at 7pm?",  # after the stated hours
        "How about tomorrow morning for a call?",  # a relative day: someone has to read it
        "Can we meet Tuesday at 3?",  # morning or afternoon?
        "Can we do a call Saturday evening?",  # the office is closed; consultations end at 6pm
    ],
)
def test_any_other_proposed_time_stays_with_a_person(demo, text):
    draft = _drafted(demo, text)
    assert "within our available hours" not in draft.text
    assert draft.auto_send_action != "send"
    assert not ScheduledSend.objects.filter(draft=draft).exists()


def test_office_hours_are_not_meeting_hours(demo):
    """The Contact document's opening hours are not the Consultations document's: with no
    booking document stating hours, no proposed time is inside anything."""
    contact_only = [
        {
            "id": "c",
            "title": "Contact",
            "body": "Our office is open Monday to Friday 8am-6pm Mountain Time.",
        }
    ]
    decision = meeting_gate(
        {
            "extract": {
                "wants_meeting": True,
                "proposed_times": [
                    {"text": "Tuesday morning", "day": "tuesday", "part_of_day": "morning"}
                ],
            },
            "draft": "Tuesday morning is within our available hours.",
            "knowledge": contact_only,
        }
    )
    assert decision["decision"] == "review"


@pytest.mark.parametrize(
    "question",
    ["Can you install gutters too?", "Do you install heat pumps?"],
)
def test_sharing_a_common_word_is_not_answering(demo, question):
    """Every document of an installer says "install" or "panels": a service-area or warranty
    sentence shares that word with the question and answers nothing."""
    draft = _drafted(demo, question)
    result = evaluate_draft(
        run=draft.run,
        draft_text="Hi Sam,\n\nWe install in Arizona, Nevada, Utah and New Mexico. Panels carry "
        "a 25-year manufacturer warranty, inverters 12 years, and our workmanship warranty is "
        "10 years including roof penetrations.\n\nBest regards,\nAcme Solar",
        context_pack=draft.run.context_pack,
    )
    assert result.confidence < 0.85
    assert "unanswered_question" in [w.kind for w in result.weaknesses]
