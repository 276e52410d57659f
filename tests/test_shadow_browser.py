"""The shadow verdict in headless Chromium at 1366 and 390 px: the queue's confidence and its
"would auto-send" mark, the sentence on the draft page, and the /ops/ evidence. Screenshots
are kept in test-artifacts/ (shadow-*.png)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from autosend.models import AutoSendVerdict
from drafts.models import Draft, DraftAction
from tests.factories import LeadFactory, make_draft
from tests.test_browser_review import Session, browser  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser


def _verdict(draft: Draft, **fields: Any) -> None:
    AutoSendVerdict.objects.create(
        workspace=draft.workspace, draft=draft, shadow=True, threshold=0.85, **fields
    )


def _seed(tenant: Any) -> tuple[Draft, Draft]:
    confident = make_draft(
        tenant.workspace,
        tenant.email_channel,
        lead=LeadFactory(workspace=tenant.workspace, name="Sam Rivera"),
        body="Hi, roughly how much would a 7kW system cost?",
        text="A 7kW system starts at $14,500 installed, before incentives.",
        auto_send_action=Draft.Action.NONE,
        auto_send_confidence=0.92,
        original_confidence=0.92,
        held_reason="",
    )
    _verdict(confident, confidence=0.92, would_send=True, would_send_reason="confident")
    blocked = make_draft(
        tenant.workspace,
        tenant.sms_channel,
        lead=LeadFactory(workspace=tenant.workspace, name="Lee Chen"),
        body="This violates the TCPA, expect a lawsuit.",
        text="Thanks for letting us know; a person will reply shortly.",
        auto_send_action=Draft.Action.BLOCK,
        blocked_reason="legal_threat",
        auto_send_confidence=None,
        held_reason="",
    )
    _verdict(blocked, would_send=False, would_send_reason="blocked", gate_category="legal_threat")
    return confident, blocked


def _no_sideways_scroll(page: Any) -> bool:
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return bool(scroll <= inner)


@pytest.mark.parametrize("width", [1366, 390])
def test_the_verdict_reads_in_the_queue_and_on_the_draft(browser, live_server, tenant, width):  # noqa: F811
    confident, blocked = _seed(tenant)
    session = Session(browser, live_server.url, width=width)
    session.sign_in(tenant.operator)
    page = session.page
    row = page.locator(f"#row-{confident.pk}")
    assert row.locator(".q-conf").inner_text().startswith("0.92")
    mark = row.locator("[data-testid=would-send]")
    assert mark.is_visible()
    # The mark stays inside its cell (it used to run over the next column's badge).
    cell, inside = row.locator(".q-conf").bounding_box(), mark.bounding_box()
    assert cell is not None
    assert inside is not None
    assert inside["x"] + inside["width"] <= cell["x"] + cell["width"]
    assert page.locator(f"#row-{blocked.pk} [data-testid=would-send]").count() == 0
    session.shot(f"shadow-queue-{width}")

    page.goto(f"{live_server.url}/drafts/{confident.pk}")
    verdict = page.locator("[data-testid=shadow-verdict]")
    assert verdict.is_visible()
    text = verdict.inner_text()
    assert text.startswith("Would have been sent automatically: yes — confidence 0.92")
    box = verdict.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= width
    session.shot(f"shadow-draft-{width}")

    page.goto(f"{live_server.url}/drafts/{blocked.pk}")
    text = page.locator("[data-testid=shadow-verdict]").inner_text()
    assert "no — held because the safety gate blocked it: Legal threat" in text
    assert "legal_threat" not in text
    assert session.errors == []
    session.close()


@pytest.mark.parametrize("width", [1366, 390])
def test_ops_shows_the_shadow_evidence(browser, live_server, tenant, superadmin, width):  # noqa: F811
    confident, _ = _seed(tenant)
    DraftAction.objects.create(draft=confident, user=tenant.operator, kind="approve")
    AutoSendVerdict.objects.update(created_at=timezone.now() - timedelta(hours=1))
    session = Session(browser, live_server.url, width=width)
    page = session.page
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", superadmin.username)
    page.fill("#id_password", "pass-12345-word")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/ops/workspaces/{tenant.workspace.pk}/")
    figures = page.locator("[data-testid=shadow-figures]")
    assert figures.is_visible()
    assert "50%" in page.locator("[data-testid=would-send-7d]").inner_text()
    assert "100%" in page.locator("[data-testid=approved-unchanged-7d]").inner_text()
    session.shot(f"shadow-ops-{width}")
    box = figures.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= width

    # The same evidence next to the question "Turn auto-send on?".
    page.click(f"[data-testid=auto_send_enabled-{tenant.workspace.slug}]")
    page.wait_for_selector("[data-testid=confirm-auto-send]")
    assert "50%" in page.locator("[data-testid=would-send-7d]").inner_text()
    assert "100%" in page.locator("[data-testid=approved-unchanged-7d]").inner_text()
    session.shot(f"shadow-confirm-{width}")
    assert session.errors == []
    session.close()


@pytest.mark.parametrize("width", [1366, 390])
def test_ops_overview_lists_the_30_day_shadow_rate_per_workspace(
    browser,  # noqa: F811
    live_server,
    tenant,
    superadmin,
    width,
):
    confident, _ = _seed(tenant)
    DraftAction.objects.create(draft=confident, user=tenant.operator, kind="approve")
    AutoSendVerdict.objects.update(created_at=timezone.now() - timedelta(days=12))
    session = Session(browser, live_server.url, width=width)
    page = session.page
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", superadmin.username)
    page.fill("#id_password", "pass-12345-word")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/ops/")
    cell = page.locator(f"[data-testid=ws-shadow-{tenant.workspace.slug}]")
    cell.scroll_into_view_if_needed()
    assert cell.is_visible()
    text = cell.inner_text()
    assert "50%" in text
    assert "1 of 2 drafts" in text
    assert "100% approved unchanged" in text
    page.locator("#workspaces").scroll_into_view_if_needed()
    session.shot(f"ops-overview-shadow-{width}")
    assert _no_sideways_scroll(page)
    assert session.errors == []
    session.close()
