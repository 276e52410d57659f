"""The environment parser and the embedded-default chooser."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from config.env import (
    ConfigError,
    choose_backends,
    env_bool,
    env_int,
    parse_database_url,
    parse_email_url,
)
from workspaces.models import Workspace

ROOT = Path(__file__).resolve().parent.parent


def test_explicit_urls_win():
    b = choose_backends(
        ROOT,
        {"DATABASE_URL": "postgres://u@db:5432/x", "REDIS_URL": "redis://r:6379/1"},
        answers=lambda host, port: False,
    )
    assert (b.database_url, b.broker_url) == ("postgres://u@db:5432/x", "redis://r:6379/1")
    assert not b.database_embedded
    assert not b.broker_embedded


def test_local_services_are_used_when_they_answer():
    b = choose_backends(ROOT, {}, answers=lambda host, port: True)
    assert b.database_url.startswith("postgres://")
    assert b.broker_url.startswith("redis://")
    assert b.describe() == (
        "backends: database=postgres://postgres@127.0.0.1:5432/replydesk "
        "broker=redis://127.0.0.1:6379/0"
    )


def test_embedded_fallbacks_when_nothing_answers():
    b = choose_backends(ROOT, {}, answers=lambda host, port: False)
    assert b.database_url == f"sqlite:///{ROOT / 'db.sqlite3'}"
    assert b.broker_url == "filesystem://"
    assert b.describe() == "backends: database=embedded SQLite broker=Celery filesystem transport"


def test_only_postgres_answers():
    b = choose_backends(ROOT, {}, answers=lambda host, port: port == 5432)
    assert not b.database_embedded
    assert b.broker_embedded


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: env_bool("X", environ={"X": "maybe"}), "X must be 1 or 0"),
        (lambda: env_int("Y", 3, environ={"Y": "ten"}), "Y must be a whole number"),
        (lambda: env_int("Y", 3, minimum=1, environ={"Y": "0"}), "Y must be at least 1"),
        (lambda: parse_email_url("ftp://x"), "EMAIL_URL must start with"),
    ],
)
def test_malformed_values_name_their_variable(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_email_url_parsing():
    cfg = parse_email_url("smtp+tls://u%40x:p@mail.example.com")
    assert (cfg.host, cfg.port, cfg.user, cfg.password, cfg.use_tls) == (
        "mail.example.com",
        587,
        "u@x",
        "p",
        True,
    )


def test_bad_environment_stops_startup_with_one_line():
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DEBUG": "perhaps",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "replydesk: configuration error: DEBUG must be 1 or 0 (true/false), got 'perhaps'"
    )


def test_production_requires_a_secret_key():
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "EMAIL_URL": "smtp://m.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "replydesk: configuration error: SECRET_KEY must be set in the environment"
    )


def test_production_passes_deploy_checks():
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "k3#Vq9!zT7@pL2$wR8%mN4^bX6&cJ1*hF5(dG0)sY-=u+aE_i[o]e{r}t|y;",
        "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com",
        "ALLOWED_HOSTS": "replydesk.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_database_url_behind_pgbouncer_drops_server_side_cursors_and_prepares(monkeypatch):
    from config.env import parse_database_url

    monkeypatch.setenv("DB_PGBOUNCER", "1")
    monkeypatch.setenv("DB_POOL_MAX_SIZE", "6")
    config = parse_database_url("DATABASE_URL", "postgres://app@pgbouncer.internal:6432/replydesk")

    assert config["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert config["OPTIONS"]["prepare_threshold"] is None
    assert config["OPTIONS"]["pool"]["max_size"] == 6
    assert config["CONN_MAX_AGE"] == 0


def test_database_url_by_default_pools_and_keeps_server_side_cursors(monkeypatch):
    from config.env import parse_database_url

    monkeypatch.delenv("DB_PGBOUNCER", raising=False)
    monkeypatch.delenv("DB_POOL_MAX_SIZE", raising=False)
    config = parse_database_url("DATABASE_URL", "postgres://app@db.internal:5432/replydesk")

    assert not config.get("DISABLE_SERVER_SIDE_CURSORS")
    assert config["OPTIONS"]["prepare_threshold"] == 5
    assert config["OPTIONS"]["pool"]["max_size"] == 4
    assert config["OPTIONS"]["server_side_binding"] is True


def test_server_side_binding_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("DB_SERVER_SIDE_BINDING", "0")
    config = parse_database_url("DATABASE_URL", "postgres://app@db.internal:5432/replydesk")

    assert "server_side_binding" not in config["OPTIONS"]
    assert "prepare_threshold" not in config["OPTIONS"]


@pytest.mark.django_db
def test_a_query_run_often_is_planned_once_per_connection():
    """Server-side binding lets psycopg prepare a statement a connection keeps running, so
    PostgreSQL parses and plans the pipeline's hot queries once, not on every message."""
    for name in ("a", "b", "c", "d", "e", "f"):
        list(Workspace.objects.filter(name=name))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ['%FROM "workspaces_workspace"%'],
        )
        (prepared,) = cursor.fetchone()
    assert prepared >= 1
