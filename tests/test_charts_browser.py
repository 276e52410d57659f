"""In a real browser: the charts of /timing/ and /ops/ are drawn with the one shared chart
stylesheet (coloured lines and bars, no CSP violation). Screenshots go to test-artifacts/."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import sync_playwright

from drafts.models import Draft
from pipeline.models import AIInteraction
from tests.ops_builders import make_draft
from tests.test_ops_browser import ARTIFACTS, CHROMIUM_ARGS
from tests.timing_helpers import Thread
from timing.processor import response_timing_process

pytestmark = pytest.mark.browser


def _timing_history(tenant: Any) -> None:
    """Five days of setter and AI replies, some AI replies after a scheduled delay."""
    start = timezone.now().replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=5)
    for day in range(5):
        for i in range(4):
            thread = Thread.start(
                tenant.workspace, tenant.email_channel, base=start + timedelta(days=day, hours=i)
            )
            message = thread.inbound(0)
            thread.setter(40 + 90 * i + 60 * day, user=tenant.rep)
            reply = 200 + 120 * i + 30 * day
            thread.ai(reply, trigger=message, delay=(180, 900), started=reply - 1, finished=reply)
    response_timing_process(settle=timedelta(0))


def _ops_history(tenant: Any) -> None:
    now = timezone.now()
    for hours in range(0, 70, 3):
        make_draft(
            tenant.email_channel,
            created_at=now - timedelta(hours=hours),
            auto_send_action=Draft.Action.SEND if hours % 2 else Draft.Action.REVIEW,
            revision_attempted_at=now - timedelta(hours=hours),
            revision_applied=hours % 9 == 0,
            loop_ms=[1500 + 300 * (hours % 7), 2500, 900 + 400 * (hours % 5)],
        )
    for i, stage in enumerate(["draft_strategy_step1", "draft_generation_step2"]):
        for ms in (800, 1200, 2600 + 900 * i):
            AIInteraction.objects.create(
                workspace=tenant.workspace,
                stage=stage,
                provider="offline",
                model="offline",
                outcome=AIInteraction.Outcome.OK,
                latency_ms=ms,
            )


def _sign_in(page: Any, base_url: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pass-12345-word")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def _computed(page: Any, selector: str, prop: str) -> set[str]:
    """The distinct computed values of `prop` over every element matching `selector`."""
    return set(
        page.eval_on_selector_all(
            selector, f"els => els.map(e => getComputedStyle(e).getPropertyValue('{prop}'))"
        )
    )


TEAL, ACCENT, WARM = "rgb(15, 118, 110)", "rgb(47, 91, 211)", "rgb(181, 71, 8)"


def test_timing_and_ops_charts_are_styled_by_the_shared_stylesheet(
    live_server: Any, tenant: Any, superadmin: Any
) -> None:
    _timing_history(tenant)
    _ops_history(tenant)
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on(
                "console",
                lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
            )
            _sign_in(page, live_server.url, tenant.operator.username)
            page.goto(f"{live_server.url}/timing/")
            page.screenshot(path=str(ARTIFACTS / "timing-charts.png"), full_page=True)
            by_day = "#timing-by-day .chart-tone-{} .chart-line"
            assert _computed(page, by_day.format(1), "stroke") == {TEAL}
            assert _computed(page, by_day.format(2), "stroke") == {ACCENT}
            dashed = "#timing-by-day .chart-dashed .chart-line"
            assert _computed(page, dashed, "stroke-dasharray") == {"5px, 4px"}
            assert _computed(page, "#timing-setter-distribution .chart-bar", "fill") == {TEAL}
            assert _computed(page, "#timing-ai-distribution .chart-bar", "fill") == {ACCENT}
            assert _computed(page, "#timing-delay .chart-line", "fill") == {"none"}

            _sign_in(page, live_server.url, superadmin.username)
            page.goto(f"{live_server.url}/ops/")
            page.screenshot(path=str(ARTIFACTS / "ops-charts.png"), full_page=True)
            assert _computed(page, "#ops-rates .chart-tone-2 .chart-line", "stroke") == {ACCENT}
            assert _computed(page, "#ops-rates .chart-tone-4 .chart-line", "stroke") == {WARM}
            assert _computed(page, "#ops-rates .chart-direct-label", "font-weight") == {"600"}
            assert _computed(page, "#ops-revision-latency .chart-bar", "fill") == {ACCENT}
            page.goto(f"{live_server.url}/ops/feed/")
            page.screenshot(path=str(ARTIFACTS / "ops-feed-charts.png"), full_page=True)
            assert _computed(page, "#ops-stage-p95 .chart-bar", "fill") == {ACCENT}
        finally:
            browser.close()
    assert errors == []
