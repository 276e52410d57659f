"""Pipelines overlap far beyond the worker's processes when the model is slow, within a small
connection budget, and a provider that throttles slows messages down without losing one.

The worker is `scripts/worker` as Procfile runs it (one process here, 40 threads, a pool of
at most 4 PostgreSQL connections) with beat beside it; the model is the project's fake
OpenAI-compatible server (bench/fake_openai.py) answering every call after half a second.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from autosend.models import AutoSendVerdict
from config.celery import app
from drafts.models import Draft
from pipeline.models import AIInteraction, PipelineRun
from pipeline.tasks import run_for_message
from tests.live_processes import free_port, process_group_stop, process_start, subprocess_env
from tests.pipeline_support import channel_of, demo_workspace, inbound

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

THREADS = 40
POOL_MAX = 4
MESSAGES = 40
WORKER_APP = "replydesk-test-worker"


class Fake:
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/stats", timeout=5) as response:
            return dict(json.loads(response.read()))


@pytest.fixture
def stack(request: Any, tmp_path: Path) -> Iterator[Fake]:
    """The fake model server (options from the test's `fake_options` marker) and the worker."""
    marker = request.node.get_closest_marker("fake_options")
    options = list(marker.args) if marker else []
    port = free_port()
    fake = process_start(
        [sys.executable, "bench/fake_openai.py", "--port", str(port), "--latency", "0.5", *options],
        env=os.environ.copy(),
        log_path=tmp_path / "fake.log",
    )
    env = {
        **subprocess_env(),
        "LLM_PROVIDER": "openai",
        "OPENAI_API_KEY": "test-fake-key",
        "OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1",
        "WORKER_PROCESSES": "1",
        "WORKER_THREADS": str(THREADS),
        "DB_POOL_MAX_SIZE": str(POOL_MAX),
        "LOG_LEVEL": "WARNING",
        "PGAPPNAME": WORKER_APP,
    }
    app.control.purge()
    worker = process_start(
        [sys.executable, "scripts/worker", "--loglevel", "WARNING"],
        env=env,
        log_path=tmp_path / "worker.log",
    )
    # Beat, as in Procfile: it resumes runs parked for the provider when their retry is due.
    beat = process_start(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "beat",
            "--loglevel",
            "WARNING",
            "-s",
            str(tmp_path / "beat-schedule"),
        ],
        env=env,
        log_path=tmp_path / "beat.log",
    )
    try:
        handle = Fake(port)
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=0.5):
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, "the worker did not start"
        handle.stats()
        yield handle
    finally:
        process_group_stop(beat)
        process_group_stop(worker)
        process_group_stop(fake)
        app.control.purge()


class ConnectionPeak(threading.Thread):
    """Most connections the worker held at once (libpq names them from PGAPPNAME)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self.done = threading.Event()
        self.dsn = subprocess_env()["DATABASE_URL"]

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.done.wait(0.1):
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE application_name = %s AND datname = current_database()",
                    [WORKER_APP],
                ).fetchone()
                self.peak = max(self.peak, int(row[0]) if row else 0)


def _messages(count: int) -> list[str]:
    demo = demo_workspace()
    channel = channel_of(demo, "email")
    return [
        str(inbound(channel, f"How much does a 6 kW system cost? ({i})").pk) for i in range(count)
    ]


def _wait_finished(count: int, timeout: float) -> list[PipelineRun]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = list(PipelineRun.objects.exclude(status=PipelineRun.Status.RUNNING))
        if len(runs) >= count:
            return runs
        time.sleep(0.2)
    statuses = list(PipelineRun.objects.values_list("status", "waiting_reason"))
    raise AssertionError(f"runs not finished in {timeout} s: {statuses}")


def _wait_verdicts(count: int, timeout: float) -> None:
    """A completed run still has its auto-send step to take (here, auto-send off, the shadow
    evaluation): a message's work is over once its draft has a verdict."""
    deadline = time.monotonic() + timeout
    while AutoSendVerdict.objects.count() < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"verdicts not recorded in {timeout} s")
        time.sleep(0.2)


def test_pipelines_overlap_far_beyond_the_worker_processes_within_the_connection_budget(stack):
    ids = _messages(MESSAGES)
    connection.close()
    peak = ConnectionPeak()
    peak.start()
    for message_id in ids:
        run_for_message.delay(message_id)

    runs = _wait_finished(MESSAGES, timeout=120)
    peak.done.set()
    peak.join()
    _wait_verdicts(MESSAGES, timeout=60)

    assert {run.status for run in runs} == {PipelineRun.Status.COMPLETED}
    assert Draft.objects.count() == MESSAGES
    stats = stack.stats()
    # One worker process, and at one moment most of its threads were waiting on the model.
    assert stats["peak_in_flight"] >= THREADS * 3 // 4
    # ...while the worker held no more than its pool's connections.
    assert peak.peak <= POOL_MAX
    recorded = AIInteraction.objects.filter(outcome="ok").count()
    # strategy, draft, verifier, meeting extract and gate, and the shadow evaluation (auto-send off)
    assert recorded == MESSAGES * 6
    assert stats["calls"] - recorded <= 5  # the server's capabilities, probed once, not per thread


@pytest.mark.fake_options("--rate-limit-every", "4", "--retry-after", "1")
def test_a_provider_answering_every_fourth_call_429_still_drafts_every_message(stack):
    ids = _messages(20)
    connection.close()
    for message_id in ids:
        run_for_message.delay(message_id)

    runs = _wait_finished(20, timeout=120)
    _wait_verdicts(20, timeout=60)

    assert {run.status for run in runs} == {PipelineRun.Status.COMPLETED}
    assert Draft.objects.count() == 20
    stats = stack.stats()
    assert stats["rate_limited"] >= 10
    rate_limited = AIInteraction.objects.filter(outcome="rate_limited").count()
    assert rate_limited == stats["rate_limited"]  # each one recorded, none counted malformed
    assert not AIInteraction.objects.filter(outcome="malformed").exists()
