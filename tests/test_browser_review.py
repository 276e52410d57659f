"""The review flow in headless Debian Chromium (Playwright) against Django's live server:
sign in, work the queue by keyboard, edit and approve, reject, decide proposals.
Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connections
from django.utils import timezone

from autosend.models import ScheduledSend
from drafts.models import Draft, DraftAction, LearningSample, Message, Proposal
from pipeline.models import Stage
from tests.factories import (
    LeadFactory,
    MessageFactory,
    NotificationFactory,
    PipelineArtifactFactory,
    PipelineRunFactory,
    ProposalFactory,
    make_draft,
)
from workspaces.models import Lead

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
PASSWORD = "pass-12345-word"  # tests.factories.UserFactory


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: run scripts/install-browser")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # between browser steps are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield instance
        instance.close()
        # While Playwright's loop runs, the ORM calls of the test get their own connection
        # (Django keeps one per thread and async context): close it, or it outlives the test.
        connections.close_all()


class Session:
    """One signed-in browser context, collecting console errors (a CSP violation is one)."""

    def __init__(self, browser: Any, base_url: str, width: int = 1280) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": 860})
        self.page = self.context.new_page()
        self.base_url = base_url
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _console(self, message: Any) -> None:
        # HTTP errors are asserted where they are expected (a 403 refusal); anything else
        # logged as an error (a CSP violation, a script error) fails the test.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(f"{self.page.url}: {message.text}")

    def sign_in(self, user: Any) -> None:
        page = self.page
        page.goto(f"{self.base_url}/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{self.base_url}/")

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()


def _seed(tenant: Any) -> dict[str, Any]:
    sam = LeadFactory(
        workspace=tenant.workspace,
        name="Sam Rivera",
        external_id="lead-9",
        assigned_to=tenant.rep,
        company="",
        timezone="America/Phoenix",
    )
    # Explicit ids: the factory's sequence would reach "lead-9" (Sam's) in some test orders.
    lee = LeadFactory(
        workspace=tenant.workspace, name="Lee Chen", assigned_to=tenant.rep, external_id="lee"
    )
    ana = LeadFactory(
        workspace=tenant.workspace, name="Ana Ruiz", assigned_to=tenant.operator, external_id="ana"
    )
    first = make_draft(
        tenant.workspace,
        tenant.sms_channel,
        lead=sam,
        body="Great, I'll come Saturday. Can I bring my dog?",
        text="Yes, we have day passes for $25. Dogs are welcome in the lounge.",
        sources=[
            {"id": "k1", "title": "Day passes", "url": "https://example.com/passes"},
            {"id": "k2", "title": "Hours", "url": "https://example.com/hours"},
        ],
        original_confidence=0.62,
        auto_send_confidence=0.74,
        revision_applied=True,
        revision_iterations=2,
    )
    run = PipelineRunFactory(trigger_message=first.trigger_message)
    for stage, iteration, latency, payload in [
        (Stage.STRATEGY, 0, 12, {"intent": "question", "answer_from": ["k1", "k2"]}),
        (Stage.GENERATION, 0, 18, {"reply": "Yes, we have day passes…"}),
        (Stage.VERIFIER, 0, 9, {"unsupported_claims": []}),
        (Stage.EVALUATION, 0, 7, {"confidence": 0.62, "reasons": ["dog policy unclear"]}),
        (Stage.REVISION_SELECTOR, 1, 5, {"target": "dog policy"}),
        (Stage.REVISION_REVISER, 1, 21, {"reply": "Yes, we have day passes…"}),
        (Stage.EVALUATION, 1, 6, {"confidence": 0.74, "reasons": ["answers both questions"]}),
    ]:
        PipelineArtifactFactory(
            run=run,
            stage=stage,
            iteration=iteration,
            latency_ms=latency,
            prompt_key=stage.value.split("_step")[0],
            prompt_version="v2",
            payload=payload,
        )
    Draft.objects.filter(pk=first.pk).update(run=run)
    second = make_draft(
        tenant.workspace,
        tenant.email_channel,
        lead=lee,
        body="This violates the TCPA, expect a letter from my lawyer.",
        text="Sorry to hear that! Our plans start at $40 a month.",
        blocked_reason="legal_threat",
        auto_send_action=Draft.Action.BLOCK,
        auto_send_confidence=None,
        held_reason="",
    )
    third = make_draft(
        tenant.workspace,
        tenant.sms_channel,
        lead=ana,
        body="Sounds good, Thursday at 3?",
        text="Thursday at 3 works. See you then!",
        auto_send_confidence=0.71,
        held_reason="meeting gate",
    )
    now = timezone.now()
    earlier = [
        (timedelta(hours=3, minutes=40), "inbound", "Hi, do you have day passes?"),
        (timedelta(hours=3, minutes=35), "outbound", "We do! They are $25 and include the lounge."),
    ]
    for ago, direction, body in earlier:
        MessageFactory(
            conversation=first.conversation,
            direction=direction,
            sender_kind="lead" if direction == "inbound" else "user",
            sender_user=tenant.rep if direction == "outbound" else None,
            body_text=body,
            sent_at=now - ago,
        )
    for draft, ago in (
        (first, timedelta(hours=3)),
        (second, timedelta(hours=2)),
        (third, timedelta(minutes=40)),
    ):
        Message.objects.filter(pk=draft.trigger_message_id).update(sent_at=now - ago)
        Draft.objects.filter(pk=draft.pk).update(created_at=now - ago)
    NotificationFactory(workspace=tenant.workspace, draft=second, title="Lee Chen: blocked draft")
    batch = uuid.uuid4()
    company = ProposalFactory(lead=sam, batch_id=batch, field="company")
    title = ProposalFactory(lead=sam, batch_id=batch, field="title", proposed_value="Owner")
    return {"first": first, "second": second, "third": third, "company": company, "title": title}


def test_review_flow_in_the_browser(browser, live_server, tenant):
    data = _seed(tenant)
    first, second, third = data["first"], data["second"], data["third"]
    operator = Session(browser, live_server.url)
    page = operator.page
    operator.sign_in(tenant.operator)
    page.goto(f"{live_server.url}/?view=all")  # Ana's rep opens on "Mine": work them all

    # The queue: oldest first, the first row selected, shortcuts listed.
    rows = page.locator("[data-queue] .qrow")
    assert rows.count() == 3
    assert "Sam Rivera" in rows.nth(0).inner_text()
    assert "is-selected" in (rows.nth(0).get_attribute("class") or "")
    assert "3 waiting" in page.inner_text(".pagehead")
    page.click("#bell summary")  # the notifications live in the top bar's bell
    page.wait_for_selector("#bell .feed-item")
    operator.shot("queue-1280")
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    operator.shot("queue-help")
    page.keyboard.press("Escape")

    # e on the first row: the draft page with the editor focused. Edit, then approve.
    page.keyboard.press("e")
    page.wait_for_url(f"**/drafts/{first.pk}#edit")
    assert page.evaluate("document.activeElement.id") == "draft-text"
    assert "Held by you until" in page.inner_text("#hold")
    page.click("#engineer-details > summary")  # engineer details are folded
    page.click(".timeline > li:nth-child(2) > details > summary")
    operator.shot("draft-1280")
    page.fill("#draft-text", "Yes, we have day passes for $25. Small dogs are welcome.")
    page.dblclick("#approve-btn")  # a double click still books one send
    page.wait_for_url(f"{live_server.url}/drafts/{first.pk}")  # stays, with Undo
    assert "edited and approved" in page.inner_text(".flash")
    sends = ScheduledSend.objects.filter(draft=first)
    assert sends.count() == 1
    assert sends.get().origin == "approval"
    assert sends.get().text == "Yes, we have day passes for $25. Small dogs are welcome."
    assert Draft.objects.get(pk=first.pk).status in ("scheduled", "sent")
    assert DraftAction.objects.filter(draft=first).count() == 1
    assert LearningSample.objects.get(draft=first).final == sends.get().text
    page.goto(f"{live_server.url}/")

    # a on the selected queue row approves it in place (pressed twice: still one send).
    assert rows.count() == 2
    page.keyboard.press("j")  # second row: Ana's draft (the first is Lee's blocked one)
    assert "Ana Ruiz" in page.inner_text(".qrow.is-selected")
    page.keyboard.press("a")
    page.keyboard.press("a")
    page.wait_for_selector(f"#row-{third.pk} .badge-info, #row-{third.pk} .badge-ok")
    assert ScheduledSend.objects.filter(draft=third).count() == 1
    assert "is-selected" in (page.get_attribute(f"#row-{third.pk}", "class") or "")
    operator.shot("queue-after-approve")

    # r on Lee's draft: reject with a reason and a note.
    page.keyboard.press("k")
    page.keyboard.press("r")
    page.wait_for_url(f"**/drafts/{second.pk}#reject")
    assert page.locator("#reject").get_attribute("open") is not None
    page.check("input[name=reason][value=should_not_reply]")
    page.fill("#reject-note", "legal threat: hand to a human")
    operator.shot("draft-reject")
    page.click(".reject-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/drafts/{second.pk}")  # stays: write it yourself
    assert "Write the reply yourself" in page.inner_text("#write-yourself")
    page.goto(f"{live_server.url}/")
    action = DraftAction.objects.get(draft=second)
    assert (action.kind, action.reason, action.note) == (
        "reject",
        "should_not_reply",
        "legal threat: hand to a human",
    )
    assert Draft.objects.get(pk=second.pk).status == "rejected"
    assert "Nothing waiting for review" in page.inner_text("main")
    operator.shot("queue-empty")

    # The operator is not Sam's rep: refused, and nothing changes.
    page.goto(f"{live_server.url}/proposals/")
    assert "can decide these" in page.inner_text(".batch")
    operator.shot("proposals-not-rep")
    page.click(f"#proposal-{data['company'].pk} button:text('Accept')")
    page.wait_for_selector(".batch .error")
    assert "Only the lead's assigned rep can decide" in page.inner_text(".batch .error")
    assert Proposal.objects.get(pk=data["company"].pk).status == "pending"
    assert Lead.objects.get(pk=data["company"].lead_id).company == ""
    operator.shot("proposals-refused")
    assert operator.errors == []
    operator.close()

    # Sam's rep accepts one as is and edits the other.
    rep = Session(browser, live_server.url)
    rep.sign_in(tenant.rep)
    page = rep.page
    page.goto(f"{live_server.url}/proposals/")
    page.click(f"#proposal-{data['company'].pk} button:text('Accept')")
    page.wait_for_selector(f"#proposal-{data['company'].pk} .badge-ok")
    page.click(f"#proposal-{data['title'].pk} summary:text('Edit…')")
    page.fill(f"#value-{data['title'].pk}", "Owner & CEO")
    page.click(f"#proposal-{data['title'].pk} button:text('Accept edited')")
    page.wait_for_selector(f"#proposal-{data['title'].pk} .badge-ok")
    rep.shot("proposals-accepted")
    lead = Lead.objects.get(pk=data["company"].lead_id)
    assert (lead.company, lead.title) == ("Sunrise Roofing", "Owner & CEO")
    title = Proposal.objects.get(pk=data["title"].pk)
    assert (title.previous_value, title.applied_value) == ("", "Owner & CEO")
    assert rep.errors == []
    rep.close()


def test_pages_read_at_800px(browser, live_server, tenant):
    data = _seed(tenant)
    session = Session(browser, live_server.url, width=800)
    session.sign_in(tenant.operator)
    page = session.page
    session.shot("queue-800")
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1]  # no sideways scrolling
    page.goto(f"{live_server.url}/drafts/{data['first'].pk}")
    session.shot("draft-800")
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1]
    page.goto(f"{live_server.url}/proposals/")
    session.shot("proposals-800")
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1]
    page.goto(f"{live_server.url}/notifications/")
    assert "Lee Chen: blocked draft" in page.inner_text("main")
    session.shot("notifications-800")
    assert session.errors == []
    session.close()
