"""When PostgreSQL refuses connections, senders get 503 + Retry-After, never a 500, and
their retry is accepted once.

A real gunicorn connects as a PostgreSQL role whose connection limit is 0: the server answers
every connection with `too many connections for role`, exactly as a server out of slots
does. Lifting the limit is the database coming back. The shared server itself is not touched
beyond that one role, which the test creates and drops.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

from drafts.models import Message
from tests.live_processes import gunicorn_server, subprocess_env
from tests.webhooks import encode, payload, signature_headers

pytestmark = pytest.mark.django_db(transaction=True)


def _request(
    url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        url, data=body, method="POST" if body is not None else "GET", headers=headers or {}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def url_as_role(url: str, role: str) -> str:
    """The database URL signed in as `role` instead of its own user (whatever that user is)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{role}@{host}"))


@pytest.fixture
def refused_role() -> Iterator[str]:
    """A login role the server refuses (CONNECTION LIMIT 0), with rights on the test tables."""
    role = f"rd_refused_{secrets.token_hex(3)}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0")
        cursor.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
    try:
        yield role
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                [role],
            )
            cursor.execute(f"DROP OWNED BY {role}")
            cursor.execute(f"DROP ROLE {role}")


def _database_back(role: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER ROLE {role} CONNECTION LIMIT -1")


@pytest.fixture
def server(refused_role: str, tmp_path: Any) -> Iterator[str]:
    url = url_as_role(subprocess_env()["DATABASE_URL"], refused_role)
    assert refused_role in url
    env = {"DATABASE_URL": url, "DB_POOL_TIMEOUT": "2"}
    with gunicorn_server(log_path=tmp_path / "gunicorn.log", env=env) as base:
        yield base


def test_webhook_while_the_database_refuses_is_503_and_the_retry_is_accepted_once(
    server, refused_role, tenant
):
    channel = tenant.email_channel
    body = encode(payload())
    headers = {
        "Content-Type": "application/json",
        **signature_headers(channel.secret, body, msg_id="msg_refused_1"),
    }

    status, answer_headers, answer = _request(
        server + channel.webhook_path, body=body, headers=headers
    )

    assert status == 503
    assert answer_headers["Retry-After"] == "5"
    assert "unavailable" in json.loads(answer)["error"]
    assert Message.objects.count() == 0

    _database_back(refused_role)
    retried = _request(server + channel.webhook_path, body=body, headers=headers)
    again = _request(server + channel.webhook_path, body=body, headers=headers)

    assert retried[0] == 202
    assert json.loads(retried[2])["duplicate"] is False
    assert again[0] == 200
    assert json.loads(again[2])["duplicate"] is True
    assert Message.objects.filter(channel=channel).count() == 1


def test_api_and_pages_while_the_database_refuses_are_503_not_500(server, refused_role, tenant):
    api = _request(server + "/api/v1/drafts", headers={"Authorization": f"Bearer {tenant.token}"})
    # A signed-in operator's page: the session is looked up in the database.
    page = _request(server + "/", headers={"Cookie": "sessionid=" + "x" * 32})

    assert api[0] == 503
    assert api[1]["Retry-After"] == "5"
    assert "unavailable" in json.loads(api[2])["error"]
    assert page[0] == 503, page[2][:300]
    assert page[1]["Retry-After"] == "5"
    assert b"Back in a moment" in page[2]

    _database_back(refused_role)
    back = time.monotonic()
    while (status := _api_status(server, tenant.token)) != 200 and time.monotonic() - back < 20:
        time.sleep(0.2)
    assert status == 200
    assert time.monotonic() - back < 10  # recovered on its own, within seconds


def _api_status(server: str, token: str) -> int:
    return _request(server + "/api/v1/drafts", headers={"Authorization": f"Bearer {token}"})[0]
