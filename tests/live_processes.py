"""Real processes for tests that must go through a socket: the environment that points a
child process at the test database, and a gunicorn serving the project as production does."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

REPO = Path(__file__).resolve().parent.parent


def subprocess_env() -> dict[str, str]:
    """This process's environment, with DATABASE_URL naming the test database (tests that
    share data with a child process commit it: `transactional_db`)."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    url = f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    return {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.test"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_start(
    args: list[str], *, env: dict[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    """A child in its own session (so a test can signal its whole process group, as a crashed
    machine would), output to `log_path`."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def process_group_stop(process: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM) -> None:
    """Signal the process's whole group and reap it (SIGKILL after 10 s)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def gunicorn_server(
    *, log_path: Path, timeout: float = 30.0, env: dict[str, str] | None = None
) -> Iterator[str]:
    """`gunicorn config.wsgi` (one sync worker, the production default) on a free local
    port, with `env` on top of `subprocess_env()`; yields its base URL once it accepts
    connections, and stops it afterwards."""
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
            ],
            cwd=REPO,
            env={**subprocess_env(), **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {log_path.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
