"""Throttle repeated failed logins per account and per client address (in the shared cache,
so every web process sees the same counts)."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache


def _keys(username: str, address: str) -> list[str]:
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:24]
    return [f"login-fail:user:{digest}", f"login-fail:addr:{address}"]


def login_is_throttled(*, username: str, address: str) -> bool:
    limit = settings.LOGIN_THROTTLE_ATTEMPTS
    counts = cache.get_many(_keys(username, address))
    return any(int(count) >= limit for count in counts.values())


def login_failure_record(*, username: str, address: str) -> None:
    window = settings.LOGIN_THROTTLE_WINDOW_SECONDS
    for key in _keys(username, address):
        if cache.add(key, 1, timeout=window):
            continue
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)


def login_failures_clear(*, username: str, address: str) -> None:
    cache.delete(_keys(username, address)[0])
