"""Building and writing stage artifacts. Every payload passes `payload_cap` before it is
stored; writes are batched per stage group and idempotent (ON CONFLICT DO NOTHING on the
unique run/stage/iteration), so a resumed run never duplicates what a crashed one wrote."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db import transaction

from drafts.models import Draft
from pipeline.llm.usage import Usage
from pipeline.models import AIInteraction, PipelineArtifact, Stage
from pipeline.prompts import RenderedPrompt

PAYLOAD_CAP_BYTES = 32 * 1024
PREVIEW_CHARS = 2000
# Stages whose output can be the text an operator sees, latest first.
TEXT_STAGES = (Stage.REVISION_REVISER, Stage.VERIFIER, Stage.GENERATION)


def payload_cap(payload: Any) -> Any:
    """The payload itself if its JSON is at most 32 KB, else a marker with the original size
    and the first characters of the JSON. Never raises for size."""
    encoded = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)
    size = len(encoded.encode("utf-8"))
    if size <= PAYLOAD_CAP_BYTES:
        return payload
    return {"capped": True, "original_bytes": size, "preview": encoded[:PREVIEW_CHARS]}


def artifact_build(
    *,
    run_id: Any,
    stage: str,
    iteration: int = 0,
    prompt: RenderedPrompt | None = None,
    usage: Usage | None = None,
    payload: Any,
    text: str = "",
) -> PipelineArtifact:
    """An unsaved artifact, payload already capped."""
    return PipelineArtifact(
        run_id=run_id,
        stage=stage,
        iteration=iteration,
        prompt_key=prompt.key if prompt else "",
        prompt_version=prompt.version if prompt else "",
        model=usage.model[:80] if usage else "",
        payload=payload_cap(payload),
        text=text,
        input_tokens=usage.input_tokens if usage else 0,
        output_tokens=usage.output_tokens if usage else 0,
        latency_ms=round(usage.latency_ms) if usage else 0,
    )


def artifacts_insert(
    *, artifacts: Sequence[PipelineArtifact], interactions: Sequence[AIInteraction] = ()
) -> None:
    """One INSERT per kind, in the caller's transaction. An artifact already present for its
    run, stage and iteration is kept as it was."""
    if artifacts:
        PipelineArtifact.objects.bulk_create(artifacts, ignore_conflicts=True)
    if interactions:
        AIInteraction.objects.bulk_create(interactions)


def artifacts_write(
    *, artifacts: Sequence[PipelineArtifact], interactions: Sequence[AIInteraction] = ()
) -> None:
    """`artifacts_insert` in its own transaction (one per stage group)."""
    if not artifacts and not interactions:
        return
    with transaction.atomic():
        artifacts_insert(artifacts=artifacts, interactions=interactions)


def draft_text_origin(draft: Draft) -> tuple[str, str, str]:
    """(stage, prompt key, prompt version) that produced the text the operator edited: the
    latest text-producing artifact with exactly that text, else the draft's own record. The
    review service asks it through drafts.review_ports (registered in PipelineConfig.ready)."""
    fallback_stage = Stage.REVISION_REVISER if draft.revision_applied else Stage.GENERATION
    if draft.run_id is not None:
        artifact = (
            PipelineArtifact.objects.filter(run_id=draft.run_id, stage__in=TEXT_STAGES)
            .filter(text=draft.text)
            .order_by("-created_at", "-id")
            .only("stage", "prompt_key", "prompt_version")
            .first()
        )
        if artifact is not None:
            return (
                artifact.stage,
                artifact.prompt_key or draft.prompt_key,
                artifact.prompt_version or draft.prompt_version,
            )
    return fallback_stage, draft.prompt_key, draft.prompt_version
