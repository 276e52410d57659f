"""Job runs on /ops/ (the Jobs tab) and in the Django admin."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.factories import MembershipFactory, UserFactory
from workspaces.jobs import job_run
from workspaces.models import JobRun, JobType, Role

URL = "/ops/jobs/"


def _run(type: str, status: str, *, workspace: Any = None, minutes_ago: int = 0, **fields: Any):
    now = timezone.now()
    run = JobRun.objects.create(
        type=type,
        status=status,
        workspace=workspace,
        started_at=None if status == "queued" else now,
        finished_at=now if status in ("succeeded", "failed") else None,
        **fields,
    )
    JobRun.objects.filter(pk=run.pk).update(created_at=now - timedelta(minutes=minutes_ago))
    return run


def _rows(page: str) -> int:
    """How many job rows the page shows (each has one status badge)."""
    return len(re.findall(r'<td><span class="badge badge-\w+">', page))


@pytest.fixture
def runs(tenant: Any) -> list[JobRun]:
    return [
        _run("knowledge_import", "succeeded", workspace=tenant.workspace, minutes_ago=30,
             metrics={"rows_processed": 8, "created": 8, "skipped": 0, "duration_ms": 41}),
        _run("timing_backfill", "failed", minutes_ago=20, error="OperationalError: lost",
             metrics={"rows_processed": 500, "duration_ms": 2400}),
        _run("knowledge_refresh", "failed", workspace=tenant.workspace, minutes_ago=10,
             error="1 of 2 documents could not be refreshed",
             metrics={"rows_processed": 2, "changed": 1, "failed": 1, "duration_ms": 7}),
        _run("message_retention", "running", workspace=tenant.workspace, minutes_ago=1),
    ]  # fmt: skip


def test_superadmins_see_every_run_newest_first(client: Any, superadmin: Any, runs: Any) -> None:
    client.force_login(superadmin)
    response = client.get(URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert _rows(page) == 4
    table = page[page.index("<tbody>") :]
    order = [table.index(f"<td>{label}</td>") for label in (
        "Message retention", "Knowledge refresh", "Response-timing backfill", "Knowledge import",
    )]  # fmt: skip
    assert order == sorted(order)
    assert "1 of 2 documents could not be refreshed" in page
    assert "all workspaces" in page  # the backfill is global
    assert "2 s" in page
    assert "41 ms" in page
    assert "<code>changed</code>&nbsp;1 · <code>failed</code>&nbsp;1" in page
    assert 'aria-current="page">Jobs</a>' in page


def test_filters_by_type_and_status(client: Any, superadmin: Any, runs: Any) -> None:
    client.force_login(superadmin)

    failed = client.get(URL, {"status": "failed"}).content.decode()
    assert "Knowledge refresh" in failed
    assert "Response-timing backfill" in failed
    assert "Knowledge import</td>" not in failed
    assert "Message retention</td>" not in failed

    refresh = client.get(URL, {"type": "knowledge_refresh", "status": "failed"}).content.decode()
    assert _rows(refresh) == 1
    assert "Knowledge refresh</td>" in refresh

    none = client.get(URL, {"type": "knowledge_import", "status": "failed"}).content.decode()
    assert "No job runs match these filters." in none
    assert _rows(none) == 0


def test_an_unknown_filter_is_ignored_and_said_so(client: Any, superadmin: Any, runs: Any) -> None:
    client.force_login(superadmin)
    page = client.get(URL, {"type": "dance"}).content.decode()
    assert "Unknown filter value ignored." in page
    assert _rows(page) == 4


def test_pages_of_fifty_keep_the_filter(
    client: Any, superadmin: Any, db: None, django_assert_max_num_queries: Any
) -> None:
    for n in range(55):
        _run("pipeline_run_purge", "succeeded", minutes_ago=n, metrics={"rows_processed": n})
    _run("timing_backfill", "succeeded")
    client.force_login(superadmin)

    with django_assert_max_num_queries(8):
        first = client.get(URL, {"type": "pipeline_run_purge"}).content.decode()
    assert first.count("Pipeline-run purge</td>") == 50
    assert "Page 1 of 2 · 55 runs" in first
    assert 'href="?type=pipeline_run_purge&amp;page=2"' in first
    second = client.get(URL, {"type": "pipeline_run_purge", "page": 2}).content.decode()
    assert second.count("Pipeline-run purge</td>") == 5


def test_only_true_superadmins_open_the_jobs_tab(client: Any, tenant: Any, runs: Any) -> None:
    assert client.get(URL)["Location"] == f"/accounts/login/?next={URL}"
    staff = UserFactory(is_staff=True)
    MembershipFactory(user=staff, workspace=tenant.workspace, role=Role.ADMIN)
    for user in (tenant.operator, staff):
        client.force_login(user)
        response = client.get(URL)
        assert response.status_code == 403
        assert "1 of 2 documents" not in response.content.decode()


def test_the_admin_lists_runs_read_only_and_scoped(
    client: Any, tenant: Any, other_tenant: Any, superadmin: Any, runs: Any
) -> None:
    theirs = _run("knowledge_import", "succeeded", workspace=other_tenant.workspace)
    client.force_login(superadmin)
    listing = client.get("/admin/workspaces/jobrun/", {"status__exact": "failed"})
    assert listing.status_code == 200
    assert listing.content.decode().count('class="field-type"') == 2
    assert client.get("/admin/workspaces/jobrun/add/").status_code == 403
    detail = client.get(f"/admin/workspaces/jobrun/{runs[1].pk}/change/").content.decode()
    assert "OperationalError: lost" in detail
    assert 'name="_save"' not in detail

    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(*_permissions("view_jobrun"))
    MembershipFactory(user=staff, workspace=tenant.workspace, role=Role.ADMIN)
    client.force_login(staff)
    page = client.get("/admin/workspaces/jobrun/").content.decode()
    # Their workspace's three runs; not the global backfill, not the other workspace's run.
    assert page.count('class="field-type"') == 3
    assert client.get(f"/admin/workspaces/jobrun/{theirs.pk}/change/").status_code == 302
    assert client.get(f"/admin/workspaces/jobrun/{runs[1].pk}/change/").status_code == 302


def _permissions(*codenames: str) -> list[Any]:
    from django.contrib.auth.models import Permission

    return list(Permission.objects.filter(codename__in=codenames))


def test_the_recorder_feeds_the_page(client: Any, superadmin: Any, tenant: Any) -> None:
    with job_run(type=JobType.MESSAGE_RETENTION, workspace=tenant.workspace) as job:
        job.set(rows_processed=12, messages_erased=12)
    client.force_login(superadmin)
    page = client.get(URL).content.decode()
    assert '<span class="badge badge-ok">succeeded</span>' in page
    assert "<code>messages_erased</code>&nbsp;12" in page
    assert f'href="/ops/workspaces/{tenant.workspace.pk}/">{tenant.workspace.name}</a>' in page
