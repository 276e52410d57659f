"""Tests: always PostgreSQL and Redis, never the embedded fallbacks."""

from typing import Any

from config.env import DEFAULT_POSTGRES_URL, DEFAULT_REDIS_URL, env_str, parse_database_url

from .base import *  # noqa: F403
from .base import CELERY_BROKER_TRANSPORT_OPTIONS

# No `readonly` alias from DATABASE_URL_RO here (it would point outside the test database):
# tests/test_readonly_role.py creates a real read-only role on the test database and adds the
# alias for its own tests.
DATABASES: dict[str, Any] = {  # type: ignore[no-redef]
    "default": parse_database_url("DATABASE_URL", env_str("DATABASE_URL", DEFAULT_POSTGRES_URL))
}
DATABASES["default"]["CONN_MAX_AGE"] = 0
# Redis database 15 by default, so a `make run` worker on database 0 never takes a test's tasks.
_redis = env_str("REDIS_URL", DEFAULT_REDIS_URL.rsplit("/", 1)[0] + "/15")
CELERY_BROKER_URL = _redis
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "visibility_timeout": 3600,
}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": _redis,
        "KEY_PREFIX": "replydesk-test",
    }
}
LLM_LIMITER_REDIS_URL = _redis
LLM_LIMITER_PREFIX = "replydesk-test"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
