"""Publishing Celery tasks from the web path, where the broker may be down."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task


def task_publish(task: Task, *args: Any, log: logging.Logger, failed: str, **ids: Any) -> bool:
    """Publish `task(*args)`; a broker error is logged to `log` as `failed` (with the task
    name, the ids in `ids` and the error type, never payloads) and swallowed. Only for tasks
    whose work a database-driven beat also finds, so an outage delays it and loses nothing."""
    try:
        task.delay(*args)
    except Exception as exc:  # kombu, redis and socket errors alike
        log.warning(failed, extra={"task": task.name, "error": type(exc).__name__, **ids})
        return False
    return True
