"""The Celery app `config`.

Reliability settings (values in `config/settings/base.py`, CELERY_ namespace), each on purpose:
- acks_late + reject_on_worker_lost: a task is acknowledged only after it finishes, so a
  worker that dies mid-task has it redelivered instead of lost. Every task is therefore
  written to be idempotent (it loads its row and returns if the work is already done).
- prefetch_multiplier = 1: a worker holds one task at a time; long LLM calls cannot starve
  messages queued behind them on a busy worker.
- soft (240 s) and hard (300 s) time limits: a stuck LLM call or SMTP server raises
  SoftTimeLimitExceeded, which the task turns into a FAILED run; the hard limit kills it.
- visibility_timeout = 3600 s: far longer than the hard limit, so Redis never hands a task
  that is still running to a second worker.
- no ETA/countdown tasks for delays: Redis redelivers ETA tasks after the visibility timeout
  and loses them on restart. Delayed sends are rows in `autosend.ScheduledSend` that a beat
  task claims when due; the broker only carries "do this now" messages.
- ignore_result: nothing reads task results, so no result backend is needed.
- database connections come from the process's pool (config.env.db_pool_options): borrowed
  by a thread while it queries, returned before every model call and after every task;
  a failed task's connections are closed.
- the worker runs a pool of threads (Procfile, scripts/worker): a thread waiting on a model
  holds neither a process nor a database connection, so hundreds of pipelines overlap.
  Celery's time limits do not apply to threads; every wait has its own timeout instead
  (LLM_TIMEOUT_SECONDS, SMTP and webhook timeouts), and a run's lease lets another worker
  resume it if a process dies.
- broker connection timeout 2 s and a publish retry of one: a webhook must answer 202 even
  when Redis is down; the sweeper re-enqueues what could not be published.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections, connections

from config.db import db_connections_release

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _db_connections_checked(task: Any = None, **kwargs: Any) -> None:
    """Database connections are reused across tasks (CELERY_DB_REUSE_MAX): before each task,
    as Django does before each request, drop those past CONN_MAX_AGE or broken, and have the
    next use health-check the rest."""
    if not getattr(getattr(task, "request", None), "is_eager", False):
        close_old_connections()


@task_postrun.connect
def _db_connections_after(task: Any = None, state: str | None = None, **kwargs: Any) -> None:
    """After every task the thread's pooled connections go back to the pool (a thread pool
    of hundreds shares a few connections). A task that failed or was interrupted (a time
    limit mid-query) may leave a connection Django still thinks usable: close it rather
    than hand it to the next task."""
    if getattr(getattr(task, "request", None), "is_eager", False):
        return
    if state == "SUCCESS":
        db_connections_release()
        return
    connections.close_all()
