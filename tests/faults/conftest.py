"""The fault suite's real processes: a Redis of its own on a free port (so it can be stopped and
restarted empty without touching the shared one), gunicorn and Celery workers (with beat)
pointed at it and at the test database, and a local OpenAI-compatible model server the test
can slow down or fail. Every process runs in its own session, so a test can kill -9 the
whole process group of a worker, as a crashed machine would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from django.conf import settings
from django.db import connection

from tests.live_processes import REPO, free_port, process_group_stop, subprocess_env
from tests.test_llm_openai import FakeOpenAI, canned
from tests.webhooks import encode, signature_headers
from workspaces.models import Channel

LOGS = REPO / "test-artifacts" / "faults"
# A short lease so a dead worker's run lapses in seconds (production: 30 s), and shorter sweeps
# (production: every 10 s, a message unstarted after 15 s, a first parked retry after ~5 s), so
# the suite waits seconds where production waits tens of them. The tests print both.
LEASE_SECONDS = 6
SWEEP_EVERY_SECONDS = 3
SWEEP_AFTER_SECONDS = 5
RETRY_BASE_SECONDS = 1


def wait_until(
    check: Callable[[], Any], *, timeout: float, what: str | Callable[[], str], every: float = 0.2
) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            said = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {said}")
        time.sleep(every)


def _port_answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


@dataclass
class RedisServer:
    """A redis-server that keeps nothing on disk: a restart comes back empty."""

    log_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        with (self.log_dir / f"redis-{self.port}.log").open("ab") as log:
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.log_dir)],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        wait_until(lambda: _port_answers(self.port), timeout=10, what="redis-server")

    def kill(self) -> None:
        if self.process is not None:
            process_group_stop(self.process, sig=signal.SIGKILL)
        wait_until(lambda: not _port_answers(self.port), timeout=5, what="redis to go away")


@dataclass
class Stack:
    """The product's processes for one test, all on the test's own Redis."""

    redis: RedisServer
    log_dir: Path
    llm_base_url: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    url: str = ""
    # Settings a test needs in every process it starts (e.g. a shorter sending timeout).
    extra_env: dict[str, str] = field(default_factory=dict)
    model: FakeOpenAI | None = None

    def env(self) -> dict[str, str]:
        return {
            **subprocess_env(),
            "REDIS_URL": self.redis.url,
            "LLM_PROVIDER": "openai",
            "OPENAI_API_KEY": "sk-test",
            "OPENAI_BASE_URL": self.llm_base_url,
            "LLM_DEFAULT_MODEL": "gpt-5-mini",
            "LLM_STRUCTURED_OUTPUT": "json_schema",
            "LLM_TIMEOUT_SECONDS": "60",
            "LLM_MAX_RETRIES": "0",
            "PIPELINE_LEASE_SECONDS": str(LEASE_SECONDS),
            "PIPELINE_SWEEP_EVERY_SECONDS": str(SWEEP_EVERY_SECONDS),
            "PIPELINE_SWEEP_AFTER_SECONDS": str(SWEEP_AFTER_SECONDS),
            "PIPELINE_RETRY_BASE_SECONDS": str(RETRY_BASE_SECONDS),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }

    def _spawn(
        self, name: str, args: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        with (self.log_dir / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", *args], cwd=REPO, env={**self.env(), **(env or {})},
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.processes.append(process)
        return process

    def _worker_spawn(self, name: str) -> Callable[[], bool]:
        args = ["celery", "-A", "config", "worker", "--pool", "threads", "--concurrency", "4",
                "--loglevel", "INFO", "-n", f"{name}@%h", "--without-gossip",
                "--without-mingle"]  # fmt: skip
        process = self._spawn(name, args)
        self.workers[name] = process
        return self._ready_when(name, process, " ready.")

    def _beat_spawn(self) -> Callable[[], bool]:
        schedule = str(self.log_dir / "beat-schedule")
        process = self._spawn(
            "beat", ["celery", "-A", "config", "beat", "--loglevel", "INFO", "--schedule", schedule]
        )
        return self._ready_when("beat", process, "beat: Starting")

    def _web_spawn(self, workers: int, threads: int, env: dict[str, str]) -> Callable[[], bool]:
        port = free_port()
        process = self._spawn(
            "web",
            ["gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
             "--threads", str(threads)],
            env,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            # Serving, not just listening: gunicorn's master binds the port before its workers
            # have loaded Django, and on a busy machine that takes longer than a webhook's
            # timeout. Any answer (a 503 when the database refuses the web, after its pool
            # timeout) will do.
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {(self.log_dir / 'web.log').read_text()}")
            try:
                httpx.get(f"{self.url}/api/v1/health", timeout=15)
            except httpx.HTTPError:
                return False
            return True

        return up

    def _ready_when(
        self, name: str, process: subprocess.Popen[bytes], line: str
    ) -> Callable[[], bool]:
        log = self.log_dir / f"{name}.log"

        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited: {log.read_text()[-3000:]}")
            return log.exists() and line in log.read_text()

        return ready

    def up(
        self,
        *,
        web: bool = True,
        web_workers: int = 1,
        web_threads: int = 1,
        workers: tuple[str, ...] = ("worker",),
        beat: bool = True,
        web_env: dict[str, str] | None = None,
    ) -> None:
        """Start gunicorn, `celery worker`s (threads) and `celery beat`, as the Procfile does,
        all at once; return when every one is serving."""
        checks = [self._worker_spawn(name) for name in workers]
        if beat:
            checks.append(self._beat_spawn())
        if web:
            checks.append(self._web_spawn(web_workers, web_threads, web_env or {}))
        for check in checks:
            wait_until(check, timeout=40, what="the processes to start")

    def worker_that_received(self, task_id_part: str) -> str | None:
        """The name of the worker whose log shows it received a task (matched on its name)."""
        for name in self.workers:
            if f"{task_id_part}[" in (self.log_dir / f"{name}.log").read_text():
                return name
        return None

    def kill_group(self, process: subprocess.Popen[bytes]) -> None:
        """kill -9 the process and every child in its group, as a crash would."""
        process_group_stop(process, sig=signal.SIGKILL)

    def stop_all(self) -> None:
        """At the end of a test nothing they hold matters any more: no graceful drain."""
        for process in reversed(self.processes):
            process_group_stop(process, sig=signal.SIGKILL)


def post_webhook(
    base_url: str, channel: Channel, data: Any, *, msg_id: str = "", timeout: float = 10
) -> Any:
    """A signed POST to the channel's webhook over the network, as a sender does (a retry
    sends the same `msg_id`)."""
    body = encode(data)
    headers = signature_headers(channel.secret, body, msg_id=msg_id or f"msg_{time.monotonic_ns()}")
    return httpx.post(
        f"{base_url}/webhooks/inbound/{channel.key}",
        content=body,
        headers={**headers, "content-type": "application/json"},
        timeout=timeout,
    )


def _log_dir_fresh(name: str) -> Path:
    path = LOGS / name[:80]
    path.mkdir(parents=True, exist_ok=True)
    for old in path.iterdir():
        old.unlink()
    return path


def _fake_model_start() -> FakeOpenAI:
    fake = FakeOpenAI()
    fake.thread.start()
    return fake


def _fake_model_stop(fake: FakeOpenAI) -> None:
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def log_dir(request: pytest.FixtureRequest) -> Path:
    return _log_dir_fresh(request.node.name)


@pytest.fixture
def redis_server(log_dir: Path) -> Iterator[RedisServer]:
    server = RedisServer(log_dir=log_dir)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def fake_model() -> Iterator[FakeOpenAI]:
    """The model server, in this process on a free port; tests set its `responder`."""
    fake = _fake_model_start()
    yield fake
    _fake_model_stop(fake)


@pytest.fixture
def stack(
    transactional_db: None, redis_server: RedisServer, fake_model: FakeOpenAI, log_dir: Path
) -> Iterator[Stack]:
    """Processes share data with the test only through committed rows (transactional_db);
    they are stopped before the database is flushed."""
    live = Stack(
        redis=redis_server, log_dir=log_dir, llm_base_url=fake_model.base_url, model=fake_model
    )
    yield live
    live.stop_all()
    # A killed process's session may still be finishing a statement, holding locks the
    # flush (TRUNCATE) would deadlock with.
    wait_until(lambda: not _others_busy(), timeout=15, what="the killed processes' sessions")


@dataclass(frozen=True)
class StackOptions:
    """How a module's shared processes are started: `Stack.up` arguments and extra settings.
    A module overrides the `stack_options` fixture to change them."""

    up: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def stack_options() -> StackOptions:
    return StackOptions()


@pytest.fixture(scope="module")
def module_stack(
    request: pytest.FixtureRequest, stack_options: StackOptions, django_db_setup: None
) -> Iterator[Stack]:
    """One Redis, model server, gunicorn, worker and beat for every test of a module that
    stops nothing: starting them is most of a fault test's time on a busy machine. Only the
    test database is shared with the tests (each test's rows are committed, then flushed)."""
    log = _log_dir_fresh(request.module.__name__.rsplit(".", 1)[-1])
    fake = _fake_model_start()
    redis_server = RedisServer(log_dir=log)
    redis_server.start()
    live = Stack(
        redis=redis_server,
        log_dir=log,
        llm_base_url=fake.base_url,
        model=fake,
        extra_env=stack_options.env,
    )
    try:
        live.up(**stack_options.up)
        yield live
    finally:
        live.stop_all()
        redis_server.kill()
        _fake_model_stop(fake)


def _others_busy() -> int:
    """Sessions on the test database, other than this one, inside a statement or a
    transaction (they may hold locks)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
            "AND state <> 'idle'"
        )
        return int(cursor.fetchone()[0])


def _workers_signal(stack: Stack, sig: int) -> None:
    for process in stack.workers.values():
        if process.poll() is None:
            os.killpg(process.pid, sig)


def _workers_pause(stack: Stack) -> None:
    """SIGSTOP the workers at a moment none of their sessions holds a lock, so the flush
    between tests (TRUNCATE) cannot deadlock with a sweep's SELECT … FOR UPDATE."""
    deadline = time.monotonic() + 15
    while True:
        _workers_signal(stack, signal.SIGSTOP)
        if not _others_busy():
            return  # stopped while idle: they stay idle
        _workers_signal(stack, signal.SIGCONT)
        if time.monotonic() > deadline:
            raise AssertionError("the workers never went idle to let the database be flushed")
        time.sleep(0.05)


@pytest.fixture
def shared_stack(transactional_db: None, module_stack: Stack) -> Iterator[Stack]:
    """The module's processes, with the model well-behaved again and no provider cooldown
    left in Redis by an earlier test's 429; paused while the database is flushed after it."""
    _workers_signal(module_stack, signal.SIGCONT)
    assert module_stack.model is not None
    module_stack.model.responder = canned
    module_stack.model.script.clear()
    module_stack.model.requests.clear()
    client = redis.Redis.from_url(module_stack.redis.url)
    try:
        keys = list(client.scan_iter(match=f"{settings.LLM_LIMITER_PREFIX}:llm:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
    yield module_stack
    _workers_pause(module_stack)
