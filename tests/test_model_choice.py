"""A workspace's model choices are checked against what the model server offers (issue 16):
with `LLM_PROVIDER=openai` pointed at a self-hosted server, a model name the server does not
list is refused where it is chosen (the API, /ops/, the admin), naming the models it does
offer; the server's list is probed once, not per save; a server that cannot be reached does
not block the save, and the person is told the name was not checked. The offline provider
checks nothing. A name chosen from the server's list is the one the pipeline sends."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ApiClient
from tests.factories import MembershipFactory
from tests.live_processes import free_port
from tests.ops_builders import ADMIN_FIELDS, admin_post, knobs_post
from tests.test_llm_openai import _call, demo, fake_openai
from workspaces.models import Role, SettingsChange, WorkspaceSettings
from workspaces.services import api_token_create

pytestmark = pytest.mark.django_db

__all__ = ["demo", "fake_openai"]

API = "/api/v1/workspace/settings"
OFFERED = ("gemma-3-270m", "qwen2.5-0.5b")


@pytest.fixture
def local_server(fake_openai: Any, settings: Any) -> Any:
    """A self-hosted server offering two models; forced structured mode, so the probe is
    `/v1/models` only."""
    settings.LLM_DEFAULT_MODEL = OFFERED[0]
    fake_openai.models = OFFERED
    return fake_openai


@pytest.fixture
def admin_api(tenant: Any, superadmin: Any) -> ApiClient:
    MembershipFactory(user=superadmin, workspace=tenant.workspace, role=Role.ADMIN)
    _, token = api_token_create(workspace=tenant.workspace, user=superadmin)
    return ApiClient(token)


def _saved(tenant: Any) -> WorkspaceSettings:
    return WorkspaceSettings.objects.get(workspace=tenant.workspace)


def test_a_model_the_server_does_not_offer_is_refused_naming_the_ones_it_does(
    local_server, tenant, admin_api
):
    response = admin_api.patch(API, {"draft_model": "gpt-4o", "undo_seconds": 30})

    assert response.status_code == 400
    details = response.json()["details"]
    assert [d["field"] for d in details] == ["draft_model"]
    port = local_server.base_url.split("//")[1].split("/")[0]
    assert details[0]["message"] == (
        f"The model server ({port}) does not offer “gpt-4o”. It offers: gemma-3-270m, qwen2.5-0.5b."
    )
    saved = _saved(tenant)
    assert (saved.draft_model, saved.undo_seconds) == ("gpt-5-mini", 10)
    assert not SettingsChange.objects.filter(workspace=tenant.workspace).exists()


def test_an_offered_model_is_saved_and_the_server_is_asked_once(local_server, tenant, admin_api):
    first = admin_api.patch(API, {"draft_model": "qwen2.5-0.5b"})
    second = admin_api.patch(API, {"revision_model": "gemma-3-270m"})
    refused = admin_api.patch(API, {"revision_model": "gpt-5.2-typo"})

    assert (first.status_code, second.status_code, refused.status_code) == (200, 200, 400)
    assert first.json()["notices"] == []
    saved = _saved(tenant)
    assert (saved.draft_model, saved.revision_model) == ("qwen2.5-0.5b", "gemma-3-270m")
    assert local_server.model_listings == 1
    assert local_server.requests == []  # no chat call: nothing is generated to check a name


def test_a_name_sent_back_unchanged_is_not_refused(local_server, tenant, admin_api):
    """A client that writes back what it read keeps working after the server changed."""
    current = admin_api.get(API).json()
    del current["workspace_id"]
    current["undo_seconds"] = 20

    response = admin_api.patch(API, current)

    assert response.status_code == 200, response.content
    assert (_saved(tenant).draft_model, _saved(tenant).undo_seconds) == ("gpt-5-mini", 20)


def test_an_unreachable_server_does_not_block_the_save_and_says_so(
    fake_openai, settings, tenant, admin_api
):
    settings.OPENAI_BASE_URL = f"http://127.0.0.1:{free_port()}/v1"

    response = admin_api.patch(API, {"draft_model": "llama-3.2-1b"})

    assert response.status_code == 200, response.content
    assert response.json()["draft_model"] == "llama-3.2-1b"
    [notice] = response.json()["notices"]
    assert "Saved without checking the model name" in notice
    assert "could not be reached" in notice
    assert SettingsChange.objects.get(workspace=tenant.workspace).new_value == "llama-3.2-1b"


def test_the_offline_provider_checks_nothing(settings, tenant, admin_api):
    settings.LLM_PROVIDER = "offline"

    response = admin_api.patch(API, {"revision_model": "anything-at-all"})

    assert response.status_code == 200
    assert response.json()["notices"] == []
    assert _saved(tenant).revision_model == "anything-at-all"


def test_the_ops_page_puts_the_refusal_next_to_the_field(local_server, client, tenant, superadmin):
    client.force_login(superadmin)
    url = f"/ops/workspaces/{tenant.workspace.pk}/knobs/"

    response = client.post(url, knobs_post(tenant.workspace.settings, revision_model="gpt-5.2x"))

    assert response.status_code == 400
    page = response.content.decode()
    assert "does not offer “gpt-5.2x”. It offers: gemma-3-270m, qwen2.5-0.5b." in page
    assert _saved(tenant).revision_model == "gpt-5.2"


def test_the_ops_page_saves_and_warns_when_the_server_is_down(
    fake_openai, settings, client, tenant, superadmin
):
    settings.OPENAI_BASE_URL = f"http://127.0.0.1:{free_port()}/v1"
    client.force_login(superadmin)
    url = f"/ops/workspaces/{tenant.workspace.pk}/knobs/"

    response = client.post(
        url, knobs_post(tenant.workspace.settings, revision_model="llama-3.2-1b"), follow=True
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Revision model gpt-5.2 → llama-3.2-1b" in page
    assert "Saved without checking the model name" in page
    assert _saved(tenant).revision_model == "llama-3.2-1b"


def test_the_admin_refuses_a_model_the_server_does_not_offer(
    local_server, client, tenant, superadmin
):
    client.force_login(superadmin)
    url = f"/admin/workspaces/workspacesettings/{tenant.workspace.pk}/change/"

    response = client.post(
        url, admin_post(tenant.workspace.settings, ADMIN_FIELDS, draft_model="gpt-4o"), follow=True
    )

    assert "does not offer “gpt-4o”" in response.content.decode()
    assert _saved(tenant).draft_model == "gpt-5-mini"
    assert not SettingsChange.objects.filter(workspace=tenant.workspace).exists()


def test_a_model_chosen_from_the_servers_list_is_the_one_sent(local_server, demo):
    """Not in the hosted catalogue and not the deployment default: still sent as chosen."""
    _, usage = _call(demo, model="qwen2.5-0.5b")

    assert [r["model"] for r in local_server.requests] == ["qwen2.5-0.5b"]
    assert usage.model == "qwen2.5-0.5b"
