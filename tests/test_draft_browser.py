"""The draft page in headless Chromium: the hold is let go when the page is left and renewed
while it stays open, a blocked draft asks for a confirmation, the conversation is assigned
from the page, Undo stops an approved reply, and after a reject the operator writes the
reply themselves. Screenshots at 1366 and 390 px go to test-artifacts/, and with
UPDATE_DOC_SCREENSHOTS=1 to docs/screenshots/ (committed), so a plain run changes no file."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from autosend.models import ScheduledSend
from drafts.models import ConversationAssignment, Draft, DraftAction, Message
from pipeline.models import Stage
from tests.factories import (
    LeadFactory,
    MessageFactory,
    PipelineArtifactFactory,
    PipelineRunFactory,
    make_draft,
)
from tests.test_browser_review import Session, browser  # noqa: F401 - the fixture
from workspaces.models import WorkspaceSettings

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"


def _eventually(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Wait for something the browser does in the background (a beacon, a renewal)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.1)


def _held_by(draft: Draft) -> Any:
    return Draft.objects.filter(pk=draft.pk).values_list("held_by_id", flat=True).get()


def _sam(tenant: Any) -> Draft:
    sam = LeadFactory(
        workspace=tenant.workspace,
        name="Sam Rivera",
        external_id="lead-9",
        email="sam.rivera@example.com",
        phone="+1 602 555 0100",
        assigned_to=tenant.rep,
        timezone="America/Phoenix",
    )
    earlier = make_draft(
        tenant.workspace,
        tenant.email_channel,
        lead=sam,
        body="Do you open on Sundays?",
        status=Draft.Status.SENT,
    )
    earlier.conversation.subject = "Sunday hours"
    earlier.conversation.save(update_fields=["subject"])
    draft = make_draft(
        tenant.workspace,
        tenant.sms_channel,
        lead=sam,
        body=(
            "Great, I'll come Saturday. Can I bring my dog?\n\n"
            "On Fri, Bo Kim wrote:\n> Day passes are $25 and include the lounge.\n> Bo"
        ),
        text="Yes, we have day passes for $25. Dogs are welcome in the lounge.",
        sources=[{"id": "k1", "title": "Day passes", "url": "https://example.com/passes"}],
        original_confidence=0.62,
        auto_send_confidence=0.74,
        revision_applied=True,
        revision_iterations=1,
        held_reason="below threshold 0.85 (confidence 0.74)",
    )
    MessageFactory(
        conversation=draft.conversation,
        body_text="Hi, do you have day passes?",
        sent_at=draft.trigger_message.sent_at - timedelta(hours=2),
    )
    run = PipelineRunFactory(trigger_message=draft.trigger_message)
    for stage, iteration, payload in [
        (Stage.STRATEGY, 0, {"intent": "question"}),
        (Stage.GENERATION, 0, {"reply": "Yes, we have day passes…"}),
        (Stage.EVALUATION, 0, {"confidence": 0.62}),
        (Stage.REVISION_REVISER, 1, {"reply": "Yes…"}),
        (Stage.EVALUATION, 1, {"confidence": 0.74}),
    ]:
        PipelineArtifactFactory(run=run, stage=stage, iteration=iteration, payload=payload)
    Draft.objects.filter(pk=draft.pk).update(run=run)
    return draft


def _blocked(tenant: Any) -> Draft:
    return make_draft(
        tenant.workspace,
        tenant.email_channel,
        lead=LeadFactory(workspace=tenant.workspace, name="Lee Chen"),
        body="This violates the TCPA, expect a letter from my lawyer.",
        text="Sorry to hear that! Our plans start at $40 a month.",
        blocked_reason="legal_threat",
        auto_send_action=Draft.Action.BLOCK,
        auto_send_confidence=None,
    )


def test_the_hold_is_released_on_leaving_and_renewed_while_open(browser, live_server, tenant):  # noqa: F811
    draft = _sam(tenant)
    operator = Session(browser, live_server.url)
    operator.sign_in(tenant.operator)
    page = operator.page
    page.clock.install()
    page.goto(f"{live_server.url}/drafts/{draft.pk}")
    assert "Held by you until" in page.inner_text("#hold")
    first_until = Draft.objects.get(pk=draft.pk).held_until

    # Open for four minutes: the page renews its hold through the renew endpoint.
    page.clock.run_for("04:05")
    _eventually(lambda: Draft.objects.get(pk=draft.pk).held_until > first_until, "the hold renewed")
    renewed = Draft.objects.get(pk=draft.pk).held_until
    page.wait_for_function(
        "until => document.getElementById('hold').dataset.holdUntil !== until",
        arg=first_until.isoformat(),
    )

    # A colleague opening it meanwhile sees who is on it.
    rep = Session(browser, live_server.url)
    rep.sign_in(tenant.rep)
    rep.page.goto(f"{live_server.url}/drafts/{draft.pk}")
    assert tenant.operator.email in rep.page.inner_text("#hold")
    rep.page.goto(f"{live_server.url}/")

    # Leaving the page lets go: the colleague can take it at once.
    page.click("nav.crumbs a:text('Review queue')")
    page.wait_for_url(f"{live_server.url}/")
    _eventually(lambda: _held_by(draft) is None, "the hold released")
    assert renewed is not None
    rep.page.goto(f"{live_server.url}/drafts/{draft.pk}")
    assert "Held by you until" in rep.page.inner_text("#hold")
    assert _held_by(draft) == tenant.rep.pk

    # Closing the tab lets go too.
    rep.page.close()
    _eventually(lambda: _held_by(draft) is None, "the hold released on close")
    assert operator.errors == []
    assert rep.errors == []
    operator.close()
    rep.close()


def test_a_blocked_draft_asks_for_a_confirmation(browser, live_server, tenant):  # noqa: F811
    draft = _blocked(tenant)
    session = Session(browser, live_server.url)
    session.sign_in(tenant.operator)
    page = session.page
    page.goto(f"{live_server.url}/drafts/{draft.pk}")
    assert "Blocked because: Legal threat" in page.inner_text("#run-summary")
    assert "The sender mentions legal or regulatory action." in page.inner_text("#confirm-blocked")

    page.click("#approve-btn")
    page.wait_for_selector("#form-error")
    assert "confirm you want to send it" in page.inner_text("#form-error")
    session.shot("draft-blocked-refused")
    assert Draft.objects.get(pk=draft.pk).status == "pending"
    assert not ScheduledSend.objects.filter(draft=draft).exists()

    page.check("#confirm-blocked-box")
    page.click("#approve-btn")
    page.wait_for_selector("#undo-box")
    assert Draft.objects.get(pk=draft.pk).status == "scheduled"
    assert ScheduledSend.objects.get(draft=draft).approved_by_id == tenant.operator.pk
    assert session.errors == []
    session.close()


def test_assign_from_the_draft_page(browser, live_server, tenant):  # noqa: F811
    draft = _sam(tenant)
    session = Session(browser, live_server.url)
    session.sign_in(tenant.operator)
    page = session.page
    page.goto(f"{live_server.url}/drafts/{draft.pk}")
    assert tenant.rep.email in page.inner_text("#owner")
    assert "the lead's rep" in page.inner_text("#owner")
    assert "Sunday hours" in page.inner_text("#earlier-conversations")

    page.click("#assign-me")
    page.wait_for_selector(".flash")
    assert f"Conversation assigned to {tenant.operator.email}." in page.inner_text(".flash")
    assert tenant.operator.email in page.inner_text("#owner")
    row = ConversationAssignment.objects.get(conversation_id=draft.conversation_id)
    assert (row.previous_owner_id, row.new_owner_id) == (tenant.rep.pk, tenant.operator.pk)

    page.select_option("#assign-to", "")
    page.click("#assign-btn")
    page.wait_for_selector("#owner em")
    assert page.inner_text("#owner") == "unassigned"
    assert ConversationAssignment.objects.filter(conversation_id=draft.conversation_id).count() == 2
    assert session.errors == []
    session.close()


def test_undo_after_approve_puts_the_draft_back(browser, live_server, tenant):  # noqa: F811
    WorkspaceSettings.objects.filter(workspace=tenant.workspace).update(undo_seconds=120)
    draft = _sam(tenant)
    session = Session(browser, live_server.url)
    session.sign_in(tenant.operator)
    page = session.page
    page.goto(f"{live_server.url}/drafts/{draft.pk}")
    page.click("#approve-btn")
    page.wait_for_selector("#undo-box")
    assert "Sending in" in page.inner_text("#undo-box")
    session.shot("draft-undo")
    assert "It goes out in 120 s" in page.inner_text(".flash")
    assert ScheduledSend.objects.get(draft=draft).status == "scheduled"

    page.click("#undo-btn")
    page.wait_for_selector("#approve-form")
    assert "Undone: nothing was sent" in page.inner_text(".flash")
    assert page.locator("#undo-box").count() == 0
    assert Draft.objects.get(pk=draft.pk).status == "pending"
    assert ScheduledSend.objects.get(draft=draft).status == "cancelled"
    assert DraftAction.objects.filter(draft=draft, kind="undo").count() == 1
    assert "Held by you until" in page.inner_text("#hold")
    assert session.errors == []
    session.close()


def test_write_the_reply_yourself_after_a_reject(browser, live_server, tenant):  # noqa: F811
    draft = _sam(tenant)
    session = Session(browser, live_server.url)
    session.sign_in(tenant.operator)
    page = session.page
    page.goto(f"{live_server.url}/drafts/{draft.pk}#reject")
    page.check("input[name=reason][value=wrong_facts]")
    page.click(".reject-form button[type=submit]")
    page.wait_for_selector("#write-yourself")
    assert "rejected. Nothing was sent." in page.inner_text(".flash")
    assert "Write the reply yourself" in page.inner_text("#write-yourself")
    session.shot("draft-write-yourself")

    page.click("#reply-btn")  # empty: refused next to the box
    page.wait_for_selector("#reply-error")
    assert "The reply is empty" in page.inner_text("#reply-error")
    assert Draft.objects.get(pk=draft.pk).status == "rejected"

    page.fill("#reply-text", "Yes, day passes are $25. Dogs stay on the patio, sorry!")
    page.click("#reply-btn")
    page.wait_for_selector("#undo-box")
    assert "Your reply to Sam Rivera is on its way." in page.inner_text(".flash")
    send = ScheduledSend.objects.get(draft=draft)
    assert send.text == "Yes, day passes are $25. Dogs stay on the patio, sorry!"
    assert send.approved_by_id == tenant.operator.pk
    assert Draft.objects.get(pk=draft.pk).status == "scheduled"
    assert session.errors == []
    session.close()


@pytest.mark.parametrize("width", [1366, 390])
def test_draft_page_screenshots(browser, live_server, tenant, width):  # noqa: F811
    draft = _sam(tenant)
    _blocked(tenant)
    session = Session(browser, live_server.url, width=width)
    session.sign_in(tenant.operator)
    page = session.page
    page.goto(f"{live_server.url}/drafts/{draft.pk}")
    assert "Held because the confidence 0.74 is below" in page.inner_text("#run-summary")
    assert page.locator(".fold-quoted").count() == 1
    assert not page.locator(".fold-quoted .quoted").is_visible()
    # On a phone the lead panel starts folded so the thread and the draft come first.
    assert page.evaluate("document.getElementById('lead-panel').open") == (width > 600)
    assert "their time" in page.inner_text("#lead-panel > summary")
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1]  # no sideways scrolling
    session.shot(f"draft-{width}")
    if os.environ.get("UPDATE_DOC_SCREENSHOTS"):  # refresh the committed ones on purpose
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"draft-{width}.png"), full_page=True)
    if width <= 600:
        page.click("#lead-panel > summary")
    page.click("#reject > summary")
    for control in ("#approve-btn", "#reject > summary", ".reject-form", "#assign-btn"):
        box = page.locator(control).bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width, control
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1]
    assert Message.objects.filter(conversation=draft.conversation).count() == 2
    assert session.errors == []
    session.close()
