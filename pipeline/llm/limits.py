"""The provider's limits, shared by every worker thread, process and machine.

`llm_slot()` is held around every model call. A slot is a member of a Redis sorted set
scored by its expiry, so `LLM_MAX_CONCURRENCY` caps the calls in flight across the whole
deployment, and a process that dies mid-call frees its slots when they expire
(LLM_TIMEOUT_SECONDS + a margin) instead of leaking them. Fair share: while other
workspaces are waiting for a slot, a workspace holding more than its share (the limit
divided among the workspaces that want slots) waits too, so one workspace's burst cannot
starve the rest; with nobody else waiting it may use every slot (no capacity sits idle).

A 429 shrinks the deployment's window of calls in flight (AIMD, as TCP does with a lost
packet): `llm_rate_limited()` cuts the window to RATE_LIMIT_FACTOR of itself, at most once per
RATE_LIMIT_INTERVAL_MS (a burst of 429s from one overload is one signal, not a hundred), never
below RATE_LIMIT_FLOOR; every call that succeeds grows it by one, back up to
LLM_MAX_CONCURRENCY. The refused call itself is retried after its Retry-After. So a provider
that refuses some calls slows the deployment down to what it accepts instead of stopping it.
A Retry-After of LLM_COOLDOWN_MIN_SECONDS or more is the provider saying "everyone wait" (a
quota exhausted): that sets a cooldown (`llm_cooldown()`, the longer of any two wins) and no
thread anywhere starts a call until it has passed. A thread that cannot get a slot within
LLM_SLOT_WAIT_SECONDS, or whose cooldown is longer, gets `LLMTransientError("throttled")` and
the run is parked for a retry: it does not hold a thread for minutes.

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
RATE_LIMIT_FACTOR = 0.5
RATE_LIMIT_FLOOR = 2
RATE_LIMIT_INTERVAL_MS = 1000
WINDOW_TTL_MS = 600_000  # an idle deployment forgets a shrunk window after ten minutes
WAITING_WINDOW_MS = 2000
POLL_FIRST_SECONDS = 0.02
POLL_MAX_SECONDS = 0.5

# KEYS: slots, workspace slots, waiting workspaces, cooldown, window.
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
local window = tonumber(redis.call('GET', KEYS[5]))
if window and window < limit then limit = math.max(1, math.floor(window)) end
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

# KEYS: slots, workspace slots, window. ARGV: token, 1 if the call succeeded, limit, window ttl.
# A success grows a shrunk window by one slot (additive increase).
_RELEASE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[2] == '1' then
  local window = tonumber(redis.call('GET', KEYS[3]))
  if window then
    if window + 1 >= tonumber(ARGV[3]) then redis.call('DEL', KEYS[3])
    else redis.call('SET', KEYS[3], window + 1, 'PX', ARGV[4]) end
  end
end
return 1
"""

# KEYS: window, shrunk marker. ARGV: limit, factor, floor, interval ms, window ttl.
# Returns the window after the cut (multiplicative decrease, once per interval).
_SHRINK = """
local limit = tonumber(ARGV[1])
local window = tonumber(redis.call('GET', KEYS[1])) or limit
if window > limit then window = limit end
if redis.call('SET', KEYS[2], '1', 'PX', ARGV[4], 'NX') then
  window = math.max(tonumber(ARGV[3]), math.floor(window * tonumber(ARGV[2])))
  redis.call('SET', KEYS[1], window, 'PX', ARGV[5])
end
return window
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
        self.client = client
        self.acquire = client.register_script(_ACQUIRE)
        self.release = client.register_script(_RELEASE)
        self.cooldown = client.register_script(_COOLDOWN)
        self.shrink = client.register_script(_SHRINK)


@cache
def _limiter_for(url: str) -> _Limiter:
    return _Limiter(url)


@cache
def _local_semaphore(limit: int) -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(limit)


_outage_logged = threading.Event()


def _keys(workspace: str) -> list[str]:
    """slots, the workspace's slots, waiting workspaces, cooldown, window."""
    prefix = f"{settings.LLM_LIMITER_PREFIX}:llm"
    return [
        f"{prefix}:slots",
        f"{prefix}:ws:{workspace}",
        f"{prefix}:waiting",
        f"{prefix}:cool",
        f"{prefix}:window",
    ]


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


def llm_rate_limited(retry_after: float | None) -> None:
    """The provider refused a call (429): shrink everyone's window, and when it asked for a
    long wait, make everyone wait that long."""
    limiter = _limiter()
    if limiter is None:
        return
    window = _keys("-")[4]
    try:
        limiter.shrink(
            keys=[window, f"{window}:shrunk"],
            args=[
                int(settings.LLM_MAX_CONCURRENCY),
                RATE_LIMIT_FACTOR,
                RATE_LIMIT_FLOOR,
                RATE_LIMIT_INTERVAL_MS,
                WINDOW_TTL_MS,
            ],
        )
    except redis.RedisError as exc:
        _outage(exc)
        return
    if retry_after and retry_after >= float(settings.LLM_COOLDOWN_MIN_SECONDS):
        llm_cooldown(retry_after)


def llm_window() -> int:
    """Model calls the deployment may have in flight right now (the configured limit, or less
    while a provider's 429s have shrunk it)."""
    limit = int(settings.LLM_MAX_CONCURRENCY)
    limiter = _limiter()
    if limiter is None:
        return limit
    try:
        value = limiter.client.get(_keys("-")[4])
    except redis.RedisError:
        return limit
    return min(limit, int(float(value))) if value is not None else limit


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
    succeeded = False
    try:
        yield
        succeeded = True
    finally:
        try:
            limiter.release(
                keys=[keys[0], keys[1], keys[4]],
                args=[token, int(succeeded), limit, WINDOW_TTL_MS],
            )
        except redis.RedisError as exc:
            _outage(exc)  # the slot expires on its own
