"""`make run LLM=local` (issue 16, found walking through it): llama-cpp-python's server
answers one request at a time and queues the rest, so with the default 300 calls in flight
the demo's eight messages timed out in its queue (17 of 35 calls at 60 s), were retried and
timed out again. The command holds one slot, waits long enough for it, and uses the budgets
`make test-llm` measures."""

from __future__ import annotations

import os
import subprocess

from tests.live_processes import REPO


def _make_env(*args: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_", "OPENAI_"))}
    out = subprocess.run(
        ["make", "-s", *args, "--eval", "print-env: ; @env", "print-env"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def test_the_local_run_holds_one_model_slot_against_the_one_request_server():
    env = _make_env("LLM=local", "LLM_LOCAL_PORT=8113")

    assert env["LLM_PROVIDER"] == "openai"
    assert env["OPENAI_BASE_URL"] == "http://127.0.0.1:8113/v1"
    assert env["LLM_MAX_CONCURRENCY"] == "1"
    assert int(env["LLM_TIMEOUT_SECONDS"]) >= 120
    assert int(env["LLM_SLOT_WAIT_SECONDS"]) > int(env["LLM_TIMEOUT_SECONDS"])
    assert env["LLM_MAX_TOKENS_DRAFT"] == "200"


def test_without_llm_local_nothing_is_set():
    env = _make_env()

    assert not [k for k in env if k.startswith(("LLM_", "OPENAI_"))]
