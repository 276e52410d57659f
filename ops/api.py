"""`GET /api/v1/health` (no auth): 200 when the database and the broker answer, else 503;
the kill switches either way (CONTRACTS.md)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from ops.health import health_snapshot

# The tag stays "workspace", where the endpoint has always been listed in the API docs.
router = Router(tags=["workspace"])


class KillSwitchesOut(Schema):
    auto_send_disabled: bool
    revision_disabled: bool


class HealthOut(Schema):
    database: str
    broker: str
    kill_switches: KillSwitchesOut


@router.get("/health", response={200: HealthOut, 503: HealthOut}, auth=None)
def health(request: HttpRequest) -> Status[dict[str, Any]]:
    snapshot = health_snapshot()
    healthy = snapshot["database"] == "ok" and snapshot["broker"] == "ok"
    return Status(200 if healthy else 503, snapshot)
