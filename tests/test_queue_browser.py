"""The review queue in headless Chromium: search and saved views, assign from a row, bulk
approve/reject (checkboxes, the x key, shift-click ranges), the live list and counts, undo
inside the undo window, one clock format, and the phone layout. Writes the queue's
screenshots at 1366 and 390 px to docs/screenshots/ with UPDATE_DOC_SCREENSHOTS=1 (a plain run
changes no committed file)."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from autosend.models import ScheduledSend
from drafts.models import Conversation, ConversationAssignment, Draft, DraftAction, Message
from drafts.review import draft_approve
from tests.factories import LeadFactory, MembershipFactory, UserFactory, make_draft
from tests.test_browser_review import Session, _seed, browser  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"
POLL_WAIT_MS = 12_000  # the list polls every 5 s


def _rows(page: Any) -> Any:
    return page.locator("[data-queue] .qrow")


def _lead_names(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("[data-queue] .qrow .q-lead a").all_inner_texts()]


def _tab(page: Any, label: str) -> None:
    """Open a saved view and wait for its page."""
    with page.expect_navigation():
        page.click(f'.views a:text("{label}")')


def _many(tenant: Any, n: int, prefix: str = "Bulk") -> list[Draft]:
    drafts = []
    now = timezone.now()
    for i in range(n):
        lead = LeadFactory(
            workspace=tenant.workspace, name=f"{prefix} Lead {i}", external_id=f"{prefix}-{i}"
        )
        draft = make_draft(
            tenant.workspace, tenant.sms_channel, lead=lead, body=f"Question number {i}"
        )
        Draft.objects.filter(pk=draft.pk).update(created_at=now - timedelta(minutes=60 - i))
        Message.objects.filter(pk=draft.trigger_message_id).update(
            sent_at=now - timedelta(minutes=60 - i)
        )
        drafts.append(draft)
    return drafts


def test_search_and_saved_views(browser, live_server, tenant):  # noqa: F811
    _seed(tenant)  # Sam and Lee are the rep's leads, Ana is the operator's
    quinn = LeadFactory(
        workspace=tenant.workspace, name="Quinn Park", email="quinn@park.test", external_id="quinn"
    )
    make_draft(tenant.workspace, tenant.email_channel, lead=quinn, body="Any parking?")

    rep = Session(browser, live_server.url, width=1366)
    rep.sign_in(tenant.rep)
    page = rep.page
    # A rep lands on "Mine": only their leads' conversations.
    assert page.locator('.views a[aria-current="page"]').inner_text() == "Mine"
    assert sorted(_lead_names(page)) == ["Lee Chen", "Sam Rivera"]
    assert "2 waiting" in page.inner_text("#queue-summary")
    _tab(page, "All")
    assert page.url.endswith("/?view=all")
    assert len(_lead_names(page)) == 4
    _tab(page, "Unassigned")
    assert _lead_names(page) == ["Quinn Park"]
    page.goto(f"{live_server.url}/")  # the queue reopens on the view last chosen
    assert page.locator('.views a[aria-current="page"]').inner_text() == "Unassigned"

    # Search (labelled box): lead name, email, message text; filters keep each other.
    _tab(page, "All")
    page.fill("#f-q", "dog")
    with page.expect_navigation():
        page.press("#f-q", "Enter")
    assert _lead_names(page) == ["Sam Rivera"]
    assert "view=all" in page.url
    with page.expect_navigation():
        page.select_option("#f-channel", str(tenant.sms_channel.pk))
    assert f"channel={tenant.sms_channel.pk}" in page.url
    assert "q=dog" in page.url
    assert "view=all" in page.url
    assert page.input_value("#f-q") == "dog"
    assert _lead_names(page) == ["Sam Rivera"]
    _tab(page, "Mine")  # the tab keeps the search and the channel
    assert "q=dog" in page.url
    assert f"channel={tenant.sms_channel.pk}" in page.url
    assert _lead_names(page) == ["Sam Rivera"]
    page.goto(f"{live_server.url}/?view=all&q=quinn%40park")
    assert _lead_names(page) == ["Quinn Park"]
    page.goto(f"{live_server.url}/?view=all&q=lawyer")
    assert _lead_names(page) == ["Lee Chen"]
    page.goto(f"{live_server.url}/?view=all&q=zebra")
    assert "Nothing matches “zebra”" in page.inner_text("main")
    # "/" jumps to the search box.
    page.goto(f"{live_server.url}/?view=all")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "f-q"
    for label in ("Search", "Channel", "Status", "Why waiting"):
        assert page.locator(f'.filters label:text-is("{label}")').is_visible()
    assert rep.errors == []
    rep.close()

    # Someone no lead is assigned to lands on "All".
    newcomer = UserFactory()
    MembershipFactory(user=newcomer, workspace=tenant.workspace)
    other = Session(browser, live_server.url)
    other.sign_in(newcomer)
    assert other.page.locator('.views a[aria-current="page"]').inner_text() == "All"
    assert len(_lead_names(other.page)) == 4
    other.close()


def test_assign_and_reassign_from_the_row(browser, live_server, tenant):  # noqa: F811
    data = _seed(tenant)
    sam = data["first"]
    session = Session(browser, live_server.url, width=1366)
    session.sign_in(tenant.operator)
    page = session.page
    page.goto(f"{live_server.url}/?view=all")
    select = f"#owner-{sam.pk}"
    assert page.locator(select).input_value() == tenant.rep.email  # the lead's rep by default
    with page.expect_response(lambda r: "/assign" in r.url):
        page.select_option(select, tenant.operator.email)
    page.wait_for_selector(f"#row-{sam.pk}")  # the row redrawn
    assert page.locator(select).input_value() == tenant.operator.email
    conversation = Conversation.objects.get(pk=sam.conversation_id)
    assert conversation.owner_id == tenant.operator.pk
    history = ConversationAssignment.objects.filter(conversation=conversation)
    assert [(h.previous_owner_id, h.new_owner_id) for h in history] == [
        (tenant.rep.pk, tenant.operator.pk)
    ]
    _tab(page, "Mine")
    assert "Sam Rivera" in _lead_names(page)
    # Unassign it: it moves to "Unassigned".
    with page.expect_response(lambda r: "/assign" in r.url):
        page.select_option(select, "")
    assert Conversation.objects.get(pk=sam.conversation_id).owner_id is None
    _tab(page, "Unassigned")
    assert _lead_names(page) == ["Sam Rivera"]
    assert session.errors == []
    session.close()


def test_bulk_select_with_x_and_shift_click_then_approve_and_reject(
    browser,  # noqa: F811
    live_server,
    tenant,
):
    drafts = _many(tenant, 6)
    session = Session(browser, live_server.url, width=1366)
    session.sign_in(tenant.operator)
    page = session.page
    assert _lead_names(page)[0] == "Bulk Lead 0"
    assert page.locator("[data-bulk]").is_hidden()
    # x on the focused first row, j to the second, x again.
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    assert page.inner_text("[data-bulk-count]") == "2"
    assert page.locator("[data-bulk]").is_visible()
    # Shift-click the fifth: rows 2 to 5 are selected (the range from the last pick).
    page.locator(f"#row-{drafts[4].pk} input.pick").click(modifiers=["Shift"])
    assert page.inner_text("[data-bulk-count]") == "5"
    picked = page.eval_on_selector_all("input.pick:checked", "els => els.map(e => e.value)")
    assert picked == [str(d.pk) for d in drafts[:5]]
    # Meanwhile a colleague approves the fourth: it is skipped, still decided once.
    draft_approve(draft=Draft.objects.get(pk=drafts[3].pk), user=tenant.rep)
    page.click("[data-bulk] button[value=approve]")
    page.wait_for_selector(".qflash")
    flash = page.inner_text(".qflash")
    assert "4 approved, 1 skipped: already decided" in flash
    assert "Sending in" in flash
    assert "Undo" in flash
    for draft in drafts[:5]:
        assert ScheduledSend.objects.filter(draft=draft).count() == 1
        assert DraftAction.objects.filter(draft=draft, kind="approve").count() == 1
    # The list refreshes: only the sixth still waits, nothing is selected.
    expect(_rows(page)).to_have_count(1)
    assert page.locator("[data-bulk]").is_hidden()
    assert "1 waiting" in page.inner_text("#queue-summary")
    session.shot("queue-bulk-approved")

    # Reject needs a reason; with one, the row is rejected.
    page.keyboard.press("x")
    page.click("[data-bulk] button[value=reject]")
    page.wait_for_selector(".qflash-error")
    assert "Say why the draft is rejected" in page.inner_text(".qflash")
    assert Draft.objects.get(pk=drafts[5].pk).status == "pending"
    page.select_option("#bulk-reason", "wrong_tone")
    page.click("[data-bulk] button[value=reject]")
    page.wait_for_selector(".qflash-success")
    assert "Draft for Bulk Lead 5 rejected" in page.inner_text(".qflash")
    action = DraftAction.objects.get(draft=drafts[5])
    assert (action.kind, action.reason) == ("reject", "wrong_tone")
    page.wait_for_selector("text=Nothing waiting for review")
    assert session.errors == []
    session.close()


def test_blocked_drafts_are_skipped_by_bulk_approve(browser, live_server, tenant):  # noqa: F811
    data = _seed(tenant)
    session = Session(browser, live_server.url)
    session.sign_in(tenant.operator)
    page = session.page
    page.goto(f"{live_server.url}/?view=all")
    for draft in (data["first"], data["second"]):
        page.locator(f"#row-{draft.pk} input.pick").check()
    page.click("[data-bulk] button[value=approve]")
    page.wait_for_selector(".qflash")
    assert "1 approved, 1 skipped: blocked, open it to confirm" in page.inner_text(".qflash")
    assert Draft.objects.get(pk=data["second"].pk).status == "pending"
    page.click(".qflash summary")
    assert "Lee Chen: blocked, open it to confirm" in page.inner_text(".qflash")
    session.close()


def test_live_list_count_and_badge_update_without_reload(browser, live_server, tenant):  # noqa: F811
    _many(tenant, 2)
    session = Session(browser, live_server.url, width=1366)
    session.sign_in(tenant.operator)
    page = session.page
    page.evaluate("() => { window.__sameDocument = true; }")
    assert "2 waiting" in page.inner_text("#queue-summary")
    assert page.inner_text('.mainnav a[href="/"] .count') == "2"

    make_draft(
        tenant.workspace,
        tenant.email_channel,
        lead=LeadFactory(workspace=tenant.workspace, name="Newcomer", external_id="newcomer"),
        body="Just arrived: do you open on Sundays?",
    )
    expect(page.locator("#queue-summary")).to_contain_text("3 waiting", timeout=POLL_WAIT_MS)
    expect(page.locator('.mainnav a[href="/"] .count')).to_have_text("3")
    assert "Newcomer" in _lead_names(page)
    assert page.evaluate("() => window.__sameDocument") is True  # no reload

    # While rows are selected the list holds still; it catches up once they are cleared.
    page.keyboard.press("x")
    make_draft(tenant.workspace, tenant.email_channel, body="Another one while you select")
    page.wait_for_timeout(6500)
    assert "3 waiting" in page.inner_text("#queue-summary")
    assert page.locator("input.pick:checked").count() == 1
    page.click("[data-bulk-clear]")
    expect(page.locator("#queue-summary")).to_contain_text("4 waiting", timeout=POLL_WAIT_MS)
    expect(page.locator('.mainnav a[href="/"] .count')).to_have_text("4")
    assert session.errors == []
    session.close()


def test_undo_after_approve_in_place_and_after_bulk(browser, live_server, tenant):  # noqa: F811
    drafts = _many(tenant, 3)
    session = Session(browser, live_server.url, width=1366)
    session.sign_in(tenant.operator)
    page = session.page
    page.keyboard.press("a")  # approve the focused first row in place
    page.wait_for_selector(".qflash [data-undo]")
    flash = page.inner_text(".qflash")
    assert "Reply to Bulk Lead 0 approved." in flash
    assert re.search(r"Sending in (10|9|8) s", flash)
    assert page.locator(f"#row-{drafts[0].pk} .badge-info").inner_text() == "Scheduled"
    assert "2 waiting" in page.inner_text("#queue-summary")  # the header follows at once
    assert page.inner_text('.mainnav a[href="/"] .count') == "2"
    send = ScheduledSend.objects.get(draft=drafts[0])
    assert send.status == "scheduled"

    page.click(".qflash [data-undo]")
    page.wait_for_selector(".qflash:has-text('Undone')")
    assert "the draft is back in the queue" in page.inner_text(".qflash")
    assert page.locator(".qflash [data-undo]").count() == 0  # exactly once
    assert Draft.objects.get(pk=drafts[0].pk).status == "pending"
    assert ScheduledSend.objects.get(draft=drafts[0]).status == "cancelled"
    assert DraftAction.objects.filter(draft=drafts[0], kind="undo").count() == 1
    expect(page.locator("#queue-summary")).to_contain_text("3 waiting")
    expect(page.locator(f"#row-{drafts[0].pk} input.pick")).to_have_count(1)  # pending again
    # A second undo (say, from another tab) changes nothing.
    again = page.request.post(
        f"{live_server.url}/queue/undo",
        form={"ids": str(drafts[0].pk)},
        headers={
            "HX-Request": "true",
            "X-CSRFToken": page.get_attribute('meta[name="csrf-token"]', "content"),
        },
    )
    assert "nothing to undo" in again.text()
    assert DraftAction.objects.filter(draft=drafts[0], kind="undo").count() == 1

    # Bulk: two approved, one Undo stops both.
    for draft in drafts[:2]:
        page.locator(f"#row-{draft.pk} input.pick").check()
    page.click("[data-bulk] button[value=approve]")
    page.wait_for_selector(".qflash:has-text('2 approved')")
    page.click(".qflash [data-undo]")
    page.wait_for_selector(".qflash:has-text('2 undone')")
    for draft in drafts[:2]:
        assert Draft.objects.get(pk=draft.pk).status == "pending"
    assert DraftAction.objects.filter(kind="undo").count() == 3  # one per approval
    assert session.errors == []
    session.close()


def test_times_in_one_clock_format_with_the_zone(browser, live_server, tenant):  # noqa: F811
    _seed(tenant)
    session = Session(browser, live_server.url)
    session.context.close()
    session.context = browser.new_context(
        viewport={"width": 1366, "height": 860}, timezone_id="America/New_York"
    )
    session.page = session.context.new_page()
    session.sign_in(tenant.operator)
    page = session.page
    page.goto(f"{live_server.url}/?view=all")
    # Waiting counts from the lead's message (3h ago), not the draft's creation.
    ages = page.locator(".q-age time").all_inner_texts()
    assert ages == ["3h", "2h", "40m"]
    for title in page.eval_on_selector_all(".q-age time", "els => els.map(e => e.title)"):
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} E[SD]T", title), title
    assert page.locator(".feed, details.feed").count() == 0  # the bell has the notifications
    session.close()


@pytest.mark.parametrize("width", [1366, 390])
def test_queue_layout_and_screenshots(browser, live_server, tenant, width):  # noqa: F811
    _seed(tenant)
    lead = LeadFactory(
        workspace=tenant.workspace,
        name="Maximiliana Oyelaran-Whitcombe",
        assigned_to=tenant.rep,
        external_id="maximiliana",
    )
    make_draft(
        tenant.workspace,
        tenant.email_channel,
        lead=lead,
        body="Could you tell me whether the installation includes the permit fees and inspection?",
        held_reason="below threshold 0.85 and a commitment to check",
    )
    session = Session(browser, live_server.url, width=width)
    session.sign_in(tenant.operator)
    page = session.page
    page.goto(f"{live_server.url}/?view=all")
    page.locator(
        f"#row-{Draft.objects.filter(conversation__lead=lead).get().pk} input.pick"
    ).check()
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1]  # no sideways scrolling
    for message in page.locator(".q-msg .inbound").all():
        box = message.bounding_box()
        assert message.is_visible()
        assert box is not None
        assert box["width"] > 150
    # No pill is cut off: every badge shows all of its words.
    cut = page.eval_on_selector_all(
        ".q-why .badge",
        "els => els.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)",
    )
    assert cut == []
    # Every main destination is on screen, none scrolled out of the top bar.
    offscreen = page.eval_on_selector_all(
        ".mainnav a",
        "els => els.filter(e => e.getBoundingClientRect().right > window.innerWidth)"
        ".map(e => e.textContent.trim())",
    )
    assert offscreen == []
    if os.environ.get("UPDATE_DOC_SCREENSHOTS"):  # refresh the committed ones on purpose
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"queue-{width}.png"), full_page=True)
    assert session.errors == []
    session.close()
