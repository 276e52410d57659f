"""Celery tasks of the timing app. Beat runs `timing.process_response_timing` every minute."""

from __future__ import annotations

from celery import shared_task

from timing.processor import response_timing_process


@shared_task(name="timing.process_response_timing", ignore_result=True)
def process_response_timing() -> None:
    """One bounded, idempotent tick of the response-timing processor; a tick that finds the
    watermark locked by a slower one returns at once."""
    response_timing_process()
