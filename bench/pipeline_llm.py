"""Benchmark: the whole stack as `Procfile` runs it, against a model that takes its time.

    .venv/bin/python bench/pipeline_llm.py [--messages 1500] [--latency 1.0 0.2]
                                          [--rate-limit-every 0]

For each latency: its own PostgreSQL database (created, migrated, provisioned with the demo
knowledge, dropped at the end), its own Redis database, the project's fake OpenAI-compatible
server (bench/fake_openai.py) answering every call after that many seconds, and the
Procfile's `web`, `worker` and `beat` processes exactly as written there (web bound to
127.0.0.1). It posts `--messages` signed inbound webhooks (one new lead each) at
concurrency 16 and waits until every message's pipeline run has finished.

Figures, per latency:
- messages_per_s: runs finished per second, first webhook sent to last run finished;
- e2e_p50_s / e2e_p95_s: from a message's arrival to its run finishing (draft ready);
- peak_llm_in_flight: most model calls the fake server held at once;
- peak_pg_connections: most PostgreSQL connections to the benchmark database at once (the
  whole stack: web, worker, beat; the driver's own sampling connection excluded);
- peak_worker_rss_mb: most resident memory of the worker processes together;
- runs_completed / runs_failed, llm_calls and rate_limited (429s the server answered);
- CPU per message of the worker, web, fake server and the database's backends.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.ingest import (  # noqa: E402
    _children,
    _cpu_seconds,
    _free_port,
    _percentile,
    _with_path,
    signature_headers,
    webhook_payload,
)

CONCURRENCY = 16


def procfile_commands() -> dict[str, str]:
    """The Procfile's process types and their commands, as a user's process manager sees them."""
    commands = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() and not name.startswith("#"):
            commands[name.strip()] = command.strip()
    return commands


def _admin(server_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(_with_path(server_url, "/postgres"), autocommit=True) as conn:
        conn.execute(sql)


def _wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bench: {url} exited during start-up")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"bench: {url} did not answer")


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(match.group(1)) if match else 0
    return total / 1024


def _tree(pid: int) -> list[int]:
    found = [pid]
    for child in _children(pid):
        found.extend(_tree(child))
    return found


def _post(port: int, key: str, secret: str, bodies: list[str]) -> dict[int, int]:
    """Signed webhooks from CONCURRENCY client threads; the answers by status."""
    statuses: dict[int, int] = {}
    queue = iter(bodies)
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                body = next(queue, None)
            if body is None:
                return
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/webhooks/inbound/{key}",
                data=body.encode(),
                headers={"Content-Type": "application/json", **signature_headers(secret, body)},
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            with lock:
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=client) for _ in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


class Sampler(threading.Thread):
    """Peaks of PostgreSQL connections and worker memory, sampled four times a second, and
    the CPU the benchmark database's backends spent (first to last sight of each)."""

    def __init__(self, dsn: str, db_name: str, worker_pid: int) -> None:
        super().__init__(daemon=True)
        self.dsn, self.db_name, self.worker_pid = dsn, db_name, worker_pid
        self.peak_connections = 0
        self.peak_rss_mb = 0.0
        self.backend_cpu: dict[int, tuple[float, float]] = {}  # pid: (first, last) seconds
        self.stop = threading.Event()

    @property
    def pg_cpu_seconds(self) -> float:
        return sum(last - first for first, last in self.backend_cpu.values())

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            first_sample = True
            while not self.stop.wait(0.25):
                pids = [
                    pid
                    for (pid,) in conn.execute(
                        "SELECT pid FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()",
                        (self.db_name,),
                    ).fetchall()
                ]
                for pid in pids:
                    used = _cpu_seconds([pid])
                    first, _ = self.backend_cpu.get(pid, (used if first_sample else 0.0, 0.0))
                    self.backend_cpu[pid] = (first, used)
                first_sample = False
                self.peak_connections = max(self.peak_connections, len(pids))
                self.peak_rss_mb = max(self.peak_rss_mb, _rss_mb(_tree(self.worker_pid)))


def _start(command: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["bash", "-c", f"exec {command}"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run_once(messages: int, latency: float, rate_limit_every: int) -> dict[str, Any]:
    server_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    tag = secrets.token_hex(4)
    db_name = f"bench_llm_{tag}"
    fake_port, web_port = _free_port(), _free_port()
    logs = ROOT / ".run" / f"bench-llm-{tag}"
    logs.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DATABASE_URL": _with_path(server_url, f"/{db_name}"),
        "REDIS_URL": _with_path(redis_url, "/14"),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "EMAIL_URL": "smtp://127.0.0.1:25",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "PORT": str(web_port),
        "LLM_PROVIDER": "openai",
        "OPENAI_API_KEY": "bench-fake-key",
        "OPENAI_BASE_URL": f"http://127.0.0.1:{fake_port}/v1",
        "PYTHONWARNINGS": "ignore:No directory at:UserWarning",
        "PYTHONPATH": str(ROOT),
    }
    _admin(server_url, f'CREATE DATABASE "{db_name}"')
    processes: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run(
            [str(ROOT / ".venv" / "bin" / "python"), "manage.py", "migrate", "--no-input", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")})
        os.environ.update(
            {k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "EMAIL_URL", "ALLOWED_HOSTS")}
        )
        import django

        django.setup()
        import redis
        from django.db import connections

        from ops.provisioning import DEMO_KNOWLEDGE, workspace_provision
        from pipeline.knowledge import knowledge_file_read
        from pipeline.models import PipelineRun

        redis.Redis.from_url(env["REDIS_URL"]).flushdb()
        provisioned = workspace_provision(
            name="Bench Solar",
            channel_kinds=["email"],
            knowledge=knowledge_file_read(DEMO_KNOWLEDGE),
        )
        channel = provisioned.channels[0]
        bodies = [json.dumps(webhook_payload(i, f"llm-{tag}", lead=i)) for i in range(messages)]
        connections.close_all()

        fake_command = (
            f"{ROOT / '.venv' / 'bin' / 'python'} bench/fake_openai.py --port {fake_port} "
            f"--latency {latency} --rate-limit-every {rate_limit_every}"
        )
        processes.append(fake := _start(fake_command, env, logs / "fake.log"))
        _wait_http(f"http://127.0.0.1:{fake_port}/stats", fake)
        commands = procfile_commands()
        web_command = commands["web"].replace("0.0.0.0", "127.0.0.1")
        processes.append(web := _start(web_command, env, logs / "web.log"))
        processes.append(worker := _start(commands["worker"], env, logs / "worker.log"))
        processes.append(_start(commands["beat"], env, logs / "beat.log"))
        _wait_http(f"http://127.0.0.1:{web_port}/api/v1/health", web)
        time.sleep(3)  # the worker processes connect to the broker
        if worker.poll() is not None:
            raise SystemExit("bench: the worker exited during start-up")

        sampler = Sampler(_with_path(server_url, "/postgres"), db_name, worker.pid)
        sampler.start()
        cpu_before = {
            name: _cpu_seconds(_tree(p.pid))
            for name, p in (("worker", worker), ("web", web), ("fake", fake))
        }
        started = time.time()
        statuses = _post(web_port, channel.key, channel.secret, bodies)
        posted = time.time() - started
        done = PipelineRun.objects.exclude(status=PipelineRun.Status.RUNNING)
        deadline = time.monotonic() + max(600.0, messages * latency)
        while done.count() < messages and time.monotonic() < deadline:
            time.sleep(0.5)
        cpu = {
            name: _cpu_seconds(_tree(p.pid)) - cpu_before[name]
            for name, p in (("worker", worker), ("web", web), ("fake", fake))
        }
        connections.close_all()
        sampler.stop.set()
        sampler.join()
        runs = list(
            PipelineRun.objects.filter(finished_at__isnull=False).values_list(
                "status", "finished_at", "trigger_message__received_at"
            )
        )
        stats = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{fake_port}/stats").read())
        connections.close_all()
        if not runs:
            raise SystemExit(f"bench: no run finished (webhook answers {statuses}); see {logs}")
        last = max(finished for _, finished, _ in runs).timestamp()
        e2e = [(finished - received).total_seconds() for _, finished, received in runs]
        return {
            "latency_s": latency,
            "messages": messages,
            "webhook_answers": statuses,
            "webhooks_per_s": messages / posted,
            "runs_completed": sum(1 for s, _, _ in runs if s == PipelineRun.Status.COMPLETED),
            "runs_unfinished": messages - len(runs),
            "runs_failed": sum(1 for s, _, _ in runs if s == PipelineRun.Status.FAILED),
            "messages_per_s": len(runs) / (last - started),
            "e2e_p50_s": _percentile(e2e, 0.50),
            "e2e_p95_s": _percentile(e2e, 0.95),
            "peak_llm_in_flight": stats["peak_in_flight"],
            "llm_calls": stats["calls"],
            "rate_limited": stats["rate_limited"],
            "peak_pg_connections": sampler.peak_connections,
            "peak_worker_rss_mb": sampler.peak_rss_mb,
            # CPU per message: what capacity is made of, and nearly unmoved by a busy machine.
            "worker_cpu_ms_per_message": cpu["worker"] / messages * 1000,
            "web_cpu_ms_per_message": cpu["web"] / messages * 1000,
            "fake_cpu_ms_per_message": cpu["fake"] / messages * 1000,
            "postgres_cpu_ms_per_message": sampler.pg_cpu_seconds / messages * 1000,
            "machine_load_1m": os.getloadavg()[0],
        }
    finally:
        for process in reversed(processes):
            _stop(process)
        try:
            from config.db import db_pools_close

            db_pools_close()
        except Exception:  # Django may never have been set up
            pass
        _admin(server_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1500)
    parser.add_argument("--latency", type=float, nargs="+", default=[1.0, 0.2])
    parser.add_argument("--rate-limit-every", type=int, default=0)
    args = parser.parse_args()
    if len(args.latency) > 1:
        # One process per latency: Django's settings (the database name) are read once.
        for latency in args.latency:
            command = [sys.executable, __file__, "--messages", str(args.messages)]
            command += ["--latency", str(latency), "--rate-limit-every", str(args.rate_limit_every)]
            if subprocess.run(command, check=False).returncode:
                return 1
        return 0
    for latency in args.latency:
        figures = run_once(args.messages, latency, args.rate_limit_every)
        prefix = f"pipeline_llm.{latency:g}s"
        for status, count in sorted(figures.pop("webhook_answers").items()):
            print(f"{prefix}.webhook_answers_{status} {count} responses")
        figures.pop("latency_s")
        for key, value in figures.items():
            shown = f"{value:.2f}" if isinstance(value, float) else str(value)
            print(f"{prefix}.{key} {shown} {UNITS[key]}", flush=True)
    return 0


# Figures are printed `NAME VALUE UNIT`, as every benchmark's (CONTRACTS.md, "Benchmarks").
UNITS = {
    "messages": "messages",
    "webhooks_per_s": "req/s",
    "runs_completed": "runs",
    "runs_unfinished": "runs",
    "runs_failed": "runs",
    "messages_per_s": "msg/s",
    "e2e_p50_s": "s",
    "e2e_p95_s": "s",
    "peak_llm_in_flight": "calls",
    "llm_calls": "calls",
    "rate_limited": "calls",
    "peak_pg_connections": "connections",
    "peak_worker_rss_mb": "MB",
    "worker_cpu_ms_per_message": "ms",
    "web_cpu_ms_per_message": "ms",
    "fake_cpu_ms_per_message": "ms",
    "postgres_cpu_ms_per_message": "ms",
    "machine_load_1m": "load",
}


if __name__ == "__main__":
    raise SystemExit(main())
