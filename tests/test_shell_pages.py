"""The pages around the queue: the notification bell, the favicon, sign-in messages, API
tokens, a knowledge document, /ops/ health polling and the auto-send confirmation, and the
words people read instead of codes."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from config.labels import human_label
from drafts.models import Draft, Notification
from pipeline.models import KnowledgeDocument
from tests.conftest import ApiClient
from tests.factories import LeadFactory, NotificationFactory, make_draft
from workspaces.models import ApiToken, SettingsChange, WorkspaceSettings
from workspaces.services import api_token_create


@pytest.fixture(autouse=True)
def clear_cache() -> Any:
    cache.clear()  # the login throttle counts in the cache
    yield
    cache.clear()


@pytest.fixture
def operator_client(tenant: Any) -> Client:
    client = Client()
    client.force_login(tenant.operator)
    return client


def htmx(client: Client, method: str, url: str, **data: Any) -> str:
    response = getattr(client, method)(url, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return response.content.decode()


# --- The bell ----------------------------------------------------------------------------


def test_the_bell_names_lead_channel_and_snippet_and_marks_all_read(
    operator_client, tenant, other_tenant, django_assert_max_num_queries
):
    lee = LeadFactory(workspace=tenant.workspace, name="Lee Chen")
    draft = make_draft(
        tenant.workspace,
        tenant.sms_channel,
        lead=lee,
        body="This violates the TCPA, expect a letter from my lawyer.",
    )
    NotificationFactory(workspace=tenant.workspace, draft=draft, title="A draft reply needs review")
    NotificationFactory(
        workspace=tenant.workspace, kind=Notification.Kind.SEND_UNKNOWN, title="Send outcome?"
    )
    theirs = NotificationFactory(workspace=other_tenant.workspace, title="Their news")

    page = operator_client.get("/timing/").content.decode()  # the bell is on every page
    assert 'id="bell"' in page
    assert 'aria-label="2 unread">2</span>' in page

    with django_assert_max_num_queries(8):
        feed = htmx(operator_client, "get", "/notifications/")
    assert "Lee Chen" in feed
    assert "· sms" in feed
    assert "“This violates the TCPA, expect a letter from my lawyer.”" in feed
    assert f'href="/drafts/{draft.pk}"' in feed
    assert "Their news" not in feed
    assert "Mark all read" in feed

    after = htmx(operator_client, "post", "/notifications/read-all")
    assert not Notification.objects.filter(workspace=tenant.workspace, read_at=None).exists()
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    assert "Mark all read" not in after
    # The bell's count is swapped out of band to 0, hidden.
    assert 'id="bell-count" class="count" hidden hx-swap-oob="true"' in after


def test_marking_one_read_updates_the_bell_count(operator_client, tenant):
    first, _ = (NotificationFactory(workspace=tenant.workspace) for _ in range(2))
    item = htmx(operator_client, "post", f"/notifications/{first.pk}/read")
    assert 'hx-swap-oob="true" aria-label="1 unread">1</span>' in item
    assert f'id="n-{first.pk}"' in item


# --- Favicon, sign-in ---------------------------------------------------------------------


def test_favicon_answers_instead_of_a_404(client, tenant):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/favicon.svg"
    assert "max-age=86400" in response["Cache-Control"]
    client.force_login(tenant.operator)
    assert '<link rel="icon" href="/static/favicon.svg"' in client.get("/").content.decode()


def test_a_wrong_password_says_email_not_username(client, tenant):
    response = client.post(
        "/accounts/login/", {"username": tenant.operator.username, "password": "wrong"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "That email and password do not match an account." in page
    assert "username" not in page.split('role="alert"')[1].split("</div>")[0]
    assert "_auth_user_id" not in client.session


def test_an_empty_submit_says_what_is_missing(client, db):
    page = client.post("/accounts/login/", {"username": "", "password": ""}).content.decode()
    assert "Enter your email." in page
    assert "Enter your password." in page
    page = client.post("/accounts/login/", {"username": "a@b.test", "password": ""}).content
    assert b"Enter your email." not in page
    assert b"Enter your password." in page
    assert b'value="a@b.test"' in page


# --- API tokens -----------------------------------------------------------------------------


def test_tokens_page_lists_only_my_tokens_in_this_workspace(operator_client, tenant, other_tenant):
    api_token_create(workspace=tenant.workspace, user=tenant.rep, name="Rep's CRM")
    page = operator_client.get("/settings/api-tokens/").content.decode()
    mine = ApiToken.objects.get(workspace=tenant.workspace, user=tenant.operator)
    assert f"rdk_{mine.prefix}_…" in page
    assert "never" in page  # not used yet
    assert "Rep's CRM" not in page
    assert other_tenant.token.split("_")[1] not in page


def test_creating_a_token_shows_the_secret_once_and_it_works(operator_client, tenant):
    response = operator_client.post("/settings/api-tokens/", {"name": "CRM sync"})
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    created = ApiToken.objects.get(name="CRM sync")
    page = response.content.decode()
    raw = page.split('data-testid="new-token">')[1].split("<")[0]
    assert raw.startswith(f"rdk_{created.prefix}_")
    assert (created.user, created.workspace) == (tenant.operator, tenant.workspace)
    # It acts as its owner, and using it shows on the page as "last used".
    assert ApiClient(raw).get("/api/v1/workspace/settings").status_code == 200
    again = operator_client.get("/settings/api-tokens/").content.decode()
    assert raw not in again
    row = again.split(f'id="token-{created.pk}"')[1].split("</tr>")[0]
    assert "never" not in row


def test_a_token_needs_a_name(operator_client, tenant):
    before = ApiToken.objects.count()
    response = operator_client.post("/settings/api-tokens/", {"name": "  "})
    assert response.status_code == 400
    assert "Give the token a name" in response.content.decode()
    assert ApiToken.objects.count() == before


def test_revoking_refuses_the_token_at_once(operator_client, tenant, api):
    token = ApiToken.objects.get(workspace=tenant.workspace, user=tenant.operator)
    response = operator_client.post(f"/settings/api-tokens/{token.pk}/revoke")
    assert response.status_code == 302
    assert api.get("/api/v1/workspace/settings").status_code == 401
    page = operator_client.get("/settings/api-tokens/").content.decode()
    assert "revoked: requests using it are refused now" in page
    assert "Revoke…" not in page
    revoked_at = ApiToken.objects.get(pk=token.pk).revoked_at
    assert operator_client.post(f"/settings/api-tokens/{token.pk}/revoke").status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at == revoked_at  # once


def test_someone_elses_token_cannot_be_revoked(operator_client, tenant, other_tenant):
    rep_token, _ = api_token_create(workspace=tenant.workspace, user=tenant.rep, name="rep")
    theirs = ApiToken.objects.get(workspace=other_tenant.workspace)
    for token in (rep_token, theirs):
        assert operator_client.post(f"/settings/api-tokens/{token.pk}/revoke").status_code == 404
        assert ApiToken.objects.get(pk=token.pk).revoked_at is None


# --- Knowledge ------------------------------------------------------------------------------


def test_a_knowledge_document_reads_in_full_from_its_list(operator_client, tenant, other_tenant):
    doc = KnowledgeDocument.objects.create(
        workspace=tenant.workspace, title="Day passes", body="Day passes cost $25.\n\nDogs <ok>."
    )
    theirs = KnowledgeDocument.objects.create(
        workspace=other_tenant.workspace, title="Secret", body="Their prices"
    )
    listing = operator_client.get("/knowledge/").content.decode()
    assert f'<a href="/knowledge/{doc.pk}/">Day passes</a>' in listing
    page = operator_client.get(f"/knowledge/{doc.pk}/").content.decode()
    assert "<p>Day passes cost $25.</p>" in page
    assert "Dogs &lt;ok&gt;." in page
    assert 'aria-current="page">Knowledge</a>' in page
    assert operator_client.get(f"/knowledge/{theirs.pk}/").status_code == 404


# --- /ops/ ----------------------------------------------------------------------------------


def test_ops_health_fragment_polls_and_is_for_superadmins(client, tenant, superadmin):
    client.force_login(superadmin)
    overview = client.get("/ops/").content.decode()
    assert 'hx-get="/ops/health/" hx-trigger="every 10s"' in overview
    make_draft(tenant.workspace, tenant.email_channel)
    fragment = client.get("/ops/health/").content.decode()
    assert fragment.startswith('<section aria-labelledby="health-h" id="health"')
    assert 'data-testid="pending-review">1<' in fragment
    assert "<html" not in fragment
    client.force_login(tenant.operator)
    assert client.get("/ops/health/").status_code == 403


def test_turning_auto_send_on_asks_first_and_says_what_it_affects(client, tenant, superadmin):
    for _ in range(3):
        make_draft(tenant.workspace, tenant.email_channel)
    make_draft(tenant.workspace, tenant.email_channel, status=Draft.Status.REJECTED)
    client.force_login(superadmin)
    url = f"/ops/workspaces/{tenant.workspace.pk}/toggle/"
    data = {"field": "auto_send_enabled", "value": "on", "next": "/ops/#workspaces"}
    asked = client.post(url, data)
    assert asked.status_code == 200
    page = asked.content.decode()
    assert "Turn auto-send on for Acme?" in page
    assert '<strong class="num">3</strong> drafts waiting for review now stay' in page
    assert not WorkspaceSettings.objects.get(workspace=tenant.workspace).auto_send_enabled
    assert not SettingsChange.objects.exists()

    done = client.post(url, {**data, "confirmed": "on"})
    assert done["Location"] == "/ops/#workspaces"
    assert WorkspaceSettings.objects.get(workspace=tenant.workspace).auto_send_enabled
    assert "Acme: Auto-send off → on." in client.get("/ops/").content.decode()
    # Turning it off needs no confirmation.
    off = client.post(url, {"field": "auto_send_enabled", "value": "off"})
    assert off.status_code == 302
    assert not WorkspaceSettings.objects.get(workspace=tenant.workspace).auto_send_enabled


def test_ops_pages_show_labels_not_codes(client, tenant, superadmin):
    make_draft(
        tenant.workspace,
        tenant.email_channel,
        blocked_reason="legal_threat",
        auto_send_action=Draft.Action.BLOCK,
    )
    client.force_login(superadmin)
    client.post(
        f"/ops/workspaces/{tenant.workspace.pk}/toggle/",
        {"field": "auto_send_enabled", "value": "on", "confirmed": "on"},
    )
    page = client.get("/ops/").content.decode()
    assert "Automatic sends, every workspace" in page
    assert '<td title="legal_threat">Legal threat</td>' in page
    history = page[page.index('id="changes-h"') :]
    assert 'title="auto_send_enabled">Auto-send</td>' in history
    assert ">Control plane</span>" in history
    assert "UTC" in history


def test_human_label_falls_back_to_words():
    assert human_label("opt_out") == "Asked to stop messages"
    assert human_label("AUTO_SEND_DISABLED") == "Automatic sending stopped for every workspace"
    assert human_label("some_new_code") == "some new code"
    assert human_label(None) == ""
