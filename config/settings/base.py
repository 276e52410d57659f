"""Settings shared by every environment. Every value comes from the environment (12-factor).

A missing or malformed variable stops start-up with one line naming it (see `config.env`).
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.utils.csp import CSP

from config.env import (
    ConfigError,
    choose_backends,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_networks,
    env_str,
    parse_database_url,
    parse_email_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def _fail(exc: ConfigError) -> None:
    sys.stderr.write(f"replydesk: configuration error: {exc}\n")
    raise SystemExit(2)


try:
    SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-change-me-0123456789abcdef")
    DEBUG = env_bool("DEBUG", False)
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
    BACKENDS = choose_backends(BASE_DIR)
    DATABASES: dict[str, Any] = {
        "default": parse_database_url("DATABASE_URL", BACKENDS.database_url)
    }
    _ro_url = env_str("DATABASE_URL_RO")
    if _ro_url:
        DATABASES["readonly"] = parse_database_url("DATABASE_URL_RO", _ro_url)
    _email = parse_email_url(env_str("EMAIL_URL"))
    LLM_PROVIDER = env_choice(
        "LLM_PROVIDER",
        "openai" if env_str("OPENAI_API_KEY") else "offline",
        ("offline", "openai"),
    )
    OPENAI_API_KEY = env_str("OPENAI_API_KEY")
    if LLM_PROVIDER == "openai" and not OPENAI_API_KEY:
        raise ConfigError("OPENAI_API_KEY must be set when LLM_PROVIDER=openai")
    OPENAI_BASE_URL = env_str("OPENAI_BASE_URL") or None
    LLM_DEFAULT_MODEL = env_str("LLM_DEFAULT_MODEL", "gpt-5-mini")
    # `auto` probes the server (pipeline/llm/server_probe.py); the others force a mode.
    LLM_STRUCTURED_OUTPUT = env_choice(
        "LLM_STRUCTURED_OUTPUT",
        "auto",
        ("auto", "json_schema", "json_object_schema", "json_object", "prompt"),
    )
    # Output-token budget per kind of stage (pipeline/llm/capabilities.py maps stages here),
    # so a weak model cannot run to its context limit.
    LLM_MAX_TOKENS = {
        kind: env_int(f"LLM_MAX_TOKENS_{kind.upper()}", default, minimum=16)
        for kind, default in (
            ("strategy", 600),
            ("draft", 600),
            ("verify", 800),
            ("overseer", 300),
            ("evaluate", 400),
        )
    }
    LLM_PROBE_TTL_SECONDS = env_int("LLM_PROBE_TTL_SECONDS", 600, minimum=0)
    LLM_TIMEOUT_SECONDS = env_int("LLM_TIMEOUT_SECONDS", 60, minimum=1)
    LLM_MAX_RETRIES = env_int("LLM_MAX_RETRIES", 2, minimum=0)
    # Model calls in flight across every worker process and machine (pipeline/llm/limits.py),
    # shared through Redis; how long a thread waits for a slot before its run is parked.
    LLM_MAX_CONCURRENCY = env_int("LLM_MAX_CONCURRENCY", 500, minimum=1)
    LLM_SLOT_WAIT_SECONDS = env_int("LLM_SLOT_WAIT_SECONDS", 60, minimum=1)
    # A 429 whose Retry-After is at least this long pauses every caller (a quota exhausted);
    # shorter ones only shrink the shared window of calls in flight (pipeline/llm/limits.py).
    LLM_COOLDOWN_MIN_SECONDS = env_int("LLM_COOLDOWN_MIN_SECONDS", 5, minimum=0)
    AUTO_SEND_DISABLED = env_bool("AUTO_SEND_DISABLED", False)
    AUTO_SEND_REVISION_DISABLED = env_bool("AUTO_SEND_REVISION_DISABLED", False)
    DRAFT_PIPELINE_RUN_RETENTION_DAYS = env_int("DRAFT_PIPELINE_RUN_RETENTION_DAYS", 30, minimum=1)
    # A run's lease (pipeline.runs): renewed every third of it by the worker's heartbeat, so a
    # dead worker's run is resumed by another within about this long plus one sweep (10 s).
    PIPELINE_LEASE_SECONDS = env_int("PIPELINE_LEASE_SECONDS", 30, minimum=3)
    # A send still `sending` this long after its claim belongs to a dead worker: it becomes
    # `unknown` for an operator (never resent). Default: the hard task time limit (300 s).
    AUTO_SEND_SENDING_TIMEOUT_SECONDS = env_int("AUTO_SEND_SENDING_TIMEOUT_SECONDS", 300, minimum=1)
    # How often beat runs the two pipeline sweeps (unstarted messages, lapsed or due runs), how
    # old a message with no run must be before it counts as unstarted, and the first parked
    # retry's backoff. Production keeps the defaults; the fault suite shortens them.
    PIPELINE_SWEEP_EVERY_SECONDS = env_int("PIPELINE_SWEEP_EVERY_SECONDS", 10, minimum=1)
    PIPELINE_SWEEP_AFTER_SECONDS = env_int("PIPELINE_SWEEP_AFTER_SECONDS", 15, minimum=1)
    PIPELINE_RETRY_BASE_SECONDS = float(env_int("PIPELINE_RETRY_BASE_SECONDS", 5, minimum=1))
    # Finished background-job records (JobRun) older than this are purged with the runs.
    JOB_RUN_RETENTION_DAYS = env_int("JOB_RUN_RETENTION_DAYS", 90, minimum=1)
    # Development and tests only: lets outbound requests (reply webhooks, workflow webhooks,
    # knowledge fetches) reach private and loopback addresses. See config/netguard.py.
    OUTBOUND_ALLOW_PRIVATE = env_bool("OUTBOUND_ALLOW_PRIVATE", False)
    # /metrics (ops/metrics.py): a scraper presenting `Authorization: Bearer <METRICS_TOKEN>`
    # is let in from anywhere; without the token only these networks (default: loopback).
    METRICS_TOKEN = env_str("METRICS_TOKEN", "")
    METRICS_ALLOWED_NETWORKS = env_networks("METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
    LOG_FORMAT = env_choice("LOG_FORMAT", "text", ("text", "json"))
    LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
except ConfigError as exc:
    _fail(exc)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "ninja",
    "workspaces",
    "drafts",
    "pipeline",
    "autosend",
    "review",
    "timing",
    "ops",
]

MIDDLEWARE = [
    # Outermost, so every answer (even another middleware's) goes out with the body drained.
    "config.request_body.RequestBodyLimitMiddleware",
    # A database that refuses or times out is a 503 with Retry-After, never a 500.
    "config.unavailable.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "drafts.context_processors.nav",
            ],
        },
    },
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / ".run" / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request otherwise
STATICFILES_DIRS = [BASE_DIR / "static"]

# Scripts and styles come from this project only (no CDN); no inline script.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from a meta tag, not the cookie

# --- Cache (throttles, locks) -------------------------------------------------------------
if BACKENDS.broker_embedded:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": BACKENDS.broker_url,
            "KEY_PREFIX": "replydesk",
        }
    }
# The shared LLM call limiter (pipeline/llm/limits.py) lives in the same Redis; without one
# (the embedded broker of a quick look) each process limits its own calls.
LLM_LIMITER_REDIS_URL = (
    BACKENDS.broker_url if BACKENDS.broker_url.startswith(("redis://", "rediss://")) else ""
)
LLM_LIMITER_PREFIX = "replydesk"

# --- Email (the email transport) ----------------------------------------------------------
MAILERS = {"default": _email.mailer()}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "replies@replydesk.localhost")

# --- Celery -------------------------------------------------------------------------------
# Each choice is deliberate; the reasons are in config/celery.py where the app reads them.
CELERY_BROKER_URL = BACKENDS.broker_url
# redis:// through kombu's Redis transport with one client per channel (config/broker.py).
if BACKENDS.broker_url.startswith("redis://"):
    CELERY_BROKER_TRANSPORT = "config.broker:Transport"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "max_retries": 1,
}
if BACKENDS.broker_embedded:
    _queue_dir = BASE_DIR / ".run" / "broker"
    for _sub in ("out", "processed"):
        (_queue_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "out"),
        "data_folder_out": str(_queue_dir / "out"),
        "processed_folder": str(_queue_dir / "processed"),
        "store_processed": False,
    }
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery's Django fixup closes the database connection around every task unless this is
# set: a new PostgreSQL backend per task, which cut pipeline throughput to a third. With
# it the connection is reused (config/celery.py checks it like Django does per request).
CELERY_DB_REUSE_MAX = 1000
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / ".run" / "celerybeat-schedule")
# The beat schedule: every periodic job, with how often it runs. Tasks are registered by
# the apps; a name that is not registered yet simply waits for its issue to land.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Due scheduled sends; an unclaimed run expires rather than piling up behind a slow one.
    "autosend-deliver-due": {
        "task": "autosend.deliver_due",
        "schedule": 5.0,
        "options": {"expires": 10},
    },
    "timing-process-response-timing": {
        "task": "timing.process_response_timing",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Outbound workflow webhooks due (first attempts and retries with backoff).
    "workspaces-deliver-due-webhooks": {
        "task": "workspaces.deliver_due_webhooks",
        "schedule": 10.0,
        "options": {"expires": 9},
    },
    # Re-publish inbound messages whose pipeline never started (broker down at commit).
    "pipeline.sweep_unstarted_messages": {
        "task": "pipeline.sweep_unstarted_messages",
        "schedule": float(PIPELINE_SWEEP_EVERY_SECONDS),
        # A sweep still queued when the next one is due is moot.
        "options": {"expires": PIPELINE_SWEEP_EVERY_SECONDS * 0.9},
    },
    "pipeline-purge-old-runs": {"task": "pipeline.purge_old_runs", "schedule": timedelta(hours=1)},
    # Runs whose worker died (lease lapsed) or whose parked retry is due: seconds, not minutes.
    "pipeline-resume-stale-runs": {
        "task": "pipeline.resume_stale_runs",
        "schedule": float(PIPELINE_SWEEP_EVERY_SECONDS),
        "options": {"expires": PIPELINE_SWEEP_EVERY_SECONDS * 0.9},
    },
    # Knowledge documents whose refresh is due, one bounded batch per tick.
    "pipeline-refresh-due-knowledge": {
        "task": "pipeline.refresh_due_knowledge",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 240},
    },
    # Erase message bodies past each workspace's retention (off unless a workspace sets it).
    "drafts-apply-message-retention": {
        "task": "drafts.apply_message_retention",
        "schedule": timedelta(days=1),
    },
}

# --- Logging ------------------------------------------------------------------------------
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The LLM SDK and its HTTP client log requests at DEBUG/INFO (URLs, and in some
        # versions bodies, i.e. prompts with message text): keep them out of our logs.
        "openai": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
        "celery": {"level": "INFO"},
    },
}

# --- Product ------------------------------------------------------------------------------
REVIEW_HOLD_DURATION = timedelta(minutes=10)
# An inbound message with no run this long after it arrived lost its publish (broker down or
# restarted empty, worker dead before the run began): the sweep (every 10 s) publishes it
# again, so it starts within about 25 s.
PIPELINE_SWEEP_AFTER = timedelta(seconds=PIPELINE_SWEEP_AFTER_SECONDS)
# A run the sweeper enqueued again is not enqueued again before this (it may wait in a queue).
PIPELINE_REQUEUE_GRACE_SECONDS = 60
# Transient provider trouble: retry with jittered backoff from 5 s up to 10 min between tries,
# for up to 6 h after the run started; after that, or once answered, a person takes over.
PIPELINE_RETRY_MAX_SECONDS = 600.0
PIPELINE_RETRY_FOR = timedelta(hours=6)
# Delivery: a due send more than this late is cancelled as stale (and goes back to review);
# a row still `sending` after the hard task time limit belongs to a dead worker (→ unknown).
AUTO_SEND_STALE_AFTER = timedelta(hours=1)
AUTO_SEND_SENDING_TIMEOUT = timedelta(seconds=AUTO_SEND_SENDING_TIMEOUT_SECONDS)
AUTO_SEND_DELIVERY_BATCH = 50
AUTO_SEND_DELIVERY_BUDGET_SECONDS = 60.0
AUTO_SEND_WEBHOOK_TIMEOUT_SECONDS = 10.0
# Outbound workflow webhooks (workspaces/webhooks_out.py): a short timeout per attempt, up to
# 12 attempts with backoff; a row `delivering` longer than the timeout had a dead worker.
OUTBOUND_WEBHOOK_TIMEOUT_SECONDS = 5.0
OUTBOUND_WEBHOOK_MAX_ATTEMPTS = 12
OUTBOUND_WEBHOOK_DELIVERING_TIMEOUT = timedelta(minutes=5)
OUTBOUND_WEBHOOK_BATCH = 50
OUTBOUND_WEBHOOK_BUDGET_SECONDS = 60.0
LOGIN_THROTTLE_ATTEMPTS = 5
LOGIN_THROTTLE_WINDOW_SECONDS = 300
