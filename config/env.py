"""Environment parsing: every setting comes from here, and a bad value names its variable."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import dj_database_url

logger = logging.getLogger("replydesk.config")

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


class ConfigError(Exception):
    """A missing or malformed environment variable; the message names it in one line."""


def env_str(name: str, default: str = "", environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return env.get(name, default).strip()


def env_required(name: str, environ: Mapping[str, str] | None = None) -> str:
    value = env_str(name, environ=environ)
    if not value:
        raise ConfigError(f"{name} must be set in the environment")
    return value


def env_bool(name: str, default: bool = False, environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    raw = env.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{name} must be 1 or 0 (true/false), got {raw!r}")


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    env = os.environ if environ is None else environ
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: str, environ: Mapping[str, str] | None = None) -> list[str]:
    return [part.strip() for part in env_str(name, default, environ).split(",") if part.strip()]


def env_networks(
    name: str, default: str, environ: Mapping[str, str] | None = None
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """A comma-separated list of addresses or CIDR networks ("127.0.0.1/32,10.0.0.0/8")."""
    networks = []
    for part in env_list(name, default, environ):
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigError(f"{name} must list IP networks, got {part!r}") from None
    return networks


def env_choice(
    name: str, default: str, choices: tuple[str, ...], environ: Mapping[str, str] | None = None
) -> str:
    value = env_str(name, default, environ).lower() or default
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def port_answers(host: str, port: int, timeout: float = 0.3) -> bool:
    """True when something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/replydesk"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class Backends:
    """What the process talks to, and whether it was chosen for lack of configuration."""

    database_url: str
    broker_url: str
    database_embedded: bool
    broker_embedded: bool

    def describe(self) -> str:
        db = "embedded SQLite" if self.database_embedded else _redact(self.database_url)
        broker = "Celery filesystem transport" if self.broker_embedded else _redact(self.broker_url)
        return f"backends: database={db} broker={broker}"


def _redact(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":***@")
    return url


def choose_backends(
    base_dir: Path,
    environ: Mapping[str, str] | None = None,
    answers: object = port_answers,
) -> Backends:
    """Pick the database and broker: explicit URLs first, then local services, then embedded.

    `make run` must work on a laptop with nothing installed, so without DATABASE_URL we use
    PostgreSQL on 127.0.0.1 when it answers and an SQLite file otherwise; likewise Redis or
    Celery's filesystem transport for the broker.
    """
    probe = answers if callable(answers) else port_answers
    database_url = env_str("DATABASE_URL", environ=environ)
    database_embedded = False
    if not database_url:
        if probe("127.0.0.1", 5432):
            database_url = DEFAULT_POSTGRES_URL
        else:
            database_url = f"sqlite:///{base_dir / 'db.sqlite3'}"
            database_embedded = True
    broker_url = env_str("REDIS_URL", environ=environ)
    broker_embedded = False
    if not broker_url:
        if probe("127.0.0.1", 6379):
            broker_url = DEFAULT_REDIS_URL
        else:
            broker_url = "filesystem://"
            broker_embedded = True
    return Backends(database_url, broker_url, database_embedded, broker_embedded)


def parse_database_url(name: str, url: str) -> dict[str, object]:
    scheme = urlparse(url).scheme
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ConfigError(f"{name} must be a postgres:// or sqlite:// URL, got scheme {scheme!r}")
    try:
        config = dict(dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True))
    except Exception as exc:  # dj_database_url raises several types for junk
        raise ConfigError(f"{name} is not a valid database URL: {exc}") from None
    if scheme == "sqlite":
        return config
    options: dict[str, object] = dict(config.get("OPTIONS") or {})  # type: ignore[call-overload]
    if env_bool("DB_POOL", True):
        config["CONN_MAX_AGE"] = 0  # the pool keeps connections; Django must not pin them
        options["pool"] = db_pool_options()
    if env_bool("DB_SERVER_SIDE_BINDING", True):
        # Parameters travel apart from the SQL, and psycopg prepares a statement the fifth
        # time a connection runs it: PostgreSQL plans the pipeline's hot queries once per
        # connection instead of parsing and planning each, and no Python quotes values.
        # (Django turns psycopg's preparing off unless OPTIONS asks; psycopg's default is 5.)
        options["server_side_binding"] = True
        options["prepare_threshold"] = 5
    if env_bool("DB_PGBOUNCER", False):
        # Behind PgBouncer in transaction pooling mode consecutive transactions may run on
        # different server connections: no named server-side cursors, no prepared statements.
        # (Nothing in the project takes session-level locks; runs are claimed by row.)
        config["DISABLE_SERVER_SIDE_CURSORS"] = True
        options["prepare_threshold"] = None
    config["OPTIONS"] = options
    return config


def db_pool_options(environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """This process's share of the connection budget (docs/architecture.md, "Connections").

    Every thread borrows a connection only while it talks to the database and gives it back
    before waiting on a model (pipeline.llm.gateway) and at the end of each request or task,
    so a few connections serve hundreds of threads. A thread that cannot get one within
    DB_POOL_TIMEOUT seconds gets an error the web answers with 503 and Retry-After.
    """
    min_size = env_int("DB_POOL_MIN_SIZE", 1, minimum=0, environ=environ)
    max_size = env_int("DB_POOL_MAX_SIZE", 4, minimum=1, environ=environ)
    if max_size < min_size:
        raise ConfigError(f"DB_POOL_MAX_SIZE ({max_size}) is below DB_POOL_MIN_SIZE ({min_size})")
    return {
        "min_size": min_size,
        "max_size": max_size,
        "timeout": float(env_int("DB_POOL_TIMEOUT", 5, minimum=1, environ=environ)),
        # Idle connections above min_size go back to the server after a minute.
        "max_idle": 60.0,
    }


@dataclass(frozen=True)
class EmailConfig:
    backend: str
    host: str = "localhost"
    port: int = 25
    user: str = ""
    password: str = ""
    use_tls: bool = False
    use_ssl: bool = False

    def mailer(self) -> dict[str, Any]:
        """The `MAILERS["default"]` entry (Django 6.1 mail configuration)."""
        if not self.backend.endswith("smtp.EmailBackend"):
            return {"BACKEND": self.backend}
        return {
            "BACKEND": self.backend,
            "OPTIONS": {
                "host": self.host,
                "port": self.port,
                "username": self.user,
                "password": self.password,
                "use_tls": self.use_tls,
                "use_ssl": self.use_ssl,
                "timeout": 20,
            },
        }


def parse_email_url(url: str) -> EmailConfig:
    """EMAIL_URL: smtp://user:pass@host:port, smtp+tls://, smtp+ssl://, console:// or memory://."""
    if not url:
        return EmailConfig(backend="django.core.mail.backends.console.EmailBackend")
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme == "console":
        return EmailConfig(backend="django.core.mail.backends.console.EmailBackend")
    if scheme == "memory":
        return EmailConfig(backend="django.core.mail.backends.locmem.EmailBackend")
    if scheme not in {"smtp", "smtp+tls", "smtp+ssl", "submission"}:
        raise ConfigError(
            f"EMAIL_URL must start with smtp://, smtp+tls://, smtp+ssl://, console:// or memory://,"
            f" got {scheme!r}"
        )
    try:
        port = parsed.port
    except ValueError:
        raise ConfigError("EMAIL_URL has an invalid port") from None
    if not parsed.hostname:
        raise ConfigError("EMAIL_URL must name a host, e.g. smtp://mail.example.com:587")
    use_ssl = scheme == "smtp+ssl"
    use_tls = scheme in {"smtp+tls", "submission"}
    default_port = 465 if use_ssl else 587 if use_tls else 25
    return EmailConfig(
        backend="django.core.mail.backends.smtp.EmailBackend",
        host=parsed.hostname,
        port=port or default_port,
        user=unquote(parsed.username or ""),
        password=unquote(parsed.password or ""),
        use_tls=use_tls,
        use_ssl=use_ssl,
    )
