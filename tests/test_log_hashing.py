"""Third-party identifiers in logs are hashed: the JSON log line (what production writes) never
carries a lead's email, phone or external id in clear, yet the same lead gives the same hash."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
from collections.abc import Iterator

import pytest
from django.conf import settings as django_settings
from django.utils.module_loading import import_string

from config.logging import hash_identifier


@pytest.fixture
def json_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing through the formatter the `json` LOGGING entry names."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(import_string(django_settings.LOGGING["formatters"]["json"]["()"])())
    logger = logging.getLogger("tests.log_hashing")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield logger, stream
    logger.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_hash_is_keyed_sha256_of_16_hex(settings) -> None:
    settings.SECRET_KEY = "k" * 50
    expected = hmac.new(b"k" * 50, b"ada@example.com", hashlib.sha256).hexdigest()[:16]

    assert hash_identifier("ada@example.com") == expected
    assert hash_identifier("ada@example.com") == expected  # stable: lines can be correlated
    assert hash_identifier("bob@example.com") != expected
    settings.SECRET_KEY = "other-" + "k" * 44
    assert hash_identifier("ada@example.com") != expected  # useless without the key


def test_json_lines_hash_identifier_keys_and_keep_ids(json_log, settings) -> None:
    settings.SECRET_KEY = "s" * 50
    logger, stream = json_log

    logger.info(
        "ingest: lead seen",
        extra={
            "email": "ada@example.com",
            "phone": "+15551230000",
            "lead_external_id": "crm-lead-9",
            "sender_email": "rep@acme.example",
            "message_id": "0190-abc",
            "count": 3,
        },
    )

    raw = stream.getvalue()
    for secret in ("ada@example.com", "+15551230000", "crm-lead-9", "rep@acme.example"):
        assert secret not in raw
    [line] = _lines(stream)
    assert line["email"] == hash_identifier("ada@example.com")
    assert line["phone"] == hash_identifier("+15551230000")
    assert line["lead_external_id"] == hash_identifier("crm-lead-9")
    assert line["sender_email"] == hash_identifier("rep@acme.example")
    assert (line["message_id"], line["count"], line["msg"]) == ("0190-abc", 3, "ingest: lead seen")


def test_missing_identifiers_stay_missing(json_log) -> None:
    logger, stream = json_log

    logger.warning("no contact", extra={"email": "", "phone": None})

    [line] = _lines(stream)
    assert (line["email"], line["phone"]) == ("", None)
