"""One message end to end against the real local model (`make llm-local`: llama-cpp-python
serving Gemma 3 270M), with nothing but `LLM_PROVIDER=openai`, a base URL and a key.

Marked `llm_local`: it runs when the build is cached in .tools/llm/ (or `LLM_LOCAL_URL`
names a running server) and is skipped, saying why, otherwise. What it holds the weak model
to is what a user would notice: the probe adapts to the server, every call and artifact
names the model and its tokens, the run ends in a state a person can act on, and nothing
the deterministic checks refuse is ever sent.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from autosend.models import ScheduledSend
from drafts.models import Draft, Notification
from pipeline.draft_checks import draft_send_checks
from pipeline.llm.server_probe import capabilities_forget
from pipeline.models import AIInteraction, PipelineArtifact, PipelineRun
from pipeline.runner import pipeline_run_for_message
from pipeline.stages import allowed_texts, knowledge_items, message_text, workspace_texts
from tests.live_processes import REPO, free_port
from tests.pipeline_support import channel_of, demo_workspace, inbound
from workspaces.models import WorkspaceSettings

pytestmark = [pytest.mark.llm_local, pytest.mark.django_db]

LOCAL_MODEL = "gemma-3-270m"
START_SECONDS = 120


def _answers(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def local_model() -> Iterator[str]:
    """The base URL of a local model server: `LLM_LOCAL_URL` when it answers, else one
    started from the cached build on a free port (stopped afterwards)."""
    given = os.environ.get("LLM_LOCAL_URL", "")
    if given and _answers(given):
        yield given
        return
    script = REPO / "scripts" / "llm-local"
    if subprocess.run([str(script), "path"], capture_output=True).returncode != 0:
        pytest.skip("the local model is not built: run `make llm-local` once (about 10 min)")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    process = subprocess.Popen(
        [str(script), "serve"],
        env={**os.environ, "LLM_LOCAL_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + START_SECONDS
        while not _answers(base_url):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"the local model server did not start within {START_SECONDS} s")
            time.sleep(0.5)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def local_settings(settings: Any, local_model: str) -> Iterator[None]:
    settings.LLM_PROVIDER = "openai"
    settings.OPENAI_API_KEY = "local-dummy-key"
    settings.OPENAI_BASE_URL = local_model
    settings.LLM_DEFAULT_MODEL = LOCAL_MODEL
    settings.LLM_STRUCTURED_OUTPUT = "auto"
    settings.LLM_TIMEOUT_SECONDS = 240
    settings.LLM_MAX_RETRIES = 1
    settings.LLM_MAX_TOKENS = {
        "strategy": 200,
        "draft": 200,
        "verify": 250,
        "overseer": 120,
        "evaluate": 150,
    }
    capabilities_forget()
    yield
    capabilities_forget()


@pytest.mark.timeout(1800)
def test_a_message_is_drafted_by_the_local_model_and_nothing_unchecked_is_sent(local_settings):
    demo = demo_workspace()
    WorkspaceSettings.objects.filter(workspace=demo.workspace).update(
        auto_send_enabled=True, revision_enabled=True
    )
    message = inbound(
        channel_of(demo, "email"),
        "How much extra is a battery?",
        sent_at=timezone.now() - timedelta(minutes=20),
    )
    pipeline_run_for_message(message_id=message.pk)
    run = PipelineRun.objects.get(trigger_message=message)

    calls = list(AIInteraction.objects.filter(run=run))
    assert calls, "no model call was made"
    assert {call.model for call in calls} == {LOCAL_MODEL}  # not the workspace's hosted name
    assert {call.provider for call in calls} == {"openai"}
    for call in calls:
        if call.outcome == "ok":
            assert call.input_tokens > 0, call.stage
            assert call.output_tokens > 0, call.stage
        assert call.outcome != "rejected", call.server_message  # the probe adapted
    for artifact in PipelineArtifact.objects.filter(run=run).exclude(model=""):
        assert artifact.model == LOCAL_MODEL, artifact.stage
        assert artifact.input_tokens > 0, artifact.stage

    draft = Draft.objects.filter(trigger_message=message).first()
    if run.status == PipelineRun.Status.FAILED:
        assert run.error  # the reason is on the run, and a person is told
        assert Notification.objects.filter(message_id=message.pk).exists()
        return
    assert run.status == PipelineRun.Status.COMPLETED, (run.status, run.waiting_reason)
    assert draft is not None
    if ScheduledSend.objects.filter(draft=draft).exists():
        # Sent only what the code-level checks accept, whatever the model said of itself.
        pack = run.context_pack
        assert (
            draft_send_checks(
                text=draft.text,
                message=message_text(pack),
                knowledge=knowledge_items(pack),
                workspace_texts=workspace_texts(pack),
                thread_texts=allowed_texts(pack),
            )
            == []
        )
    else:
        assert draft.auto_send_action in ("review", "block"), draft.auto_send_action
