"""Oversized bodies through a real gunicorn: the sender reads the 413, not a reset connection.

The standard library's `http.client` (what `requests` and `urllib3` use) writes the whole body
before it reads the answer; a server that answers early and closes with bytes unread makes
that write fail with a broken pipe. These tests send as such a client does.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from drafts.ingest import MAX_BODY_BYTES
from drafts.models import InboundEvent, Message
from pipeline.models import KnowledgeDocument
from tests.live_processes import gunicorn_server
from tests.webhooks import encode, payload, signature_headers

FIVE_MB = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def _gunicorn(django_db_setup: None, tmp_path_factory: Any) -> Iterator[str]:
    with gunicorn_server(log_path=tmp_path_factory.mktemp("gunicorn") / "log") as url:
        yield url


@pytest.fixture
def server(_gunicorn: str, transactional_db: None) -> str:
    """The server's URL; the test's data is committed, so the server sees it."""
    return _gunicorn


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_five_mb_webhook_gets_the_413_and_its_error_and_nothing_is_stored(server, tenant):
    channel = tenant.email_channel
    body = b'{"type": "message.inbound", "padding": "' + b"x" * FIVE_MB + b'"}'
    status, answer = _post(
        server + channel.webhook_path, body, {"Content-Type": "application/json"}
    )

    assert status == 413
    assert answer == {"error": f"The body is larger than {MAX_BODY_BYTES} bytes."}
    assert InboundEvent.objects.count() == 0
    assert Message.objects.count() == 0


def test_the_same_worker_then_takes_a_normal_webhook(server, tenant):
    channel = tenant.email_channel
    _post(server + channel.webhook_path, b"x" * FIVE_MB, {"Content-Type": "application/json"})

    body = encode(payload())
    headers = {**signature_headers(channel.secret, body), "Content-Type": "application/json"}
    status, answer = _post(server + channel.webhook_path, body, headers)

    assert status == 202
    assert answer["duplicate"] is False
    assert Message.objects.filter(pk=answer["message_id"]).exists()


def test_five_mb_to_an_unknown_channel_gets_the_404(server, tenant):
    status, answer = _post(
        server + "/webhooks/inbound/no-such-channel",
        b"x" * FIVE_MB,
        {"Content-Type": "application/json"},
    )

    assert (status, answer) == (404, {"error": "Unknown channel."})


def test_five_mb_api_post_gets_a_json_413_and_creates_nothing(server, tenant, settings):
    body = json.dumps({"title": "Huge", "body": "x" * FIVE_MB, "source_url": None}).encode()

    status, answer = _post(
        server + "/api/v1/knowledge",
        body,
        {"Content-Type": "application/json", "Authorization": f"Bearer {tenant.token}"},
    )

    assert status == 413
    assert answer == {
        "error": f"The body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
    }
    assert not KnowledgeDocument.objects.filter(title="Huge").exists()


def test_an_api_post_under_the_limit_still_works(server, tenant):
    body = json.dumps({"title": "Prices", "body": "Pro is $49.", "source_url": None}).encode()

    status, answer = _post(
        server + "/api/v1/knowledge",
        body,
        {"Content-Type": "application/json", "Authorization": f"Bearer {tenant.token}"},
    )

    assert status == 201
    assert KnowledgeDocument.objects.filter(pk=answer["id"], title="Prices").exists()
