"""`manage.py export_learning_samples [--workspace ID|SLUG] [--since] [--until] [--output FILE]`:
operators' edits as JSON lines (the same objects as GET /api/v1/learning-samples.jsonl)."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_date, parse_datetime

from drafts.models import LearningSample
from drafts.selectors import learning_sample_json, learning_samples_iter
from workspaces.jobs import job_run
from workspaces.models import JobType, Workspace

BAR_WIDTH = 30


def _moment(value: str | None, option: str) -> datetime | None:
    """An ISO date or date-time; naive values are UTC."""
    if not value:
        return None
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        moment = datetime(day.year, day.month, day.day) if day else None
    if moment is None:
        raise CommandError(f"{option}: {value!r} is not a date (2026-11-01) or date-time.")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Progress:
    """A one-line progress bar on a terminal; silent when stderr is not a TTY."""

    def __init__(self, stream: IO[str], total: int) -> None:
        self.stream, self.total, self.done = stream, total, 0
        self.enabled = stream.isatty()

    def step(self) -> None:
        self.done += 1
        if self.enabled and (self.done == self.total or self.done % 100 == 0):
            filled = BAR_WIDTH * self.done // max(self.total, 1)
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            self.stream.write(f"\r[{bar}] {self.done}/{self.total}")
            self.stream.flush()

    def finish(self) -> None:
        if self.enabled and self.total:
            self.stream.write("\n")


class Command(BaseCommand):
    help = "Export learning samples (original, final, diff, lead/channel ids) as JSON lines."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", help="Workspace id or slug (default: every workspace).")
        parser.add_argument("--since", help="Samples made at or after this date / date-time.")
        parser.add_argument("--until", help="Samples made before this date / date-time.")
        parser.add_argument("--output", "-o", help="File to write (default: standard output).")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = self._workspace(options["workspace"])
        since = _moment(options["since"], "--since")
        until = _moment(options["until"], "--until")
        if since and until and since >= until:
            raise CommandError("--since must be before --until.")
        matching = LearningSample.objects.all()
        if workspace is not None:
            matching = matching.filter(workspace=workspace)
        if since:
            matching = matching.filter(created_at__gte=since)
        if until:
            matching = matching.filter(created_at__lt=until)
        progress = Progress(sys.stderr, matching.count())
        path = options["output"]
        sink: Any = open(path, "w", encoding="utf-8") if path else nullcontext(self.stdout)  # noqa: SIM115
        with (
            job_run(type=JobType.LEARNING_SAMPLE_EXPORT, workspace=workspace) as job,
            sink as output,
        ):
            try:
                for sample in learning_samples_iter(workspace=workspace, since=since, until=until):
                    line = json.dumps(learning_sample_json(sample), ensure_ascii=False)
                    output.write(line + "\n")
                    progress.step()
            finally:
                progress.finish()
                job.set(rows_processed=progress.done)
        if path:
            self.stderr.write(f"Wrote {progress.done} samples to {path}.")

    def _workspace(self, key: str | None) -> Workspace | None:
        if not key:
            return None
        found = Workspace.objects.filter(slug=key).first()
        if found is None:
            try:
                found = Workspace.objects.filter(pk=key).first()
            except (ValueError, TypeError, ValidationError):
                found = None
        if found is None:
            raise CommandError(f"No workspace with id or slug {key!r}.")
        return found
