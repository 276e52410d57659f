"""The public health answer: the database, the broker and the global kill switches. It is
control plane (ops) because it reads autosend's switches; the liveness checks themselves are
workspaces.health, which the /ops/ pages share."""

from __future__ import annotations

from autosend.kill_switches import kill_switches
from workspaces.health import broker_status, database_status


def health_snapshot() -> dict[str, object]:
    return {
        "database": database_status(),
        "broker": broker_status(),
        "kill_switches": kill_switches(),
    }
