"""Publishing Celery tasks from the web path, where the broker may be down."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task

from config.celery import app


def task_publish(
    task: Task | str, *args: Any, log: logging.Logger, failed: str, **ids: Any
) -> bool:
    """Publish `task(*args)`; a broker error is logged to `log` as `failed` (with the task
    name, the ids in `ids` and the error type, never payloads) and swallowed. Only for tasks
    whose work a database-driven beat also finds, so an outage delays it and loses nothing.
    `task` may be the task's registered name: a lower layer (or a service a task module
    imports) then publishes it without importing the task module, which keeps the layers
    and modules acyclic."""
    name = task if isinstance(task, str) else task.name
    try:
        if isinstance(task, str):
            app.send_task(task, args=args)
        else:
            task.delay(*args)
    except Exception as exc:  # kombu, redis and socket errors alike
        log.warning(failed, extra={"task": name, "error": type(exc).__name__, **ids})
        return False
    return True
