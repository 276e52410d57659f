"""`GET /api/v1/timing/summary`: exact numbers, windows, channels and tenant isolation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.conftest import ApiClient
from tests.timing_helpers import Thread, sample_history
from timing.processor import response_timing_process

URL = "/api/v1/timing/summary"
DAY = {"since": "2026-11-02T00:00:00Z", "until": "2026-11-03T00:00:00Z"}


@pytest.fixture
def built(tenant: Any, other_tenant: Any) -> None:
    sample_history(tenant, other_tenant)
    response_timing_process(settle=timedelta(0))


@pytest.mark.usefixtures("built")
def test_summary_gives_exact_counts_and_percentiles(api: ApiClient) -> None:
    response = api.get(URL, DAY)

    assert response.status_code == 200
    # percentile_cont over [10, 60, 120, 300] s: p50 = 90 s, p90 = 120 + 0.7 x 180 = 246 s;
    # over [30, 90, 300] s: p50 = 90 s, p90 = 90 + 0.8 x 210 = 258 s.
    assert response.json() == {
        "setter": {"count": 4, "p50_ms": 90_000, "p90_ms": 246_000},
        "ai": {"count": 3, "p50_ms": 90_000, "p90_ms": 258_000},
        "since": "2026-11-02T00:00:00Z",
        "until": "2026-11-03T00:00:00Z",
    }


@pytest.mark.usefixtures("built")
def test_summary_for_one_channel(api: ApiClient, tenant: Any) -> None:
    response = api.get(URL, {**DAY, "channel": str(tenant.sms_channel.pk)})

    assert response.status_code == 200
    assert (response.json()["setter"], response.json()["ai"]) == (
        {"count": 1, "p50_ms": 10_000, "p90_ms": 10_000},
        {"count": 1, "p50_ms": 90_000, "p90_ms": 90_000},
    )


@pytest.mark.usefixtures("built")
def test_another_workspaces_channel_is_a_404(api: ApiClient, other_tenant: Any) -> None:
    response = api.get(URL, {**DAY, "channel": str(other_tenant.email_channel.pk)})

    assert response.status_code == 404
    assert response.json() == {"error": "Not found.", "details": None}


@pytest.mark.usefixtures("built")
def test_each_workspace_sees_only_its_own(other_tenant: Any) -> None:
    response = ApiClient(other_tenant.token).get(URL, DAY)

    assert response.status_code == 200
    assert response.json()["setter"] == {"count": 1, "p50_ms": 1000, "p90_ms": 1000}
    assert response.json()["ai"] == {"count": 1, "p50_ms": 2000, "p90_ms": 2000}


@pytest.mark.usefixtures("built")
def test_an_empty_window_has_no_percentiles(api: ApiClient) -> None:
    response = api.get(URL, {"since": "2026-10-01T00:00:00", "until": "2026-10-02T00:00:00"})

    assert response.status_code == 200
    assert response.json()["setter"] == {"count": 0, "p50_ms": None, "p90_ms": None}
    assert response.json()["ai"] == {"count": 0, "p50_ms": None, "p90_ms": None}
    # A time without a zone is UTC.
    assert response.json()["since"] == "2026-10-01T00:00:00Z"


def test_the_default_window_is_the_last_30_days(api: ApiClient, tenant: Any) -> None:
    now = timezone.now()
    for days_ago, reply_after in ((40, 7), (2, 5)):
        thread = Thread.start(
            tenant.workspace, tenant.email_channel, base=now - timedelta(days_ago)
        )
        thread.inbound(0)
        thread.setter(reply_after, user=tenant.rep)
    response_timing_process(settle=timedelta(0))

    response = api.get(URL)

    assert response.status_code == 200
    assert response.json()["setter"] == {"count": 1, "p50_ms": 5000, "p90_ms": 5000}


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"since": "2026-11-03T00:00:00Z", "until": "2026-11-02T00:00:00Z"}, 400),
        ({"since": "2026-11-02T00:00:00Z", "until": "2026-11-02T00:00:00Z"}, 400),
        ({"since": "yesterday"}, 400),
        ({"channel": "not-a-uuid"}, 400),
    ],
)
def test_bad_parameters_are_a_clear_400(api: ApiClient, params: dict, status: int) -> None:
    response = api.get(URL, params)

    assert response.status_code == status
    assert response.json()["error"]
    assert response.json()["details"]


def test_the_summary_needs_authentication(client: Any, tenant: Any) -> None:
    response = client.get(URL)

    assert response.status_code == 401
    assert "error" in response.json()


@pytest.mark.usefixtures("built")
def test_the_browser_session_works_too(client: Any, tenant: Any) -> None:
    client.force_login(tenant.operator)

    response = client.get(URL, DAY)

    assert response.status_code == 200
    assert response.json()["setter"]["count"] == 4
