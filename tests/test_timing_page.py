"""The `/timing/` page: data, filters, empty states, tenant isolation and its query count."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import UserFactory
from tests.timing_helpers import T0, Thread, sample_history
from timing.formatting import format_duration_ms
from timing.processor import response_timing_process
from timing.templatetags.timing_format import signed_duration_ms
from workspaces.services import workspace_settings_update

URL = "/timing/"
NOV_2 = {"start": "2026-11-02", "end": "2026-11-02"}


def process() -> None:
    response_timing_process(settle=timedelta(0))


@pytest.fixture
def operator(client: Client, tenant: Any) -> Client:
    client.force_login(tenant.operator)
    return client


@pytest.fixture
def built(tenant: Any, other_tenant: Any) -> None:
    sample_history(tenant, other_tenant)
    # The other workspace's setter has a recognisable address.
    other_tenant.rep.email = "their-setter@globex.test"
    other_tenant.rep.save()
    process()


def html(response: Any) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_needs_a_login(client: Client) -> None:
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_someone_without_a_workspace_is_told_what_to_do(client: Client, db: None) -> None:
    client.force_login(UserFactory())

    assert "not a member of any workspace" in html(client.get(URL))


def test_a_workspace_without_timing_says_how_to_get_it(operator: Client) -> None:
    page = html(operator.get(URL))

    assert "No response times yet" in page
    assert "backfill_response_timing" in page
    assert "<svg" not in page


@pytest.mark.usefixtures("built")
def test_the_page_shows_summaries_charts_setters_and_delays(operator: Client, tenant: Any) -> None:
    page = html(operator.get(URL, NOV_2))

    # The same numbers as the API: setters p50 90 s, p90 246 s over 4; AI 90 s, 258 s over 3.
    assert '<span class="kpi-value">1m 30s</span>' in page
    assert '<span class="kpi-value-small">4m 06s</span>' in page
    assert '<span class="kpi-value-small">4m 18s</span>' in page
    assert page.count('<svg class="chart"') == 3  # per day, two distributions (no delays)
    assert 'id="timing-by-day"' in page
    # Per setter: the rep answered twice (60 s and 10 s), the operator once, an outside
    # address once; the other workspace's setter never appears.
    assert tenant.rep.email in page
    assert tenant.operator.email in page
    assert "closer@elsewhere.test" in page
    assert "outside tool" in page
    assert "<h2>Your team</h2>" in page
    assert "Setter" not in page  # people, not a job title
    assert "their-setter@globex.test" not in page
    # Auto-send is off and no reply had a scheduled send: the delay section says what to do.
    assert "Auto-send is off for this workspace" in page


def test_chosen_versus_actual_delay(operator: Client, tenant: Any) -> None:
    workspace_settings_update(
        workspace=tenant.workspace,
        actor=None,
        changes={"auto_send_enabled": True},
        source="test",
        system=True,
    )
    thread = Thread.start(tenant.workspace, tenant.email_channel)
    message = thread.inbound(0)
    x = thread.ai(250, trigger=message, delay=(180, 900), started=249, finished=250)
    process()
    chosen = x.draft.scheduled_send.chosen_delay_seconds

    page = html(operator.get(URL, NOV_2))

    assert 'id="timing-delay"' in page
    minute = chosen // 60
    assert f"<td>{minute}\u2013{minute + 1} min</td>" in page
    # Chosen for this message; actual (p50 and p90) 250 s after it; overshoot the difference.
    cells = [
        format_duration_ms(chosen * 1000),
        "4m 10s",
        "4m 10s",
        signed_duration_ms(250_000 - chosen * 1000),
    ]
    assert "".join(f'<td class="num">{c}</td>' for c in cells) in page
    assert "Auto-send is off" not in page


@pytest.mark.usefixtures("built")
def test_filtering_by_channel(operator: Client, tenant: Any) -> None:
    page = html(operator.get(URL, {**NOV_2, "channel": str(tenant.sms_channel.pk)}))

    # One sms wait, answered by the rep in 10 s and by the AI in 90 s.
    assert '<span class="kpi-value">10 s</span>' in page
    assert '<span class="kpi-value">1m 30s</span>' in page
    assert "closer@elsewhere.test" not in page
    assert f'<option value="{tenant.sms_channel.pk}" selected>' in page


@pytest.mark.usefixtures("built")
def test_a_range_without_replies_suggests_widening_it(operator: Client) -> None:
    page = html(operator.get(URL, {"start": "2026-10-01", "end": "2026-10-05"}))

    assert "Widen the date range" in page
    assert "<svg" not in page


@pytest.mark.usefixtures("built")
def test_another_workspaces_channel_is_refused_and_never_shown(
    operator: Client, other_tenant: Any
) -> None:
    page = html(operator.get(URL, {**NOV_2, "channel": str(other_tenant.email_channel.pk)}))

    assert "Select a valid choice" in page
    assert "their-setter@globex.test" not in page
    # Falls back to all of this workspace's channels.
    assert '<span class="kpi-value">1m 30s</span>' in page


@pytest.mark.usefixtures("built")
def test_bad_dates_are_explained_next_to_the_field(operator: Client) -> None:
    page = html(operator.get(URL, {"start": "2026-11-05", "end": "2026-11-01"}))
    assert "Pick a start date on or before the end date." in page

    page = html(operator.get(URL, {"start": "not a date"}))
    assert "Enter a valid date." in page


@pytest.mark.usefixtures("built")
def test_text_from_the_database_is_escaped(operator: Client, tenant: Any) -> None:
    thread = Thread.start(tenant.workspace, tenant.email_channel)
    thread.inbound(0)
    thread.setter(3, email="<script>x</script>@evil.test")
    process()

    page = html(operator.get(URL, NOV_2))

    assert "<script>x</script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;@evil.test" in page


@pytest.mark.usefixtures("built")
def test_the_page_runs_a_bounded_number_of_queries(operator: Client, tenant: Any) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            html(operator.get(URL, NOV_2))
        return len(captured.captured_queries)

    before = queries()
    # More setters, threads and days must not add queries.
    for n in range(6):
        thread = Thread.start(tenant.workspace, tenant.email_channel, base=T0 - timedelta(days=n))
        thread.inbound(n)
        thread.setter(n + 10, user=UserFactory())
    process()

    assert queries() == before <= 12


def test_by_default_the_page_shows_the_last_30_days(operator: Client, tenant: Any) -> None:
    from datetime import UTC

    from django.utils import timezone

    now = timezone.now()
    for days_ago, reply_after in ((40, 7), (2, 5)):
        base = now - timedelta(days=days_ago)
        thread = Thread.start(tenant.workspace, tenant.email_channel, base=base)
        thread.inbound(0)
        thread.setter(reply_after, user=tenant.rep)
    process()

    page = html(operator.get(URL))

    today = now.astimezone(UTC).date()
    assert f'value="{today - timedelta(days=29):%Y-%m-%d}"' in page
    assert f'value="{today:%Y-%m-%d}"' in page
    assert '<span class="kpi-value">5.0 s</span>' in page
    assert '<span class="kpi-value-small">1</span> <span class="muted">reply</span>' in page
