"""Liveness of what the product stands on: the database and the broker. The public health
answer, which adds the kill switches, is ops.health (the control plane, above autosend)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from kombu import Connection

logger = logging.getLogger(__name__)


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.warning("health: database check failed", exc_info=True)
        return "error"
    return "ok"


def broker_status(timeout: float = 1.0) -> str:
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            connect_timeout=timeout,
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        ) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=max(1, int(timeout)))
    except Exception:
        logger.warning("health: broker check failed", exc_info=False)
        return "error"
    return "ok"
