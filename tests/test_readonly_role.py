"""The read-only analytics role, for real: `analytics_readonly_role --apply` creates it on the
test database, a `readonly` connection logs in with the DATABASE_URL_RO the command printed,
and the timing and ops pages read through it.

PostgreSQL roles are cluster-wide, so the role gets a name unique to this run and is dropped
afterwards. The tests commit their data (transactional) so the second connection sees it.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg.errors
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, InternalError, ProgrammingError, connections
from django.test.utils import CaptureQueriesContext

from config.env import parse_database_url
from drafts.models import Draft, DraftAction, LearningSample, Message
from pipeline.models import AIInteraction
from tests.conftest import ApiClient
from tests.ops_builders import knobs_post, make_draft, review
from tests.timing_helpers import sample_history
from timing.processor import response_timing_process
from workspaces.analytics_db import (
    READONLY_ALIAS,
    analytics_db,
    analytics_role_apply,
    analytics_role_drop_sql,
)
from workspaces.models import Channel, Lead, SettingsChange, Workspace

pytestmark = pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, READONLY_ALIAS])

# Columns the role must never read, and what every read query of the pages must avoid.
WITHHELD = ('"body_text"', '"body_html"', '"original_text"', '"final_text"', '"payload"')


@pytest.fixture(scope="module")
def readonly_role(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """Apply the command's SQL to the test database and add the `readonly` alias from the
    DATABASE_URL_RO it printed; drop both afterwards."""
    role = f"rd_ro_test_{uuid.uuid4().hex[:12]}"
    out = io.StringIO()
    with django_db_blocker.unblock():
        call_command(
            "analytics_readonly_role", "--apply", "--role", role, "--password", "pw-1", stdout=out
        )
    [url] = [line.split("=", 1)[1] for line in out.getvalue().splitlines() if "_RO=" in line]
    parsed = parse_database_url("DATABASE_URL_RO", url)
    ro = {
        **connections[DEFAULT_DB_ALIAS].settings_dict,
        **{key: parsed[key] for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT")},
        "CONN_MAX_AGE": 0,
        # The test case flushes only non-mirrors: the role may not TRUNCATE (nor should it).
        "TEST": {**connections[DEFAULT_DB_ALIAS].settings_dict["TEST"], "MIRROR": "default"},
    }
    settings.DATABASES[READONLY_ALIAS] = ro
    connections.settings[READONLY_ALIAS] = ro
    try:
        yield role
    finally:
        connections[READONLY_ALIAS].close()
        del connections[READONLY_ALIAS]
        settings.DATABASES.pop(READONLY_ALIAS, None)
        connections.settings.pop(READONLY_ALIAS, None)
        with django_db_blocker.unblock():
            analytics_role_apply(statements=analytics_role_drop_sql(role=role))


@pytest.fixture
def ro(readonly_role: str) -> Iterator[Any]:
    connection = connections[READONLY_ALIAS]
    yield connection
    connection.close()  # forget any session setting a test made


def _cause(exc: pytest.ExceptionInfo[BaseException]) -> BaseException | None:
    return exc.value.__cause__


def test_the_command_prints_the_sql_and_the_url_by_default(readonly_role: str) -> None:
    out = io.StringIO()
    call_command("analytics_readonly_role", "--role", "analytics_x", stdout=out)
    text = out.getvalue()

    assert text.splitlines()[2] == "BEGIN;"
    assert 'CREATE ROLE "analytics_x" NOSUPERUSER' in text
    assert 'GRANT SELECT ON TABLE "public"."timing_responsetimingevent" TO "analytics_x";' in text
    for withheld in ('"body_text"', '"password"', '"secret"'):
        assert withheld not in text
    for verb in ("INSERT", "UPDATE", "DELETE", "TRUNCATE"):
        assert f"GRANT {verb}" not in text
    assert text.rstrip().endswith(f"@127.0.0.1:5432/{connections['default'].settings_dict['NAME']}")
    # Nothing was applied.
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_roles WHERE rolname = 'analytics_x'")
        assert cursor.fetchone() == (0,)


def test_it_reads_the_analytics_tables_as_the_role(ro: Any, readonly_role: str, tenant: Any):
    with ro.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == (readonly_role,)
    assert analytics_db() == READONLY_ALIAS
    assert list(Workspace.objects.using(READONLY_ALIAS).values_list("name", flat=True)) == ["Acme"]
    assert sorted(Channel.objects.using(READONLY_ALIAS).values_list("kind", flat=True)) == [
        "email",
        "sms",
    ]


def test_it_cannot_write(ro: Any, tenant: Any) -> None:
    workspace = tenant.workspace

    # The role's sessions start read-only...
    with pytest.raises(InternalError) as exc:
        Workspace.objects.using(READONLY_ALIAS).create(name="Evil", slug="evil")
    assert isinstance(_cause(exc), psycopg.errors.ReadOnlySqlTransaction)

    # ...and a session that turns that off still has no privilege to write.
    with ro.cursor() as cursor:
        cursor.execute("SET default_transaction_read_only = off")
    with pytest.raises(ProgrammingError) as exc:
        Workspace.objects.using(READONLY_ALIAS).create(name="Evil", slug="evil")
    assert isinstance(_cause(exc), psycopg.errors.InsufficientPrivilege)
    for statement in (
        "UPDATE workspaces_workspace SET name = 'Evil'",
        "DELETE FROM workspaces_workspace",
        "TRUNCATE workspaces_workspace CASCADE",
        "INSERT INTO timing_responsetimingevent SELECT * FROM timing_responsetimingevent",
        "CREATE TABLE public.ro_was_here (id int)",
    ):
        with pytest.raises(ProgrammingError) as exc, ro.cursor() as cursor:
            cursor.execute(statement)
        assert isinstance(_cause(exc), psycopg.errors.InsufficientPrivilege), statement

    assert list(Workspace.objects.values_list("pk", "name")) == [(workspace.pk, "Acme")]


@pytest.mark.parametrize(
    "read",
    [
        lambda: list(Message.objects.using(READONLY_ALIAS).values_list("body_text")),
        lambda: list(Message.objects.using(READONLY_ALIAS).all()),  # every column
        lambda: list(Draft.objects.using(READONLY_ALIAS).values_list("text")),
        lambda: list(DraftAction.objects.using(READONLY_ALIAS).values_list("final_text")),
        lambda: list(Channel.objects.using(READONLY_ALIAS).values_list("secret")),
        lambda: list(LearningSample.objects.using(READONLY_ALIAS).values_list("id")),
        lambda: list(Lead.objects.using(READONLY_ALIAS).values_list("email")),
    ],
    ids=[
        "body_text",
        "all_message_columns",
        "draft_text",
        "final_text",
        "secret",
        "samples",
        "lead",
    ],
)
def test_text_secrets_and_other_tables_are_refused(ro: Any, tenant: Any, read: Any) -> None:
    with pytest.raises(ProgrammingError) as exc:
        read()
    assert isinstance(_cause(exc), psycopg.errors.InsufficientPrivilege)


def test_the_other_columns_of_a_text_table_are_readable(ro: Any, tenant: Any) -> None:
    draft = make_draft(tenant.email_channel, created_at=tenant.workspace.created_at)

    rows = Message.objects.using(READONLY_ALIAS).values_list("pk", "direction")
    assert list(rows) == [(draft.trigger_message_id, "inbound")]
    assert Draft.objects.using(READONLY_ALIAS).only("id", "status").get().status == "pending"


def test_timing_summary_api_reads_through_the_role(ro: Any, tenant: Any, other_tenant: Any):
    sample_history(tenant, other_tenant)
    response_timing_process(settle=timedelta(0))

    with CaptureQueriesContext(ro) as queries:
        response = ApiClient(tenant.token).get(
            "/api/v1/timing/summary",
            {
                "since": "2026-11-02T00:00:00Z",
                "until": "2026-11-03T00:00:00Z",
                "channel": str(tenant.email_channel.pk),
            },
        )

    assert response.status_code == 200, response.content
    assert (response.json()["setter"], response.json()["ai"]) == (
        {"count": 3, "p50_ms": 120_000, "p90_ms": 264_000},
        {"count": 2, "p50_ms": 165_000, "p90_ms": 273_000},
    )
    assert len(queries) == 2  # the channel, then the summary


def test_timing_page_reads_through_the_role(ro: Any, client: Any, tenant: Any, other_tenant: Any):
    sample_history(tenant, other_tenant)
    response_timing_process(settle=timedelta(0))
    client.force_login(tenant.operator)

    with CaptureQueriesContext(ro) as queries:
        response = client.get("/timing/", {"start": "2026-11-02", "end": "2026-11-02"})

    page = response.content.decode()
    assert response.status_code == 200
    assert '<span class="kpi-value">1m 30s</span>' in page  # setters' p50, as on default
    assert tenant.rep.email in page
    assert "closer@elsewhere.test" in page
    assert len(queries) >= 6
    assert not [q["sql"] for q in queries if any(col in q["sql"] for col in WITHHELD)]


def test_ops_pages_read_through_the_role_and_knobs_still_change(
    ro: Any, client: Any, tenant: Any, superadmin: Any
) -> None:
    now = tenant.workspace.created_at
    draft = make_draft(
        tenant.email_channel,
        created_at=now,
        loop_ms=[1500, 2500, 1000],
        auto_send_action=Draft.Action.REVIEW,
        auto_send_confidence=0.7,
        revision_attempted_at=now,
        revision_applied=True,
    )
    review(draft, tenant.operator, DraftAction.Kind.EDIT, at=now, final_text="Thanks, Ada!")
    AIInteraction.objects.create(
        workspace=tenant.workspace,
        stage="draft_generation_step2",
        provider="offline",
        model="offline",
        outcome="ok",
        latency_ms=640,
    )
    client.force_login(superadmin)
    workspace_page = f"/ops/workspaces/{tenant.workspace.pk}/"

    response = client.post(
        f"{workspace_page}knobs/",
        knobs_post(tenant.workspace.settings, auto_send_confidence_threshold=0.9),
    )
    assert response.status_code == 302
    assert list(SettingsChange.objects.values_list("field", "new_value")) == [
        ("auto_send_confidence_threshold", 0.9)
    ]

    for url, shown in [
        ("/ops/", "Acme"),
        ("/ops/feed/", "draft_generation_step2"),
        ("/ops/quality/", "Acme"),
        (workspace_page, "auto_send_confidence_threshold"),
    ]:
        with CaptureQueriesContext(ro) as queries:
            response = client.get(url)
        assert response.status_code == 200, url
        assert shown in response.content.decode(), url
        assert len(queries) >= 1, url
        assert not [q["sql"] for q in queries if any(col in q["sql"] for col in WITHHELD)], url
