"""`manage.py backfill_response_timing`: response timing for all history, with a progress bar."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.db import is_postgresql
from timing.processor import (
    BACKFILL_BATCH_SIZE,
    message_total,
    response_timing_backfill,
)
from workspaces.jobs import job_run
from workspaces.models import JobType


class ProgressBar:
    """A one-line bar redrawn in place on a terminal; silent when output is not a TTY."""

    width = 30

    def __init__(self, command: BaseCommand, total: int) -> None:
        self.out = command.stdout
        self.total = max(total, 1)
        self.done = 0
        self.started = time.monotonic()
        self.enabled = self.out.isatty()

    def advance(self, messages: int) -> None:
        self.done = min(self.done + messages, self.total)
        if not self.enabled:
            return
        filled = self.width * self.done // self.total
        bar = "#" * filled + "." * (self.width - filled)
        elapsed = time.monotonic() - self.started
        self.out.write(
            f"\r[{bar}] {100 * self.done // self.total:3d}%  "
            f"{self.done:,}/{self.total:,} messages  {elapsed:.1f} s",
            ending="",
        )
        self.out.flush()

    def close(self) -> None:
        if self.enabled:
            self.out.write("")


class Command(BaseCommand):
    help = (
        "Compute response timing for every message already stored (idempotent: rows that "
        "would not change are left alone), then let the beat task carry on from there."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BACKFILL_BATCH_SIZE,
            help=f"Messages per statement, whole leads at a time (default {BACKFILL_BATCH_SIZE}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if not is_postgresql():
            raise CommandError("Response timing needs PostgreSQL; DATABASE_URL is not PostgreSQL.")
        started = time.monotonic()
        progress = ProgressBar(self, message_total())
        with job_run(type=JobType.TIMING_BACKFILL) as job:
            result = response_timing_backfill(batch_size=batch_size, on_batch=progress.advance)
            job.set(
                rows_processed=result.messages,
                batches=result.batches,
                events_written=result.events_written,
            )
        progress.close()
        self.stdout.write(
            f"Backfilled response timing: {result.messages:,} messages in {result.batches} "
            f"batches, {result.events_written:,} events written, "
            f"{time.monotonic() - started:.1f} s."
        )
