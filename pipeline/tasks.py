"""Celery tasks of the pipeline. Tasks take ids and call one service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="pipeline.run_for_message", ignore_result=True)
def run_for_message(message_id: str) -> None:
    """Run the draft pipeline for one inbound message (idempotent: see pipeline.runner)."""
    from pipeline.runner import pipeline_run_for_message

    pipeline_run_for_message(message_id=message_id)
