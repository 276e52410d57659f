"""Review benchmark: 100,000 drafts in one workspace; p50/p95 of the review queue page and of
GET /api/v1/drafts at the first page and a deep page, and the queries each request makes.

Runs on its own (`.venv/bin/python bench/review.py`): creates a fresh PostgreSQL database on
the server of DATABASE_URL (default 127.0.0.1:5432), migrates it, bulk-inserts the rows with
SQL, measures in-process through Django's full request stack (middleware, auth, templates),
then drops the database. Prints `review.queue_p95_ms`, `review.api_p95_ms` and
`review.queries_per_request` last (CONTRACTS.md "Benchmarks").
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DRAFTS = int(os.environ.get("BENCH_REVIEW_DRAFTS", "100000"))
LEADS = 5_000
PENDING_SHARE = 0.9  # the rest is sent / rejected / superseded history
ROUNDS = int(os.environ.get("BENCH_REVIEW_ROUNDS", "40"))
WARMUP = 5
PAGE_SIZE = 50


def _admin_url() -> tuple[str, str]:
    """(URL of the maintenance database, URL of the bench database) on the same server."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    parts = urlparse(base)
    name = f"rd_bench_review_{os.getpid()}"
    admin = urlunparse(parts._replace(path="/postgres"))
    return admin, urlunparse(parts._replace(path=f"/{name}"))


def _admin_exec(admin_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql)


def _percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def _seed() -> tuple[object, str]:
    """A workspace with an operator, a token, two channels, LEADS leads and DRAFTS drafts,
    each draft with its conversation's inbound message. Returns (operator, token)."""
    from django.db import connection

    from workspaces.models import Role
    from workspaces.services import (
        api_token_create,
        channel_create,
        membership_ensure,
        user_ensure,
        workspace_create,
    )

    workspace = workspace_create(name="Bench Co", slug="bench-co")
    operator = user_ensure(email="operator@bench.test", password="bench-pass-123")
    membership_ensure(user=operator, workspace=workspace, role=Role.OPERATOR)
    _, token = api_token_create(workspace=workspace, user=operator)
    email = channel_create(workspace=workspace, kind="email")
    sms = channel_create(workspace=workspace, kind="sms")
    ws = str(workspace.pk)
    pending_cut = int(DRAFTS * PENDING_SHARE)
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO workspaces_lead (id, workspace_id, external_id, name, email, phone,
                company, title, timezone, assigned_to_id, created_at, updated_at)
            SELECT gen_random_uuid(), %s, 'lead-' || g, 'Lead ' || g, 'lead' || g || '@example.com',
                   '', '', '', 'America/Phoenix', %s, now(), now()
            FROM generate_series(1, %s) g
            """,
            [ws, operator.pk, LEADS],
        )
        cur.execute(
            """
            INSERT INTO drafts_conversation (id, workspace_id, channel_id, lead_id, external_id,
                subject, status, created_at)
            SELECT gen_random_uuid(), %s, CASE WHEN l.n %% 2 = 0 THEN %s::uuid ELSE %s::uuid END,
                   l.id, '', '', 'open', now()
            FROM (SELECT id, row_number() OVER (ORDER BY external_id) AS n
                  FROM workspaces_lead WHERE workspace_id = %s) l
            """,
            [ws, str(email.pk), str(sms.pk), ws],
        )
        cur.execute(
            """
            CREATE TEMP TABLE bench_conv AS
            SELECT id, channel_id, lead_id, row_number() OVER (ORDER BY id) - 1 AS n
            FROM drafts_conversation WHERE workspace_id = %s
            """,
            [ws],
        )
        cur.execute(
            """
            INSERT INTO drafts_message (id, workspace_id, channel_id, conversation_id, lead_id,
                direction, sender_kind, sender_email, external_id, subject, body_text, body_html,
                sent_at, received_at, transport_message_id)
            SELECT gen_random_uuid(), %s, c.channel_id, c.id, c.lead_id, 'inbound', 'lead', '',
                   'm-' || g, '', 'Hi, message number ' || g || ': what does the pro plan cost, '
                   || 'and can I switch plans later without a fee?', '',
                   now() - make_interval(secs => %s - g), now() - make_interval(secs => %s - g), ''
            FROM generate_series(1, %s) g JOIN bench_conv c ON c.n = g %% %s
            """,
            [ws, DRAFTS, DRAFTS, DRAFTS, LEADS],
        )
        cur.execute(
            """
            INSERT INTO drafts_draft (id, workspace_id, conversation_id, trigger_message_id,
                status, text, original_text, sources, unsupported, prompt_key, prompt_version,
                auto_send_action, auto_send_confidence, original_confidence, revision_applied,
                revision_iterations, blocked_reason, held_reason, created_at, updated_at)
            SELECT gen_random_uuid(), m.workspace_id, m.conversation_id, m.id,
                   CASE WHEN g <= %s THEN 'pending'
                        ELSE (ARRAY['sent', 'rejected', 'superseded'])[1 + g %% 3] END,
                   'Thanks for asking! The pro plan is $40 a month and you can switch any time.',
                   'Thanks for asking! The pro plan is $40 a month.', '[]'::jsonb, false,
                   'draft_generation', 'v1',
                   CASE WHEN g %% 10 = 0 THEN 'block' ELSE 'review' END,
                   CASE WHEN g %% 10 = 0 THEN NULL ELSE (g %% 100) / 100.0 END,
                   CASE WHEN g %% 10 = 0 THEN NULL ELSE (g %% 100) / 100.0 END, false, 0,
                   CASE WHEN g %% 10 = 0 THEN 'legal_threat' ELSE '' END,
                   CASE WHEN g %% 10 = 0 THEN '' ELSE 'below threshold 0.85' END,
                   m.received_at, m.received_at
            FROM (SELECT *, row_number() OVER (ORDER BY received_at) AS g
                  FROM drafts_message WHERE workspace_id = %s) m
            """,
            [pending_cut, ws],
        )
        cur.execute("DROP TABLE bench_conv")
    with connection.cursor() as cur:
        for table in ("workspaces_lead", "drafts_conversation", "drafts_message", "drafts_draft"):
            cur.execute(f"VACUUM ANALYZE {table}")
    return operator, token


def _measure(request: Callable[[], object]) -> list[float]:
    for _ in range(WARMUP):
        request()
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        request()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _queries(request: Callable[[], object]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        request()
    return len(ctx.captured_queries)


def _run() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from drafts.models import Draft

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    operator, token = _seed()
    pending = Draft.objects.filter(status="pending").count()
    print(
        f"review.seeded_drafts {Draft.objects.count()} drafts "
        f"({pending} pending, {time.perf_counter() - started:.1f}s to set up)"
    )

    browser = Client()
    browser.force_login(operator)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    last_page = max(1, -(-pending // PAGE_SIZE))
    deep_offset = max(0, pending - PAGE_SIZE)

    def get(client: Client, path: str) -> Callable[[], object]:
        def request() -> object:
            response = client.get(path)
            if response.status_code != 200:
                raise SystemExit(f"bench: {path} answered {response.status_code}")
            return response

        return request

    cases = {
        "queue_first": get(browser, "/"),
        "queue_deep": get(browser, f"/?page={last_page}"),
        "api_first": get(api, f"/api/v1/drafts?status=pending&limit={PAGE_SIZE}"),
        "api_deep": get(
            api, f"/api/v1/drafts?status=pending&limit={PAGE_SIZE}&offset={deep_offset}"
        ),
    }
    results: dict[str, list[float]] = {}
    queries: dict[str, int] = {}
    for name, request in cases.items():
        results[name] = _measure(request)
        queries[name] = _queries(request)
        print(
            f"review.{name}_p50_ms {statistics.median(results[name]):.1f} ms "
            f"(p95 {_percentile(results[name], 95):.1f} ms, {queries[name]} queries)"
        )
    queue_p95 = max(_percentile(results[k], 95) for k in ("queue_first", "queue_deep"))
    api_p95 = max(_percentile(results[k], 95) for k in ("api_first", "api_deep"))
    print(f"review.queue_p95_ms {queue_p95:.1f} ms")
    print(f"review.api_p95_ms {api_p95:.1f} ms")
    print(f"review.queries_per_request {max(queries.values())} queries")


def main() -> None:
    warnings.filterwarnings("ignore", message="No directory at")  # STATIC_ROOT: not served here
    admin_url, bench_url = _admin_url()
    name = urlparse(bench_url).path.lstrip("/")
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    _admin_exec(admin_url, f'CREATE DATABASE "{name}"')
    try:
        _run()
    finally:
        from django.db import connections

        connections.close_all()
        _admin_exec(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
