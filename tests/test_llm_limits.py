"""The shared model-call limiter (pipeline/llm/limits.py) on the real Redis: a deployment-
wide cap, fair share between workspaces, a window that 429s shrink and successes grow, a long
Retry-After obeyed by everyone,
slots of a dead process freed, and a Redis outage that limits per process instead of failing."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from pipeline.llm import LLMTransientError
from pipeline.llm.limits import _keys, llm_cooldown, llm_rate_limited, llm_slot, llm_window
from tests.live_processes import free_port


@pytest.fixture(autouse=True)
def limiter_redis(settings: Any) -> Iterator[redis.Redis]:
    settings.LLM_LIMITER_PREFIX = f"replydesk-test-limits-{time.monotonic_ns()}"
    client = redis.Redis.from_url(settings.LLM_LIMITER_REDIS_URL)
    yield client
    for key in client.scan_iter(match=f"{settings.LLM_LIMITER_PREFIX}:*"):
        client.delete(key)


def _hold(workspace: str, entered: threading.Event, release: threading.Event, log: list) -> None:
    with llm_slot(workspace):
        log.append(workspace)
        entered.set()
        release.wait(10)


def test_no_more_calls_in_flight_than_the_limit_across_threads(settings):
    settings.LLM_MAX_CONCURRENCY = 3
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    def call() -> None:
        nonlocal in_flight, peak
        with llm_slot("ws-a"):
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
            time.sleep(0.1)
            with lock:
                in_flight -= 1

    threads = [threading.Thread(target=call) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert peak == 3
    assert in_flight == 0


def test_a_waiting_workspace_gets_the_next_slot_before_the_busy_one(settings):
    settings.LLM_MAX_CONCURRENCY = 2
    release_a = [threading.Event() for _ in range(2)]
    entered = [threading.Event() for _ in range(2)]
    order: list[str] = []
    holders = [
        threading.Thread(target=_hold, args=("busy", entered[i], release_a[i], order))
        for i in range(2)
    ]
    for thread in holders:
        thread.start()
    for event in entered:
        assert event.wait(5)

    quiet_in, quiet_release = threading.Event(), threading.Event()
    quiet = threading.Thread(target=_hold, args=("quiet", quiet_in, quiet_release, order))
    quiet.start()
    time.sleep(0.3)  # the quiet workspace is now waiting for a slot
    busy_in, busy_release = threading.Event(), threading.Event()
    busy_again = threading.Thread(target=_hold, args=("busy", busy_in, busy_release, order))
    busy_again.start()
    time.sleep(0.3)
    release_a[0].set()  # one slot frees: it goes to the workspace that had none

    assert quiet_in.wait(5)
    assert not busy_in.is_set()
    assert order == ["busy", "busy", "quiet"]
    for event in (release_a[1], quiet_release, busy_release):
        event.set()
    for thread in (*holders, quiet, busy_again):
        thread.join(10)
    assert order[-1] == "busy"


def test_alone_a_workspace_may_use_every_slot(settings):
    settings.LLM_MAX_CONCURRENCY = 4
    release = threading.Event()
    entered = [threading.Event() for _ in range(4)]
    log: list[str] = []
    threads = [
        threading.Thread(target=_hold, args=("only", entered[i], release, log)) for i in range(4)
    ]
    for thread in threads:
        thread.start()

    assert all(event.wait(5) for event in entered)
    release.set()
    for thread in threads:
        thread.join(10)


def test_after_a_429_no_call_starts_before_retry_after_anywhere(settings):
    llm_cooldown(0.8)
    started = time.monotonic()
    with llm_slot("ws-a"):
        waited = time.monotonic() - started

    assert waited >= 0.75


def test_a_cooldown_longer_than_the_wait_parks_the_run_with_its_retry_after(settings):
    settings.LLM_SLOT_WAIT_SECONDS = 1
    llm_cooldown(30)

    with pytest.raises(LLMTransientError) as raised, llm_slot("ws-a"):
        pytest.fail("a slot was granted during the cooldown")

    assert raised.value.outcome == "throttled"
    assert 25 < (raised.value.retry_after or 0) <= 30


def test_a_full_deployment_throttles_after_the_wait(settings):
    settings.LLM_MAX_CONCURRENCY = 1
    settings.LLM_SLOT_WAIT_SECONDS = 1
    release, entered = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold, args=("ws-a", entered, release, []))
    holder.start()
    assert entered.wait(5)

    with pytest.raises(LLMTransientError) as raised, llm_slot("ws-b"):
        pytest.fail("a second slot was granted")

    assert raised.value.outcome == "throttled"
    release.set()
    holder.join(10)


def test_slots_of_a_process_that_died_expire(settings, limiter_redis):
    settings.LLM_MAX_CONCURRENCY = 1
    slots, workspace_slots = _keys("ws-dead")[:2]
    past = int(time.time() * 1000) - 1
    limiter_redis.zadd(slots, {"dead-process-token": past})
    limiter_redis.zadd(workspace_slots, {"dead-process-token": past})

    with llm_slot("ws-a"):
        assert limiter_redis.zcard(slots) == 1  # ours; the dead one was swept


def test_redis_unreachable_limits_per_process_instead_of_failing(settings):
    settings.LLM_LIMITER_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    settings.LLM_MAX_CONCURRENCY = 2
    llm_cooldown(5)  # lost with Redis: nothing to obey, nothing raised

    with llm_slot("ws-a"), llm_slot("ws-a"):
        pass
    assert settings.LLM_LIMITER_REDIS_URL != ""


def _window(client: redis.Redis) -> int | None:
    value = client.get(_keys("-")[4])
    return int(float(value)) if value is not None else None


def test_a_429_halves_the_calls_in_flight_everywhere_once_per_second(settings, limiter_redis):
    settings.LLM_MAX_CONCURRENCY = 8
    llm_rate_limited(1.0)
    llm_rate_limited(1.0)  # the same overload refusing several calls: one cut, not two
    assert llm_window() == 4

    in_flight, peak, lock = 0, 0, threading.Lock()

    def call() -> None:
        nonlocal in_flight, peak
        with llm_slot("ws-a"):
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
            time.sleep(0.2)
            with lock:
                in_flight -= 1
            raise RuntimeError("refused again")  # no success, so the window does not grow

    def guarded() -> None:
        with contextlib.suppress(RuntimeError):
            call()

    threads = [threading.Thread(target=guarded) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert peak == 4

    time.sleep(1.05)
    llm_rate_limited(1.0)  # a second overload a second later cuts again
    assert llm_window() == 2


def test_successes_grow_a_shrunk_window_back_to_the_limit(settings, limiter_redis):
    settings.LLM_MAX_CONCURRENCY = 6
    llm_rate_limited(None)
    assert llm_window() == 3
    for expected in (4, 5):
        with llm_slot("ws-a"):
            pass
        assert llm_window() == expected
    with llm_slot("ws-a"):
        pass
    assert llm_window() == 6
    assert _window(limiter_redis) is None  # back to the configured limit: nothing stored


def test_a_short_retry_after_does_not_pause_other_callers(settings):
    settings.LLM_COOLDOWN_MIN_SECONDS = 5
    llm_rate_limited(2.0)
    started = time.monotonic()
    with llm_slot("ws-b"):
        assert time.monotonic() - started < 0.5


def test_a_long_retry_after_pauses_every_caller(settings):
    settings.LLM_COOLDOWN_MIN_SECONDS = 1
    settings.LLM_SLOT_WAIT_SECONDS = 1
    llm_rate_limited(30)

    with pytest.raises(LLMTransientError) as raised, llm_slot("ws-b"):
        pytest.fail("a slot was granted during the cooldown")

    assert raised.value.outcome == "throttled"
    assert 25 < (raised.value.retry_after or 0) <= 30
