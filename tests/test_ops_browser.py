"""In a real browser: a super-admin flips the revision canary on /ops/ and sees the change in
the history; an operator is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from workspaces.models import SettingsChange, WorkspaceSettings

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _sign_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pass-12345-word")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def _browse(live_server, username: str, steps) -> None:
    """Run `steps(page, base_url)` in headless Chromium. The ORM is used only before and
    after: Playwright's sync API runs an event loop that Django's async guard rejects."""
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on(
                "console",
                lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
            )
            _sign_in(page, live_server.url, username)
            steps(page, live_server.url)
            assert errors == []  # no CSP violations, no script errors
        finally:
            browser.close()


def test_superadmin_flips_the_revision_canary_and_sees_the_history_row(
    live_server, tenant, superadmin
):
    slug, email = tenant.workspace.slug, superadmin.email

    def steps(page, base_url):
        page.goto(f"{base_url}/ops/")
        expect(page.get_by_role("heading", name="Operations")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "ops-overview.png"), full_page=True)
        page.click(f'[data-testid="revision_enabled-{slug}"]')
        page.wait_for_url(f"{base_url}/ops/#workspaces")
        expect(page.locator(".flash")).to_contain_text("Revision (canary) off → on")
        row = page.locator("table.history tbody tr").first
        expect(row).to_contain_text("Revision (canary)")
        expect(row).to_contain_text(email)
        expect(row.locator("td").nth(3)).to_have_text("off")
        expect(row.locator("td").nth(4)).to_have_text("on")
        expect(page.locator(f"#ws-{slug} .badge-ok").last).to_have_text("on")
        page.screenshot(path=str(ARTIFACTS / "ops-revision-flipped.png"), full_page=True)
        # The workspace page holds the knobs and the full history.
        page.click(f"#ws-{slug} a")
        expect(page.locator("table.history tbody tr")).to_have_count(1)
        page.screenshot(path=str(ARTIFACTS / "ops-workspace.png"), full_page=True)

    _browse(live_server, superadmin.username, steps)
    assert WorkspaceSettings.objects.get(workspace=tenant.workspace).revision_enabled
    change = SettingsChange.objects.get()
    assert (change.field, change.source, change.changed_by_id) == (
        "revision_enabled",
        "ops",
        superadmin.pk,
    )


def test_an_operator_is_refused(live_server, tenant):
    def steps(page, base_url):
        response = page.goto(f"{base_url}/ops/")
        assert response is not None
        assert response.status == 403
        expect(page.get_by_role("heading", name="Super-admins only")).to_be_visible()
        expect(page.locator('nav.mainnav a[href="/ops/"]')).to_have_count(0)
        page.screenshot(path=str(ARTIFACTS / "ops-refused.png"))

    _browse(live_server, tenant.operator.username, steps)
    assert SettingsChange.objects.count() == 0
