"""/ops/ pages: who may open them, what they show, and how the switches behave."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import MembershipFactory, UserFactory
from tests.ops_builders import knobs_post, make_draft, review
from workspaces.models import Role, SettingsChange, WorkspaceSettings
from workspaces.services import workspace_settings_update


def ops_urls(workspace):
    return [
        "/ops/",
        "/ops/feed/",
        "/ops/quality/",
        f"/ops/workspaces/{workspace.pk}/",
    ]


def post_urls(workspace):
    return [
        (f"/ops/workspaces/{workspace.pk}/toggle/", {"field": "revision_enabled", "value": "on"}),
        (
            f"/ops/workspaces/{workspace.pk}/knobs/",
            knobs_post(workspace.settings, revision_max_iterations=1),
        ),
    ]


def _unchanged(workspace):
    ws_settings = WorkspaceSettings.objects.get(workspace=workspace)
    return (
        not ws_settings.revision_enabled
        and ws_settings.revision_max_iterations == 3
        and not SettingsChange.objects.exists()
    )


def test_anonymous_visitors_are_sent_to_sign_in(client, tenant):
    for url in ops_urls(tenant.workspace):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={url}"
    for url, data in post_urls(tenant.workspace):
        assert client.post(url, data).status_code == 302
    assert _unchanged(tenant.workspace)


@pytest.mark.parametrize("who", ["operator", "workspace_admin_staff"])
def test_anyone_but_a_true_superadmin_gets_403(client, tenant, who):
    if who == "operator":
        user = tenant.operator
    else:
        user = UserFactory(is_staff=True)
        MembershipFactory(user=user, workspace=tenant.workspace, role=Role.ADMIN)
    client.force_login(user)
    for url in ops_urls(tenant.workspace):
        response = client.get(url)
        assert response.status_code == 403
        assert "Super-admins only" in response.content.decode()
    for url, data in post_urls(tenant.workspace):
        assert client.post(url, data).status_code == 403
    assert _unchanged(tenant.workspace)


def test_nav_shows_ops_only_to_superadmins(client, tenant, superadmin):
    client.force_login(tenant.operator)
    assert 'href="/ops/"' not in client.get("/").content.decode()
    client.force_login(superadmin)
    assert 'href="/ops/"' in client.get("/").content.decode()


def test_unknown_workspace_is_404(client, superadmin, db):
    client.force_login(superadmin)
    assert client.get("/ops/workspaces/00000000-0000-7000-8000-000000000000/").status_code == 404


def test_overview_lists_every_workspace_with_its_knobs(
    client, tenant, other_tenant, superadmin, django_assert_max_num_queries
):
    workspace_settings_update(
        workspace=other_tenant.workspace,
        actor=superadmin,
        changes={"revision_enabled": True, "auto_send_confidence_threshold": 0.77},
        source="api",
    )
    make_draft(tenant.email_channel, created_at=timezone.now())
    client.force_login(superadmin)
    # A fixed budget whatever the number of workspaces (the shadow figures are one query).
    with django_assert_max_num_queries(21):
        response = client.get("/ops/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Acme" in body
    assert "Globex" in body
    assert "<strong>0.77</strong>" in body
    assert body.count('data-testid="revision_enabled-') == 2
    assert 'data-testid="pending-review">1<' in body
    assert body.count("<svg") == 2
    # The recent changes, newest first.
    assert body.index(
        'title="auto_send_confidence_threshold">Confidence threshold</td>'
    ) > body.index("Recent knob changes")


def test_a_change_made_by_a_provisioning_command_shows_as_system(client, tenant, superadmin):
    workspace_settings_update(
        workspace=tenant.workspace,
        actor=None,
        changes={"auto_send_enabled": True},
        source="provision",
        system=True,
    )
    client.force_login(superadmin)
    for url in ("/ops/", f"/ops/workspaces/{tenant.workspace.pk}/"):
        response = client.get(url)
        assert response.status_code == 200
        row = response.content.decode().split('title="auto_send_enabled">Auto-send</td>')[1]
        assert row.split("</tr>")[0].count("<td>system</td>") == 1


def test_overview_query_count_does_not_grow_with_workspaces(client, tenant, superadmin):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.conftest import build_tenant

    client.force_login(superadmin)
    client.get("/ops/")  # warm the session
    with CaptureQueriesContext(connection) as one:
        client.get("/ops/")
    for i in range(6):
        build_tenant(f"Tenant {i}")
    with CaptureQueriesContext(connection) as seven:
        assert client.get("/ops/").status_code == 200
    assert len(seven.captured_queries) == len(one.captured_queries)


def test_toggle_is_idempotent_and_returns_where_asked(client, tenant, superadmin):
    client.force_login(superadmin)
    url = f"/ops/workspaces/{tenant.workspace.pk}/toggle/"
    data = {"field": "revision_enabled", "value": "on", "next": "/ops/#workspaces"}
    first = client.post(url, data)
    second = client.post(url, data)  # a double click
    assert first["Location"] == second["Location"] == "/ops/#workspaces"
    assert SettingsChange.objects.count() == 1
    page = client.get("/ops/").content.decode()
    assert "nothing changed" in page  # the second click's message


def test_toggle_ignores_an_offsite_next(client, tenant, superadmin):
    client.force_login(superadmin)
    response = client.post(
        f"/ops/workspaces/{tenant.workspace.pk}/toggle/",
        {
            "field": "auto_send_enabled",
            "value": "on",
            "confirmed": "on",
            "next": "https://evil.example/",
        },
    )
    assert response["Location"] == f"/ops/workspaces/{tenant.workspace.pk}/"


def test_toggle_refuses_a_knob_that_is_not_a_switch(client, tenant, superadmin):
    client.force_login(superadmin)
    client.post(
        f"/ops/workspaces/{tenant.workspace.pk}/toggle/",
        {"field": "lead_context_bundle_enabled", "value": "on"},
    )
    assert not WorkspaceSettings.objects.get(workspace=tenant.workspace).lead_context_bundle_enabled
    assert SettingsChange.objects.count() == 0


def test_a_stale_form_only_saves_what_was_changed(client, tenant, superadmin):
    """Someone changes the threshold after the page was rendered; saving the page's other
    knob must not put the old threshold back."""
    client.force_login(superadmin)
    rendered = knobs_post(tenant.workspace.settings, auto_send_delay_max_seconds=1000)
    workspace_settings_update(
        workspace=tenant.workspace,
        actor=superadmin,
        changes={"auto_send_confidence_threshold": 0.6},
        source="api",
    )
    assert client.post(f"/ops/workspaces/{tenant.workspace.pk}/knobs/", rendered).status_code == 302
    ws_settings = WorkspaceSettings.objects.get(workspace=tenant.workspace)
    assert ws_settings.auto_send_confidence_threshold == 0.6
    assert ws_settings.auto_send_delay_max_seconds == 1000
    assert list(SettingsChange.objects.values_list("field", "source")) == [
        ("auto_send_delay_max_seconds", "ops"),
        ("auto_send_confidence_threshold", "api"),
    ]


def test_workspace_page_shows_history_and_the_suggestion_beside_the_threshold(
    client, tenant, superadmin
):
    now = timezone.now()
    for _ in range(20):
        draft = make_draft(tenant.email_channel, created_at=now, auto_send_confidence=0.8)
        review(draft, tenant.operator, "approve", at=now - timedelta(hours=1))
    client.force_login(superadmin)
    url = f"/ops/workspaces/{tenant.workspace.pk}/"
    client.post(url + "toggle/", {"field": "revision_enabled", "value": "on"})
    body = client.get(url).content.decode()
    threshold_input = body.index('name="auto_send_confidence_threshold"')
    suggestion = body.index('suggested <strong class="num">0.80</strong> · rests on 20 drafts')
    history = body.index('id="history-h"')
    assert threshold_input < suggestion < history
    assert body.count('title="revision_enabled">Revision (canary)</td>') == 1
    assert superadmin.email in body[history:]
    # Shown, never applied.
    assert (
        WorkspaceSettings.objects.get(workspace=tenant.workspace).auto_send_confidence_threshold
        == 0.85
    )


def test_workspace_page_warns_when_a_kill_switch_overrides_it(client, tenant, superadmin, settings):
    settings.AUTO_SEND_REVISION_DISABLED = True
    client.force_login(superadmin)
    body = client.get(f"/ops/workspaces/{tenant.workspace.pk}/").content.decode()
    assert "AUTO_SEND_REVISION_DISABLED=1</strong> is set" in body


def test_feed_page_filters_and_pages(client, superadmin, tenant):
    from pipeline.models import AIInteraction

    for i in range(55):
        AIInteraction.objects.create(
            workspace=tenant.workspace,
            stage="draft_generation_step2",
            provider="offline",
            model="m",
            outcome="ok" if i % 5 else "timeout",
            latency_ms=100 + i,
        )
    client.force_login(superadmin)
    first = client.get("/ops/feed/")
    assert first.context["events"].paginator.count == 55
    assert len(first.context["events"].object_list) == 50
    assert "page=2" in first.content.decode()
    timeouts = client.get("/ops/feed/", {"outcome": "timeout", "source": "call"})
    assert timeouts.context["events"].paginator.count == 11
    bad = client.get("/ops/feed/", {"stage": "nope"})
    assert bad.status_code == 200
    assert "Unknown filter value ignored." in bad.content.decode()
