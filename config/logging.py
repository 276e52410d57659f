"""One JSON object per log line; ids and numbers only, never message text.

Third-party identifiers (a lead's or sender's email, phone or external id) never reach a log
line in clear: `hash_identifier` turns them into a keyed hash, and the JSON formatter applies
it to the known identifier keys of `extra={...}`, so a careless `extra={"email": …}` is still
safe. The same value always gives the same hash (with the same SECRET_KEY), so the lines about
one lead can still be found together.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime

from django.conf import settings

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}

# `extra` keys whose values identify a person outside the company (or their thread).
IDENTIFIER_KEYS = frozenset(
    {
        "email",
        "phone",
        "external_id",
        "lead_email",
        "lead_phone",
        "lead_external_id",
        "sender_email",
        "sender_phone",
        "sender_external_id",
        "setter_email",
        "user_email",
        "to_email",
        "to_phone",
        "thread_external_id",
        "message_external_id",
    }
)


def hash_identifier(value: object) -> str:
    """HMAC-SHA256 of the value keyed with SECRET_KEY, first 16 hex characters: enough to tell
    leads apart in logs, useless for finding out who they are without the key."""
    key = str(settings.SECRET_KEY).encode()
    return hmac.new(key, str(value).encode(), hashlib.sha256).hexdigest()[:16]


def _safe(key: str, value: object) -> object:
    if key in IDENTIFIER_KEYS and value not in (None, ""):
        return hash_identifier(value)
    return value


class JsonFormatter(logging.Formatter):
    """Structured logs: `extra={...}` fields become top-level keys, identifiers hashed."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = _safe(key, value)
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)
