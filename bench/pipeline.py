"""Benchmark: 1,000 inbound messages through the whole draft pipeline.

    .venv/bin/python bench/pipeline.py [--messages N] [--workers N]

Sets up its own PostgreSQL database (created, migrated, provisioned with the demo knowledge,
dropped at the end), its own Celery queue on REDIS_URL, and two real worker processes
(`celery worker --pool=solo`, the offline provider). Every message gets the full pipeline:
context pack, strategy, generation, verifier, meeting extract and gate, draft, proposals,
notification, run completed.

Figures (CONTRACTS.md, "Benchmarks"):
- pipeline.messages_per_s: messages drafted per second of wall time, first task sent to
  last run finished.
- pipeline.queries_per_message: SQL statements the workers sent per message, counted by a
  Django execute wrapper inside the tasks (transaction BEGIN/COMMIT and the connection
  health check are not statements Django sends and are not counted).
- pipeline.overhead_ms: per message, worker time spent outside the stages' own work (the
  provider calls): database, broker, context packing, bookkeeping.

This same module is the Celery app the bench workers load (`-A bench.pipeline`): with
BENCH_PIPELINE_STATS set, each worker counts statements and times and writes them there on
shutdown.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STATS_ENV = "BENCH_PIPELINE_STATS"


# --- worker side ---------------------------------------------------------------------------


def _instrument_worker(stats_path: str) -> None:
    """Count statements and time inside tasks; time inside provider calls."""
    import django
    from celery.signals import task_postrun, task_prerun, worker_process_shutdown, worker_shutdown
    from django.db import connection
    from django.db.backends.signals import connection_created

    django.setup()

    stats = {"tasks": 0, "statements": 0, "busy_s": 0.0, "provider_s": 0.0}
    state = {"in_task": False, "started": 0.0}

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if state["in_task"]:
            stats["statements"] += 1
        return execute(sql, params, many, context)

    def wrap(sender: Any = None, connection: Any = None, **kwargs: Any) -> None:
        if count not in connection.execute_wrappers:
            connection.execute_wrappers.append(count)

    connection_created.connect(wrap, weak=False)

    from pipeline.llm.offline import OfflineProvider

    original_call = OfflineProvider.call

    def timed_call(self: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original_call(self, **kwargs)
        finally:
            stats["provider_s"] += time.perf_counter() - started

    OfflineProvider.call = timed_call  # type: ignore[method-assign]

    @task_prerun.connect(weak=False)
    def before(**kwargs: Any) -> None:
        wrap(connection=connection)
        state["in_task"] = True
        state["started"] = time.perf_counter()

    @task_postrun.connect(weak=False)
    def after(**kwargs: Any) -> None:
        stats["busy_s"] += time.perf_counter() - state["started"]
        stats["tasks"] += 1
        state["in_task"] = False

    def dump(**kwargs: Any) -> None:
        Path(stats_path).write_text(json.dumps(stats))

    worker_shutdown.connect(dump, weak=False)
    worker_process_shutdown.connect(dump, weak=False)


if os.environ.get(STATS_ENV) and __name__ != "__main__":
    from celery.signals import worker_init

    from config.celery import app  # noqa: F401  (`celery -A bench.pipeline` finds it here)

    @worker_init.connect(weak=False)
    def _on_worker_init(**kwargs: Any) -> None:
        _instrument_worker(os.environ[STATS_ENV])


# --- driver side ---------------------------------------------------------------------------


def _db_url(base: str, name: str) -> str:
    parsed = urlparse(base)
    return urlunparse(parsed._replace(path=f"/{name}"))


def _admin(base: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(_db_url(base, "postgres"), autocommit=True) as conn:
        conn.execute(sql)


def _seed(count: int) -> list[str]:
    """The demo workspace and `count` inbound messages, each in its own conversation, texts
    cycling through the labelled dev set, channels alternating email and SMS."""
    from django.utils import timezone

    from drafts.models import Conversation, Message
    from ops.provisioning import DEMO_KNOWLEDGE, workspace_provision
    from pipeline.knowledge import knowledge_file_read
    from workspaces.models import Lead

    provisioned = workspace_provision(
        name="Bench Solar",
        channel_kinds=["email", "sms"],
        knowledge=knowledge_file_read(DEMO_KNOWLEDGE),
    )
    workspace = provisioned.workspace
    texts = [
        json.loads(line)["text"]
        for line in (ROOT / "tests" / "data" / "inbound_dev.jsonl").read_text().splitlines()
        if line.strip()
    ]
    leads = Lead.objects.bulk_create(
        Lead(workspace=workspace, external_id=f"bench-{i}", name=f"Lead {i}", email=f"l{i}@x.test")
        for i in range(count)
    )
    channels = provisioned.channels
    conversations = Conversation.objects.bulk_create(
        Conversation(workspace=workspace, channel=channels[i % len(channels)], lead=lead)
        for i, lead in enumerate(leads)
    )
    now = timezone.now()
    messages = Message.objects.bulk_create(
        Message(
            workspace=workspace,
            channel=conversation.channel,
            conversation=conversation,
            lead=conversation.lead,
            direction=Message.Direction.INBOUND,
            sender_kind=Message.Sender.LEAD,
            external_id=f"bench-m-{i}",
            body_text=texts[i % len(texts)],
            sent_at=now,
        )
        for i, conversation in enumerate(conversations)
    )
    return [str(m.pk) for m in messages]


def _start_workers(n: int, queue: str, env: dict[str, str], stats_dir: Path) -> list[Any]:
    workers = []
    for index in range(n):
        worker_env = {**env, STATS_ENV: str(stats_dir / f"worker-{index}.json")}
        workers.append(
            subprocess.Popen(
                [
                    str(ROOT / ".venv" / "bin" / "celery"),
                    "-A",
                    "bench.pipeline",
                    "worker",
                    "--pool=solo",
                    "-Q",
                    queue,
                    "-n",
                    f"bench{index}-{queue}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "--loglevel=WARNING",
                ],
                cwd=ROOT,
                env=worker_env,
                stdout=subprocess.DEVNULL,
            )
        )
    return workers


def _wait_ready(app: Any, names: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    while time.monotonic() < deadline:
        for reply in app.control.ping(destination=names, timeout=0.5) or []:
            seen |= set(reply)
        if seen >= set(names):
            return
    raise SystemExit(f"bench: workers not ready: {sorted(set(names) - seen)}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not base_url.startswith("postgres"):
        raise SystemExit("bench: needs PostgreSQL (DATABASE_URL=postgres://…)")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    tag = uuid.uuid4().hex[:8]
    db_name = f"bench_pipeline_{tag}"
    queue = f"bench-pipeline-{tag}"
    stats_dir = ROOT / ".run" / f"bench-pipeline-{tag}"
    stats_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": _db_url(base_url, db_name),
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DEBUG": "0",
        "LLM_PROVIDER": "offline",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    os.environ.update(env)

    _admin(base_url, f'CREATE DATABASE "{db_name}"')
    workers: list[Any] = []
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        import django

        django.setup()
        from config.celery import app
        from pipeline.models import PipelineRun
        from pipeline.tasks import run_for_message

        ids = _seed(args.messages)
        workers = _start_workers(args.workers, queue, env, stats_dir)
        host = os.uname().nodename
        _wait_ready(app, [f"bench{i}-{queue}@{host}" for i in range(args.workers)])

        started = time.perf_counter()
        with app.producer_or_acquire() as producer:
            for message_id in ids:
                run_for_message.apply_async(args=[message_id], queue=queue, producer=producer)
        finished = PipelineRun.objects.exclude(status=PipelineRun.Status.RUNNING)
        while finished.count() < len(ids):
            time.sleep(0.05)
        elapsed = time.perf_counter() - started

        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
        stats = [json.loads(p.read_text()) for p in sorted(stats_dir.glob("worker-*.json"))]
        tasks = sum(s["tasks"] for s in stats)
        statements = sum(s["statements"] for s in stats)
        busy = sum(s["busy_s"] for s in stats)
        provider = sum(s["provider_s"] for s in stats)
        completed = PipelineRun.objects.filter(status=PipelineRun.Status.COMPLETED).count()

        print(f"pipeline.machine_load_1m {os.getloadavg()[0]:.2f} load")
        print(f"pipeline.messages {len(ids)} messages")
        print(f"pipeline.completed_runs {completed} runs")
        print(f"pipeline.worker_processes {args.workers} processes")
        print(f"pipeline.stage_work_ms {provider / tasks * 1000:.2f} ms")
        print(f"pipeline.worker_busy_ms {busy / tasks * 1000:.2f} ms")
        print(f"pipeline.messages_per_s {len(ids) / elapsed:.1f} msg/s")
        print(f"pipeline.queries_per_message {statements / tasks:.1f} statements")
        print(f"pipeline.overhead_ms {(busy - provider) / tasks * 1000:.2f} ms")
        return 0
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django may never have been set up
            pass
        _admin(base_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        try:
            import redis

            client = redis.Redis.from_url(redis_url)
            for key in [queue, *client.scan_iter(match=f"*{queue}*")]:
                client.delete(key)  # the queue and kombu's bindings for it
        except Exception:  # best effort
            pass
        for path in stats_dir.glob("*.json"):
            path.unlink()
        stats_dir.rmdir()


if __name__ == "__main__":
    raise SystemExit(main())
