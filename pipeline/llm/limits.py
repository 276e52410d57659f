"""The provider's limits, shared by every worker thread, process and machine.

`llm_slot()` is held around every model call. A slot is a member of a Redis sorted set
scored by its expiry, so `LLM_MAX_CONCURRENCY` caps the calls in flight across the whole
deployment, and a process that dies mid-call frees its slots when they expire
(LLM_TIMEOUT_SECONDS + a margin) instead of leaking them. Fair share: while other
workspaces are waiting for a slot, a workspace holding more than its share (the limit
divided among the workspaces that want slots) waits too, so one workspace's burst cannot
starve the rest; with nobody else waiting it may use every slot (no capacity sits idle).

A 429 sets a cooldown for the provider (`llm_cooldown()`, the longer of any two wins): no
thread anywhere starts a call until it has passed, as the provider asked. A thread that
cannot get a slot within LLM_SLOT_WAIT_SECONDS, or whose cooldown is longer, gets
`LLMTransientError("throttled")` and the run is parked for a retry: it does not hold a
thread for minutes.

Redis unreachable: each process falls back to a local semaphore of the same size (logged
once per outage) rather than failing or waiting; the shared cap is back as soon as Redis is.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import redis
from django.conf import settings

from pipeline.llm.errors import THROTTLED, LLMTransientError

logger = logging.getLogger("pipeline.llm")

SLOT_MARGIN_SECONDS = 30
WAITING_WINDOW_MS = 2000
POLL_FIRST_SECONDS = 0.02
POLL_MAX_SECONDS = 0.5

# KEYS: slots, workspace slots, waiting workspaces, cooldown.
# ARGV: now ms, slot expiry ms, limit, token, workspace id, waiting window ms.
# Returns {1, 0} granted, {0, 0} full (try again soon), {0, ms} cooling down for ms.
_ACQUIRE = """
local now = tonumber(ARGV[1])
local cooling = redis.call('PTTL', KEYS[4])
if cooling > 0 then return {0, cooling} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[6]))
local limit = tonumber(ARGV[3])
local total = redis.call('ZCARD', KEYS[1])
if total >= limit then
  redis.call('ZADD', KEYS[3], now, ARGV[5])
  return {0, 0}
end
local others = redis.call('ZCARD', KEYS[3])
if redis.call('ZSCORE', KEYS[3], ARGV[5]) then others = others - 1 end
if others > 0 then
  local share = math.ceil(limit / (others + 1))
  if redis.call('ZCARD', KEYS[2]) >= share then
    redis.call('ZADD', KEYS[3], now, ARGV[5])
    return {0, 0}
  end
end
local expiry = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], expiry, ARGV[4])
redis.call('ZADD', KEYS[2], expiry, ARGV[4])
redis.call('PEXPIRE', KEYS[1], expiry - now)
redis.call('PEXPIRE', KEYS[2], expiry - now)
redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[6]))
return {1, 0}
"""

_RELEASE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""

# KEYS: cooldown. ARGV: ms. A shorter Retry-After never cuts a longer one short.
_COOLDOWN = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
return 1
"""


class _Limiter:
    """One Redis client per URL, with the scripts registered (sent by SHA after the first)."""

    def __init__(self, url: str) -> None:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        self.acquire = client.register_script(_ACQUIRE)
        self.release = client.register_script(_RELEASE)
        self.cooldown = client.register_script(_COOLDOWN)


@cache
def _limiter_for(url: str) -> _Limiter:
    return _Limiter(url)


@cache
def _local_semaphore(limit: int) -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(limit)


_outage_logged = threading.Event()


def _keys(workspace: str) -> list[str]:
    prefix = f"{settings.LLM_LIMITER_PREFIX}:llm"
    return [f"{prefix}:slots", f"{prefix}:ws:{workspace}", f"{prefix}:waiting", f"{prefix}:cool"]


def _limiter() -> _Limiter | None:
    url = settings.LLM_LIMITER_REDIS_URL
    return _limiter_for(url) if url else None


def _outage(exc: Exception) -> None:
    if not _outage_logged.is_set():
        _outage_logged.set()
        logger.warning(
            "llm limiter: Redis unreachable, limiting per process", extra={"error": str(exc)}
        )


def llm_cooldown(seconds: float) -> None:
    """The provider asked every caller to wait (a 429 with Retry-After): all workers wait."""
    limiter = _limiter()
    if limiter is None or seconds <= 0:
        return
    try:
        limiter.cooldown(keys=[_keys("-")[3]], args=[int(seconds * 1000)])
    except redis.RedisError as exc:
        _outage(exc)


@contextmanager
def _local_slot(limit: int, wait: float) -> Iterator[None]:
    semaphore = _local_semaphore(limit)
    if not semaphore.acquire(timeout=wait):
        raise LLMTransientError(THROTTLED, "no model call slot free in this process")
    try:
        yield
    finally:
        semaphore.release()


@contextmanager
def llm_slot(workspace_id: object) -> Iterator[None]:
    """Hold one of the deployment's LLM_MAX_CONCURRENCY model-call slots for one call."""
    limit = int(settings.LLM_MAX_CONCURRENCY)
    wait = float(settings.LLM_SLOT_WAIT_SECONDS)
    limiter = _limiter()
    if limiter is None:
        with _local_slot(limit, wait):
            yield
        return
    keys = _keys(str(workspace_id or "-"))
    token = uuid.uuid4().hex
    hold_ms = (int(settings.LLM_TIMEOUT_SECONDS) + SLOT_MARGIN_SECONDS) * 1000
    deadline = time.monotonic() + wait
    pause = POLL_FIRST_SECONDS
    while True:
        now_ms = int(time.time() * 1000)
        try:
            granted, cooling_ms = limiter.acquire(
                keys=keys,
                args=[now_ms, now_ms + hold_ms, limit, token, keys[1], WAITING_WINDOW_MS],
            )
        except redis.RedisError as exc:
            _outage(exc)
            with _local_slot(limit, max(0.0, deadline - time.monotonic())):
                yield
            return
        _outage_logged.clear()
        if granted:
            break
        left = deadline - time.monotonic()
        if cooling_ms:
            if cooling_ms / 1000 > left:
                raise LLMTransientError(
                    THROTTLED, "the provider asked to wait", retry_after=cooling_ms / 1000
                )
            time.sleep(cooling_ms / 1000 + random.uniform(0, 0.25))
            continue
        if left <= 0:
            raise LLMTransientError(THROTTLED, "no model call slot free")
        time.sleep(min(left, pause * random.uniform(0.5, 1.5)))
        pause = min(POLL_MAX_SECONDS, pause * 1.5)
    try:
        yield
    finally:
        try:
            limiter.release(keys=keys[:2], args=[token])
        except redis.RedisError as exc:
            _outage(exc)  # the slot expires on its own
