"""Response-timing backfill against its floor.

    .venv/bin/python bench/timing.py

Creates a fresh PostgreSQL database (on the server DATABASE_URL names), migrates it,
generates BENCH_TIMING_MESSAGES messages (default 1,000,000) with set-based SQL — threads of
a lead on a channel, inbound bursts, setter replies and AI replies with their drafts and
scheduled sends, received in time order as real traffic is — and then measures, twice in
alternation, keeping the faster of each:

- timing.backfill_s: `manage.py backfill_response_timing` (batches of whole leads, one
  window-function upsert per batch) into an empty events table;
- timing.floor_s: one hand-written INSERT … SELECT with the window function over all the
  messages at once, into the same empty table (same indexes, same columns);
- timing.floor_ratio: backfill / floor.

Both must produce the same rows; the bench checks it. The database is dropped at the end.
"""

from __future__ import annotations

import io
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MESSAGES = int(os.environ.get("BENCH_TIMING_MESSAGES", "1000000"))
PER_THREAD = 10
ROUNDS = 2


def log(text: str) -> None:
    print(f"# {text}", file=sys.stderr, flush=True)


def server_urls() -> tuple[str, str, str]:
    """(admin URL, bench URL, bench database name) on the server DATABASE_URL points at."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/replydesk")
    parts = urlsplit(base)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise SystemExit("bench/timing.py needs PostgreSQL: set DATABASE_URL to a postgres:// URL")
    name = f"rd_bench_timing_{os.getpid()}"
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    bench = urlunsplit(parts._replace(path=f"/{name}"))
    return admin, bench, name


FLOOR_SQL = """
INSERT INTO timing_responsetimingevent (
    inbound_message_id, workspace_id, lead_id, channel_id, inbound_sent_at, opened_burst,
    setter_message_id, setter_replied_at, setter_user_id, setter_email, setter_ms,
    ai_draft_id, ai_message_id, ai_replied_at, ai_ms,
    delay_min_seconds, delay_max_seconds, delay_chosen_seconds, delay_actual_ms,
    send_due_at, send_started_at, send_finished_at, computed_at)
WITH numbered AS (
    SELECT m.id, m.workspace_id, m.lead_id, m.channel_id, m.direction, m.sender_kind,
           m.sender_user_id, m.sender_email, m.draft_id, m.sent_at,
           count(*) FILTER (WHERE m.sender_kind = 'user') OVER w AS user_seq,
           count(*) FILTER (WHERE m.sender_kind = 'ai') OVER w AS ai_seq,
           lag(m.direction) OVER w AS previous_direction
    FROM drafts_message m
    WINDOW w AS (PARTITION BY m.lead_id, m.channel_id
                 ORDER BY m.sent_at, m.direction = 'inbound', m.id
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
SELECT i.id, i.workspace_id, i.lead_id, i.channel_id, i.sent_at,
       i.previous_direction IS DISTINCT FROM 'inbound',
       s.id, s.sent_at, s.sender_user_id, coalesce(s.sender_email, ''),
       floor(extract(epoch FROM (s.sent_at - i.sent_at)) * 1000)::bigint,
       a.draft_id, a.id, a.sent_at,
       floor(extract(epoch FROM (a.sent_at - i.sent_at)) * 1000)::bigint,
       ss.delay_min_seconds, ss.delay_max_seconds,
       CASE WHEN ss.delay_max_seconds >= ss.delay_min_seconds THEN
           ss.delay_min_seconds + mod(mod(('x' || encode(substr(sha256(
               convert_to(i.id::text, 'UTF8')), 1, 8), 'hex'))::bit(64)::bigint::numeric
               + 18446744073709551616, 18446744073709551616),
               ss.delay_max_seconds - ss.delay_min_seconds + 1)::integer END,
       CASE WHEN ss.id IS NOT NULL
            THEN floor(extract(epoch FROM (a.sent_at - i.sent_at)) * 1000)::bigint END,
       ss.run_at, ss.started_at, ss.finished_at, statement_timestamp()
FROM numbered i
LEFT JOIN numbered s ON s.lead_id = i.lead_id AND s.channel_id = i.channel_id
                    AND s.sender_kind = 'user' AND s.user_seq = i.user_seq + 1
LEFT JOIN numbered a ON a.lead_id = i.lead_id AND a.channel_id = i.channel_id
                    AND a.sender_kind = 'ai' AND a.ai_seq = i.ai_seq + 1
LEFT JOIN autosend_scheduledsend ss ON ss.draft_id = a.draft_id
WHERE i.direction = 'inbound'
"""

# A checksum of every computed column, to check the floor and the backfill agree.
CHECKSUM_SQL = """
SELECT count(*), md5(string_agg(concat_ws('|', inbound_message_id, opened_burst,
       setter_message_id, setter_user_id, setter_ms, ai_message_id, ai_ms,
       delay_chosen_seconds, delay_actual_ms, send_due_at), ',' ORDER BY inbound_message_id))
FROM timing_responsetimingevent
"""


def generate(cursor, workspace_id, channel_ids, user_ids) -> None:
    """MESSAGES messages in threads of PER_THREAD: half inbound (each thread starts with
    one), a quarter setter replies, a quarter AI replies with a draft and a sent
    ScheduledSend; inserted in the order they were received, as live traffic would be."""
    threads = MESSAGES // PER_THREAD
    leads = threads // len(channel_ids)
    params = {
        "ws": workspace_id,
        "leads": leads,
        "channels": list(channel_ids),
        "users": list(user_ids),
        "per_thread": PER_THREAD,
    }
    # The rows are consistent by construction: skip the deferred FK checks (millions of them
    # at commit) where the role may, i.e. as a superuser; otherwise they simply run.
    cursor.execute("SAVEPOINT replica")
    try:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("RELEASE SAVEPOINT replica")
    except Exception:
        cursor.execute("ROLLBACK TO SAVEPOINT replica")
    # Ids are time-ordered like the project's uuid7 (config.ids): a v4 uuid whose first
    # 48 bits are the Unix time in milliseconds and whose version nibble is 7.
    cursor.execute(
        """
        CREATE FUNCTION pg_temp.uuid7(ts timestamptz) RETURNS uuid LANGUAGE sql VOLATILE AS $$
            SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
                   PLACING substring(int8send((extract(epoch FROM ts) * 1000)::bigint) FROM 3)
                   FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
        $$
        """
    )
    # A lead writes first at a random time in two months, then on each channel within a day.
    cursor.execute(
        """
        CREATE TEMP TABLE bench_lead AS
        SELECT g, timestamptz '2026-09-01 00:00+00' + random() * interval '60 days' AS first_at
        FROM generate_series(1, %(leads)s) g
        """,
        params,
    )
    cursor.execute(
        """
        INSERT INTO workspaces_lead (id, workspace_id, external_id, name, email, phone, company,
                                     title, timezone, created_at, updated_at)
        SELECT pg_temp.uuid7(first_at), %(ws)s, 'lead-' || g, 'Lead ' || g, '', '', '', '', '',
               first_at, first_at
        FROM bench_lead ORDER BY first_at
        """,
        params,
    )
    cursor.execute(
        """
        CREATE TEMP TABLE bench_thread AS
        SELECT l.id AS lead_id, c.channel_id,
               l.created_at + random() * interval '1 day' AS started_at
        FROM workspaces_lead l CROSS JOIN unnest(%(channels)s::uuid[]) AS c(channel_id)
        WHERE l.workspace_id = %(ws)s
        """,
        params,
    )
    cursor.execute(
        "ALTER TABLE bench_thread ADD COLUMN conversation_id uuid; "
        "UPDATE bench_thread SET conversation_id = pg_temp.uuid7(started_at)"
    )
    cursor.execute(
        """
        INSERT INTO drafts_conversation (id, workspace_id, channel_id, lead_id, external_id,
                                         subject, status, created_at)
        SELECT conversation_id, %(ws)s, channel_id, lead_id, '', '', 'open', started_at
        FROM bench_thread
        """,
        params,
    )
    cursor.execute(
        """
        CREATE TEMP TABLE bench_message AS
        WITH raw AS (
            SELECT t.lead_id, t.channel_id, t.conversation_id, k,
                   CASE WHEN k = 0 THEN 0.0 ELSE random() END AS r,
                   t.started_at + k * interval '40 minutes'
                       + random() * interval '30 minutes' AS sent_at
            FROM bench_thread t CROSS JOIN generate_series(0, %(per_thread)s - 1) k
        ), timed AS (
            SELECT pg_temp.uuid7(sent_at) AS id, raw.* FROM raw
        ), kinds AS (
            SELECT timed.*, CASE WHEN r < 0.5 THEN 'lead' WHEN r < 0.75 THEN 'user' ELSE 'ai' END
                          AS kind
            FROM timed
        )
        SELECT kinds.*,
               CASE WHEN kind = 'ai' THEN pg_temp.uuid7(sent_at) END AS draft_id,
               CASE WHEN kind = 'ai' THEN
                   CASE WHEN lag(kind) OVER w = 'lead' THEN lag(id) OVER w ELSE id END
               END AS trigger_id,
               (%(users)s::int[])[
                   1 + mod(abs(hashtext(id::text)::bigint), cardinality(%(users)s::int[]))
               ] AS user_id
        FROM kinds
        WINDOW w AS (PARTITION BY lead_id, channel_id ORDER BY k)
        """,
        params,
    )
    cursor.execute(
        """
        INSERT INTO drafts_message (id, workspace_id, channel_id, conversation_id, lead_id,
            direction, sender_kind, sender_user_id, sender_email, external_id, subject,
            body_text, body_html, sent_at, received_at, draft_id, transport_message_id)
        SELECT id, %(ws)s, channel_id, conversation_id, lead_id,
               CASE WHEN kind = 'lead' THEN 'inbound' ELSE 'outbound' END, kind,
               CASE WHEN kind = 'user' THEN user_id END, '', id::text, '', '', '',
               sent_at, sent_at + interval '2 seconds', draft_id, ''
        FROM bench_message ORDER BY sent_at
        """,
        params,
    )
    cursor.execute(
        """
        INSERT INTO drafts_draft (id, workspace_id, conversation_id, trigger_message_id, status,
            text, original_text, sources, unsupported, prompt_key, prompt_version,
            auto_send_action, revision_applied, revision_iterations, blocked_reason,
            held_reason, created_at, updated_at)
        SELECT draft_id, %(ws)s, conversation_id, trigger_id, 'sent', '', '', '[]', false, '',
               '', 'send', false, 0, '', '', sent_at, sent_at
        FROM bench_message WHERE kind = 'ai' ORDER BY sent_at
        """,
        params,
    )
    cursor.execute(
        """
        INSERT INTO autosend_scheduledsend (id, workspace_id, draft_id, conversation_id, origin,
            text, run_at, chosen_delay_seconds, delay_min_seconds, delay_max_seconds, status,
            started_at, finished_at, attempts, last_error, cancel_reason,
            transport_message_id, created_at)
        SELECT gen_random_uuid(), %(ws)s, draft_id, conversation_id, 'auto', '',
               sent_at - interval '1 second', 180 + (random() * 720)::int, 180, 900, 'sent',
               sent_at - interval '500 milliseconds', sent_at, 1, '', '', '', sent_at
        FROM bench_message WHERE kind = 'ai' ORDER BY sent_at
        """,
        params,
    )
    cursor.execute("DROP TABLE bench_message, bench_thread, bench_lead")


def main() -> None:
    import psycopg

    admin_url, bench_url, name = server_urls()
    log(f"creating database {name}")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        run(bench_url)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        log(f"dropped database {name}")


def run(bench_url: str) -> None:
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from ops.provisioning import workspace_provision
    from timing.models import TimingWatermark

    call_command("migrate", verbosity=0)
    provisioned = workspace_provision(name="Bench Co", channel_kinds=["email", "sms"])
    workspace = provisioned.workspace
    user_ids = list(workspace.memberships.values_list("user_id", flat=True))

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        generate(cursor, workspace.pk, [c.pk for c in provisioned.channels], user_ids)
    log(f"generated {MESSAGES:,} messages in {time.perf_counter() - started:.1f} s")
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    def reset() -> None:
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE timing_responsetimingevent")
        TimingWatermark.objects.all().delete()

    def checksum() -> tuple[int, str]:
        with connection.cursor() as cursor:
            cursor.execute(CHECKSUM_SQL)
            count, digest = cursor.fetchone()
        return count, digest

    floors: list[float] = []
    backfills: list[float] = []
    sums = set()
    for round_ in range(ROUNDS):
        reset()
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(FLOOR_SQL)
        floors.append(time.perf_counter() - started)
        sums.add(checksum())

        reset()
        started = time.perf_counter()
        call_command("backfill_response_timing", stdout=io.StringIO())
        backfills.append(time.perf_counter() - started)
        sums.add(checksum())
        log(f"round {round_ + 1}: floor {floors[-1]:.2f} s, backfill {backfills[-1]:.2f} s")
    if len(sums) != 1:
        raise SystemExit(f"floor and backfill disagree: {sums}")
    log(f"{next(iter(sums))[0]:,} events, identical from both")

    backfill_s, floor_s = min(backfills), min(floors)
    print(f"timing.backfill_s {backfill_s:.2f} s")
    print(f"timing.floor_s {floor_s:.2f} s")
    print(f"timing.floor_ratio {backfill_s / floor_s:.2f} ratio")


if __name__ == "__main__":
    main()
