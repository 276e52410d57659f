"""Benchmark: inbound webhooks per second against gunicorn on real PostgreSQL.

    .venv/bin/python bench/ingest.py

Sets up its own database (`replydesk_bench_ingest` on the server of DATABASE_URL, default
127.0.0.1:5432), migrates it, provisions a workspace, starts gunicorn (sync workers, two per
core, production settings; TLS is assumed to end at a proxy, so SECURE_SSL_REDIRECT=0) and
posts 5,000 pre-signed unique webhooks at concurrency 16 from a raw-asyncio load generator
(an HTTP client library would eat a third of a small machine). In the same run it measures
the floor: 5,000 single-row INSERT+COMMITs through psycopg at concurrency 16. The pipeline
tasks the webhooks publish go to their own Redis database (15) and are deleted at the end,
as are the database and the processes.

Before the figures it prints the database round trips one webhook costs, counted at the
psycopg level in this process (statements, BEGIN/COMMIT and Django's connection health check).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REQUESTS = 5_000
CONCURRENCY = 16
WARMUP = 200
LEADS = 1_000
BENCH_DB = "replydesk_bench_ingest"
BENCH_REDIS_DB = 15


# --- Environment -------------------------------------------------------------------------


def _with_path(url: str, path: str) -> str:
    return urlunparse(urlparse(url)._replace(path=path))


def bench_environment() -> dict[str, str]:
    server_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DATABASE_URL": _with_path(server_url, f"/{BENCH_DB}"),
        "REDIS_URL": _with_path(redis_url, f"/{BENCH_REDIS_DB}"),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "EMAIL_URL": "smtp://127.0.0.1:25",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONDONTWRITEBYTECODE": "1",
        # collectstatic is not run here; whitenoise would warn about it in every worker.
        "PYTHONWARNINGS": "ignore:No directory at:UserWarning",
    }


def _admin_dsn(env: dict[str, str]) -> str:
    return _with_path(env["DATABASE_URL"], "/postgres")


def database_recreate(env: dict[str, str], *, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(_admin_dsn(env), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


# --- Webhooks ----------------------------------------------------------------------------


def webhook_payload(i: int, prefix: str, *, lead: int | None = None) -> dict[str, Any]:
    """Message `i`: a thousand leads, half of them threaded, one in five with an attachment."""
    lead = i % LEADS if lead is None else lead
    message: dict[str, Any] = {
        "external_id": f"{prefix}-{i}",
        "sent_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "subject": None,
        "body_text": f"Hi, what does the pro plan cost for a team of {i % 40 + 2}?",
        "body_html": None,
    }
    if i % 5 == 0:
        message["attachments"] = [
            {
                "file_name": f"brief-{i}.pdf",
                "mime_type": "application/pdf",
                "size_bytes": 1200 + i,
                "url": f"https://files.example.com/{i}.pdf",
            }
        ]
    data: dict[str, Any] = {
        "type": "message.inbound",
        "message": message,
        "lead": {
            "external_id": f"lead-{lead}",
            "name": f"Lead {lead}",
            "email": f"lead{lead}@example.com",
            "phone": None,
        },
    }
    if i % 2 == 0:
        data["thread"] = {"external_id": f"t-{lead}", "subject": "Pricing"}
    return data


def signature_headers(secret: str, body: str) -> dict[str, str]:
    from standardwebhooks import Webhook

    from config.ids import uuid7

    msg_id = f"msg_{uuid7().hex}"
    now = datetime.now(tz=UTC).replace(microsecond=0)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body),
    }


def webhook_requests(key: str, secret: str, count: int, prefix: str) -> list[bytes]:
    """`count` complete HTTP requests, each a unique signed message, ready to write."""
    requests = []
    for i in range(count):
        body = json.dumps(webhook_payload(i, prefix))
        raw = body.encode()
        headers = "".join(f"{k}: {v}\r\n" for k, v in signature_headers(secret, body).items())
        requests.append(
            (
                f"POST /webhooks/inbound/{key} HTTP/1.1\r\n"
                "Host: 127.0.0.1\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(raw)}\r\n"
                f"{headers}"
                "Connection: close\r\n\r\n"
            ).encode()
            + raw
        )
    return requests


# --- Round trips ------------------------------------------------------------------------


def round_trips_per_webhook(key: str, secret: str) -> dict[str, int]:
    """Database round trips of one request of each kind, through the real view and
    middleware, counted where psycopg talks to the server. As in a gunicorn worker, the
    connection is persistent and health-checked at its first use in each request."""
    import psycopg
    from django.db import connection
    from django.test import Client
    from psycopg import pq

    count = 0
    original_execute = psycopg.Cursor.execute
    original_commit = psycopg.Connection.commit

    def execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal count
        conn = self.connection
        if not conn.autocommit and conn.pgconn.transaction_status == pq.TransactionStatus.IDLE:
            count += 1  # psycopg sends BEGIN first, as its own round trip
        count += 1
        return original_execute(self, *args, **kwargs)

    def commit(self: Any) -> Any:
        nonlocal count
        if self.pgconn.transaction_status != pq.TransactionStatus.IDLE:
            count += 1
        return original_commit(self)

    outbound = webhook_payload(3, "rt", lead=LEADS + 1)
    outbound["type"] = "message.outbound"
    outbound["sender"] = {"user_email": "rep@bench.test"}
    kinds = {
        "new_lead": webhook_payload(1, "rt", lead=LEADS + 1),
        "known_lead": webhook_payload(2, "rt", lead=LEADS + 1),
        "duplicate": webhook_payload(2, "rt", lead=LEADS + 1),
        "outbound": outbound,
    }
    client = Client()
    trips = {}
    psycopg.Cursor.execute = execute  # type: ignore[method-assign]
    psycopg.Connection.commit = commit  # type: ignore[method-assign]
    try:
        connection.ensure_connection()
        for kind, data in kinds.items():
            body = json.dumps(data)
            count = 0
            # What request_started does in a real server (the test client skips it): a
            # reused connection is health-checked at its first use in the request.
            connection.close_if_unusable_or_obsolete()
            response = client.post(
                f"/webhooks/inbound/{key}",
                data=body,
                content_type="application/json",
                headers=signature_headers(secret, body),
            )
            assert response.status_code in (200, 202), (kind, response.status_code)
            trips[kind] = count
    finally:
        psycopg.Cursor.execute = original_execute  # type: ignore[method-assign]
        psycopg.Connection.commit = original_commit  # type: ignore[method-assign]
    return trips


# --- Load --------------------------------------------------------------------------------


async def _send(host: str, port: int, request: bytes) -> tuple[int, float]:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(request)
    response = await reader.read()  # sync workers close the connection after answering
    writer.close()
    return int(response[9:12] or 0), time.perf_counter() - started


async def load(host: str, port: int, requests: list[bytes]) -> tuple[float, list[float], dict]:
    queue = iter(requests)
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def worker() -> None:
        for request in queue:
            status, latency = await _send(host, port, request)
            latencies.append(latency)
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.perf_counter() - started, latencies, statuses


async def floor(dsn: str, bodies: list[str]) -> float:
    """Single-row INSERT + COMMIT, one per body, at the same concurrency."""
    import psycopg

    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(
            "CREATE TABLE bench_floor (id bigserial PRIMARY KEY, body text NOT NULL)"
        )
    connections = [await psycopg.AsyncConnection.connect(dsn) for _ in range(CONCURRENCY)]
    queue = iter(bodies)

    async def worker(conn: Any) -> None:
        for body in queue:
            await conn.execute("INSERT INTO bench_floor (body) VALUES (%s)", (body,))
            await conn.commit()

    started = time.perf_counter()
    await asyncio.gather(*(worker(conn) for conn in connections))
    elapsed = time.perf_counter() - started
    for conn in connections:
        await conn.close()
    return elapsed


# --- Processes ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_start(env: dict[str, str], port: int) -> subprocess.Popen:
    workers = 2 * (os.cpu_count() or 1)
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "config.wsgi",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{port}",
            "--backlog",
            "2048",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process
        except OSError:
            if process.poll() is not None:
                raise SystemExit("gunicorn exited during start-up") from None
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start listening")


def gunicorn_stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _analyze(dsn: str) -> None:
    """Planner statistics, as autovacuum keeps them in a database that has been running;
    without them a fresh database picks poor indexes for the first minute."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ANALYZE")


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (Linux /proc; 0 where unreadable)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _backend_pids(dsn: str) -> list[int]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (BENCH_DB,),
        ).fetchall()
    return [pid for (pid,) in rows]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    env = bench_environment()
    database_recreate(env)
    os.environ.update(env)
    import django

    django.setup()
    import redis
    from django.core.management import call_command
    from django.db import connections

    from config.db import db_pools_close
    from ops.provisioning import workspace_provision

    broker = redis.Redis.from_url(env["REDIS_URL"])
    # Kombu's routing keys for the default queue: removed at the end unless already there.
    bindings = [
        k
        for k in ("_kombu.binding.celery", "_kombu.binding_permanent.celery")
        if not broker.exists(k)
    ]
    gunicorn = None
    try:
        call_command("migrate", verbosity=0)
        provisioned = workspace_provision(name="Bench", channel_kinds=["email"])
        channel = provisioned.channels[0]
        trips = round_trips_per_webhook(channel.key, channel.secret)
        connections.close_all()

        warmup = webhook_requests(channel.key, channel.secret, WARMUP, "warm")
        measured = webhook_requests(channel.key, channel.secret, REQUESTS, "m")
        port = _free_port()
        gunicorn = gunicorn_start(env, port)
        asyncio.run(load("127.0.0.1", port, warmup))
        _analyze(env["DATABASE_URL"])
        # CPU spent per request by the web workers and their PostgreSQL backends: a figure
        # that, unlike requests/s, hardly moves when other work shares the machine.
        web_pids = _children(gunicorn.pid)
        db_pids = _backend_pids(_admin_dsn(env))
        web_cpu, db_cpu = _cpu_seconds(web_pids), _cpu_seconds(db_pids)
        elapsed, latencies, statuses = asyncio.run(load("127.0.0.1", port, measured))
        web_cpu = _cpu_seconds(web_pids) - web_cpu
        db_cpu = _cpu_seconds(db_pids) - db_cpu
        gunicorn_stop(gunicorn)
        gunicorn = None

        bodies = [request.split(b"\r\n\r\n", 1)[1].decode() for request in measured]
        floor_elapsed = asyncio.run(floor(env["DATABASE_URL"], bodies))
    finally:
        if gunicorn is not None:
            gunicorn_stop(gunicorn)
        db_pools_close()
        broker.delete("celery", *bindings)
        database_recreate(env, drop_only=True)

    if statuses != {202: REQUESTS}:
        raise SystemExit(f"unexpected answers: {statuses}")
    rps = REQUESTS / elapsed
    floor_rps = REQUESTS / floor_elapsed
    for kind, count in trips.items():
        print(f"ingest.db_round_trips.{kind} {count} round_trips")
    print(f"ingest.web_cpu_ms_per_request {web_cpu / REQUESTS * 1000:.2f} ms")
    print(f"ingest.db_cpu_ms_per_request {db_cpu / REQUESTS * 1000:.2f} ms")
    print(f"ingest.mean_ms {statistics.fmean(latencies) * 1000:.1f} ms")
    print(f"ingest.requests_per_s {rps:.0f} req/s")
    print(f"ingest.p50_ms {_percentile(latencies, 0.50) * 1000:.1f} ms")
    print(f"ingest.p99_ms {_percentile(latencies, 0.99) * 1000:.1f} ms")
    print(f"ingest.floor_requests_per_s {floor_rps:.0f} req/s")
    print(f"ingest.floor_ratio {rps / floor_rps:.3f} ratio")


if __name__ == "__main__":
    main()
