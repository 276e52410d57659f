"""The pipeline through a real Celery worker on the real broker: the same message delivered
twice, even at the same moment, gives one run and one set of artifacts."""

from __future__ import annotations

import threading

import pytest
from celery.signals import task_postrun

from drafts.models import Draft, Notification
from pipeline.models import AIInteraction, PipelineArtifact, PipelineRun
from pipeline.tasks import run_for_message
from tests.pipeline_support import channel_of, demo_workspace, inbound

pytestmark = pytest.mark.worker


def test_a_message_delivered_twice_is_drafted_once(celery_worker_live):
    demo = demo_workspace()
    message = inbound(channel_of(demo, "email"), "Do you guys do financing with no money down?")
    finished: list[str] = []
    done = threading.Event()

    def on_postrun(sender=None, task_id=None, **kwargs):
        if getattr(sender, "name", "") == "pipeline.run_for_message":
            finished.append(task_id)
            if len(finished) == 2:
                done.set()

    task_postrun.connect(on_postrun, weak=False)
    try:
        run_for_message.delay(str(message.pk))
        run_for_message.delay(str(message.pk))
        assert done.wait(timeout=30), "the worker did not finish both deliveries"
    finally:
        task_postrun.disconnect(on_postrun)

    run = PipelineRun.objects.get()
    assert run.status == PipelineRun.Status.COMPLETED
    # Five drafting stages and one shadow evaluation (auto-send is off), however many
    # deliveries: the second finds the run completed.
    assert PipelineArtifact.objects.filter(run=run).count() == 6
    assert AIInteraction.objects.filter(run=run).count() == 6
    draft = Draft.objects.get(trigger_message=message)
    assert draft.auto_send_verdict.shadow is True
    assert "no money down" in draft.text
    assert [s["title"] for s in draft.sources] == ["Financing"]
    assert Notification.objects.filter(draft=draft, kind="draft_needs_review").count() == 1
