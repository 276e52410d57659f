"""The stages. Each renders its versioned prompt from the context pack, asks the gateway for
its schema, and leaves an unsaved artifact (and the call's telemetry) in the `StageRun`
buffer; the runner writes a whole stage group at once.

The auto-send stages (`evaluate_draft`, `select_revisions`, `revise_draft`) can be called on
their own: they write their artifact and telemetry themselves and return the stage output.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from pipeline.artifacts import artifact_build, artifacts_insert, artifacts_write, payload_cap
from pipeline.draft_checks import verifier_rewrite_rejected
from pipeline.grounding import claim_norms, claims_enforce
from pipeline.llm import CallContext, LLMPermanentError, complete
from pipeline.models import AIInteraction, PipelineArtifact, PipelineRun, Stage
from pipeline.prompts import RenderedPrompt, prompt_render
from pipeline.schemas import (
    EvaluationOutput,
    GenerationOutput,
    MeetingExtractOutput,
    MeetingGateOutput,
    RemovedClaim,
    RevisionReviserOutput,
    RevisionSelectorOutput,
    StrategyOutput,
    VerifierOutput,
)
from workspaces.models import WorkspaceSettings

logger = logging.getLogger("pipeline.stages")

Pack = dict[str, Any]
# A reply cut off at the token limit is asked again once with this many times the budget.
TRUNCATED_RETRY_SCALE = 2


@dataclass
class StageRun:
    """What the stages of one run share: ids, the models the workspace chose, and the buffer
    of artifacts and telemetry rows not yet written."""

    run_id: Any
    workspace_id: Any
    draft_model: str
    revision_model: str
    revision_effort: str
    meeting_gate_enabled: bool
    artifacts: list[PipelineArtifact] = field(default_factory=list)
    interactions: list[AIInteraction] = field(default_factory=list)

    @classmethod
    def for_run(cls, run: PipelineRun, ws_settings: WorkspaceSettings) -> StageRun:
        return cls(
            run_id=run.pk,
            workspace_id=run.workspace_id,
            draft_model=ws_settings.draft_model,
            revision_model=ws_settings.revision_model,
            revision_effort=ws_settings.revision_reasoning_effort,
            meeting_gate_enabled=ws_settings.meeting_booking_gate_enabled,
        )

    def take(self) -> tuple[list[PipelineArtifact], list[AIInteraction]]:
        """The buffered rows, emptying the buffer."""
        artifacts, interactions = self.artifacts, self.interactions
        self.artifacts, self.interactions = [], []
        return artifacts, interactions

    def write(self) -> None:
        """Everything buffered, in one transaction."""
        artifacts, interactions = self.take()
        artifacts_write(artifacts=artifacts, interactions=interactions)

    def write_artifacts(self) -> None:
        """The buffered artifacts in one INSERT (its own transaction), so a later crash
        resumes after them. Telemetry rows stay buffered for the next write: a round trip
        saved per stage group, and a failure still writes them (see the runner)."""
        artifacts, self.artifacts = self.artifacts, []
        artifacts_insert(artifacts=artifacts)


def _ask[T: BaseModel](
    sr: StageRun,
    *,
    stage: str,
    prompt: RenderedPrompt,
    schema: type[T],
    model: str,
    iteration: int = 0,
    effort: str | None = None,
    text: str = "",
) -> T:
    context = CallContext(
        workspace_id=sr.workspace_id, run_id=sr.run_id, iteration=iteration, sink=sr.interactions
    )
    try:
        output, usage = complete(
            stage=stage,
            prompt=prompt,
            schema=schema,
            model=model,
            reasoning_effort=effort,
            context=context,
        )
    except LLMPermanentError as exc:
        if exc.outcome != "truncated":
            raise
        # A weak model runs out of tokens mid-reply: once more, with a larger budget, before
        # the stage fails. Both calls are on record as AIInteraction rows.
        logger.info(
            "llm reply truncated, asking again with a larger budget",
            extra={"stage": stage, "run_id": str(sr.run_id), "iteration": iteration},
        )
        output, usage = complete(
            stage=stage,
            prompt=dataclasses.replace(prompt, max_tokens_scale=TRUNCATED_RETRY_SCALE),
            schema=schema,
            model=model,
            reasoning_effort=effort,
            context=context,
        )
    sr.artifacts.append(
        artifact_build(
            run_id=sr.run_id,
            stage=stage,
            iteration=iteration,
            prompt=prompt,
            usage=usage,
            payload=output.model_dump(mode="json"),
            text=text or str(getattr(output, "text", "")),
        )
    )
    return output


# --- what the prompts show ------------------------------------------------------------------


def knowledge_items(pack: Pack) -> list[dict[str, Any]]:
    return list(pack["sections"]["knowledge"]["items"])


def thread_items(pack: Pack) -> list[dict[str, Any]]:
    return list(pack["sections"]["thread"]["items"])


def message_text(pack: Pack) -> str:
    return str(pack["message"]["text"])


def _fmt_docs(docs: list[dict[str, Any]]) -> str:
    if not docs:
        return "(none)"
    return "\n\n".join(
        f"[{d['id']}] {d['title']} ({d['url'] or 'no url'})\n{d['body']}" for d in docs
    )


def _fmt_thread(pack: Pack) -> str:
    items = thread_items(pack)
    if not items:
        return "(no earlier messages)"
    return "\n".join(f"{i['sender']} ({i['direction']}): {i['text']}" for i in items)


def _fmt_lead(pack: Pack) -> str:
    lead = pack["sections"]["lead"]
    lines = [f"{key}: {value}" for key, value in lead["profile"].items() if value]
    for other in lead.get("other_conversations", []):
        lines.append(f"earlier elsewhere ({other['direction']}): {other['text']}")
    return "\n".join(lines) or "(nothing on file)"


def _fmt_samples(pack: Pack) -> str:
    items = pack["sections"]["learning_samples"]["items"]
    if not items:
        return "(none)"
    return "\n\n".join(f"AI wrote: {i['original']}\nOperator sent: {i['final']}" for i in items)


def _length_rule(pack: Pack) -> str:
    if pack["max_chars"]:
        return f"SMS: one short paragraph of at most {pack['max_chars']} characters."
    if pack["channel"] == "chat":
        return "Chat: one or two short sentences."
    return "Email: a greeting, one short paragraph, a sign-off."


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1)


def _common_variables(pack: Pack) -> dict[str, str]:
    return {
        "workspace": str(pack["workspace"]),
        "channel": str(pack["channel"]),
        "guidelines": pack["sections"]["guidelines"]["text"] or "(none)",
        "lead": _fmt_lead(pack),
        "thread": _fmt_thread(pack),
        "message": message_text(pack),
        "knowledge": _fmt_docs(knowledge_items(pack)),
        "samples": _fmt_samples(pack),
        "length_rule": _length_rule(pack),
    }


def _common_inputs(pack: Pack) -> dict[str, Any]:
    return {
        "workspace": pack["workspace"],
        "channel": pack["channel"],
        "max_chars": pack["max_chars"],
        "message": message_text(pack),
        "thread": thread_items(pack),
        "knowledge": knowledge_items(pack),
        "lead": pack["sections"]["lead"]["profile"],
    }


def workspace_texts(pack: Pack) -> list[str]:
    """What the workspace itself states besides its knowledge: its name and guidelines."""
    return [str(pack["workspace"]), str(pack["sections"]["guidelines"]["text"])]


def allowed_texts(pack: Pack) -> list[str]:
    """What a draft may repeat claims from besides its sources: the thread, the message, the
    workspace's name and guidelines, the lead's name."""
    return [
        message_text(pack),
        *(str(i["text"]) for i in thread_items(pack)),
        *workspace_texts(pack),
        str(pack["sections"]["lead"]["profile"].get("name") or ""),
    ]


def sources_for(pack: Pack, source_ids: list[str]) -> list[dict[str, Any]]:
    """The knowledge items with these ids, in pack order (unknown ids are dropped)."""
    wanted = set(source_ids)
    return [doc for doc in knowledge_items(pack) if doc["id"] in wanted]


# --- drafting stages -------------------------------------------------------------------------


def strategy_plan(sr: StageRun, *, pack: Pack) -> StrategyOutput:
    prompt = prompt_render(
        "draft_strategy", variables=_common_variables(pack), inputs=_common_inputs(pack)
    )
    plan = _ask(
        sr, stage=Stage.STRATEGY, prompt=prompt, schema=StrategyOutput, model=sr.draft_model
    )
    known = {doc["id"] for doc in knowledge_items(pack)}
    return plan.model_copy(update={"source_ids": [i for i in plan.source_ids if i in known]})


def draft_generate(sr: StageRun, *, pack: Pack, plan: StrategyOutput) -> GenerationOutput:
    strategy = plan.model_dump(mode="json")
    prompt = prompt_render(
        "draft_generation",
        variables={
            **_common_variables(pack),
            "lead_name": _lead_name(pack),
            "strategy": _json(strategy),
        },
        inputs={**_common_inputs(pack), "strategy": strategy},
    )
    return _ask(
        sr, stage=Stage.GENERATION, prompt=prompt, schema=GenerationOutput, model=sr.draft_model
    )


def _lead_name(pack: Pack) -> str:
    return str(pack["sections"]["lead"]["profile"].get("name") or "(unknown)")


def draft_verify(sr: StageRun, *, pack: Pack, generation: GenerationOutput) -> VerifierOutput:
    """The verifier stage, then two deterministic rules over its result: it may only remove
    or soften (a rewrite that adds to the draft is refused and the draft kept, see
    `verifier_rewrite_rejected`), and a claim that is in neither the cited sources nor the
    thread never survives."""
    sources = sources_for(pack, generation.source_ids)
    texts = allowed_texts(pack)
    prompt = prompt_render(
        "draft_verifier",
        variables={
            "channel": str(pack["channel"]),
            "draft": generation.text,
            "sources": _fmt_docs(sources),
            "thread": f"{_fmt_thread(pack)}\nlead (latest): {message_text(pack)}",
            "length_rule": _length_rule(pack),
        },
        inputs={
            "draft": generation.text,
            "sources": sources,
            "thread_texts": texts,
            "max_chars": pack["max_chars"],
        },
    )
    checked = _ask(
        sr, stage=Stage.VERIFIER, prompt=prompt, schema=VerifierOutput, model=sr.draft_model
    )
    rejected = verifier_rewrite_rejected(draft=generation.text, verified=checked)
    if rejected is not None:
        kept, refused = rejected
        checked = checked.model_copy(
            update={"text": kept, "removed": [*checked.removed, *refused], "unsupported": True}
        )
    allowed = claim_norms([f"{d['title']}. {d['body']} {d['url']}" for d in sources] + texts)
    enforced = claims_enforce(checked.text, allowed=allowed, max_chars=pack["max_chars"])
    known = {doc["id"] for doc in sources}
    updates: dict[str, Any] = {
        "source_ids": [i for i in checked.source_ids if i in known] or sorted(known),
    }
    if enforced.removed or enforced.shortened:
        updates.update(
            text=enforced.text,
            removed=[
                *checked.removed,
                *(
                    RemovedClaim(sentence=s, claim=c.raw, reason=f"{c.kind} not in sources")
                    for s, c in enforced.removed
                ),
            ],
            unsupported=checked.unsupported or bool(enforced.removed),
            shortened=checked.shortened or enforced.shortened,
        )
    result = checked.model_copy(update=updates)
    # The artifact shows what the draft was saved with, not only what the model proposed.
    sr.artifacts[-1].payload = payload_cap(result.model_dump(mode="json"))
    sr.artifacts[-1].text = result.text
    return result


def meeting_extract(sr: StageRun, *, pack: Pack) -> MeetingExtractOutput:
    prompt = prompt_render(
        "meeting_extract",
        variables={
            "lead_timezone": str(pack["sections"]["lead"]["profile"].get("timezone") or "unknown"),
            "thread": _fmt_thread(pack),
            "message": message_text(pack),
        },
        inputs={"message": message_text(pack)},
    )
    return _ask(
        sr,
        stage=Stage.MEETING_EXTRACT,
        prompt=prompt,
        schema=MeetingExtractOutput,
        model=sr.draft_model,
    )


def meeting_gate(
    sr: StageRun, *, pack: Pack, extract: MeetingExtractOutput, draft_text: str
) -> MeetingGateOutput:
    found = extract.model_dump(mode="json")
    prompt = prompt_render(
        "meeting_gate",
        variables={
            "gate_enabled": "yes" if sr.meeting_gate_enabled else "no",
            "extract": _json(found),
            "draft": draft_text,
            "knowledge": _fmt_docs(knowledge_items(pack)),
        },
        inputs={
            "extract": found,
            "draft": draft_text,
            "gate_enabled": sr.meeting_gate_enabled,
            "knowledge": knowledge_items(pack),
        },
    )
    return _ask(
        sr, stage=Stage.MEETING_GATE, prompt=prompt, schema=MeetingGateOutput, model=sr.draft_model
    )


# --- auto-send stages, callable on their own ---------------------------------------------------


def _review_inputs(pack: Pack, draft_text: str) -> dict[str, Any]:
    return {
        "message": message_text(pack),
        "draft": draft_text,
        "sources": knowledge_items(pack),
        "thread_texts": allowed_texts(pack),
        "channel": pack["channel"],
        "max_chars": pack["max_chars"],
    }


def _stage_run_for(run: PipelineRun) -> StageRun:
    return StageRun.for_run(run, WorkspaceSettings.objects.get(workspace_id=run.workspace_id))


def draft_evaluate(
    sr: StageRun, *, pack: Pack, draft_text: str, iteration: int
) -> EvaluationOutput:
    prompt = prompt_render(
        "auto_send_evaluation",
        variables={
            "channel": str(pack["channel"]),
            "max_chars": str(pack["max_chars"] or "no limit"),
            "thread": _fmt_thread(pack),
            "message": message_text(pack),
            "draft": draft_text,
            "sources": _fmt_docs(knowledge_items(pack)),
        },
        inputs=_review_inputs(pack, draft_text),
    )
    return _ask(
        sr,
        stage=Stage.EVALUATION,
        prompt=prompt,
        schema=EvaluationOutput,
        model=sr.draft_model,
        iteration=iteration,
        text=draft_text,
    )


def evaluate_draft(
    *, run: PipelineRun, draft_text: str, context_pack: Pack, iteration: int = 0
) -> EvaluationOutput:
    """`auto_send_evaluation` for one draft text: confidence in [0, 1], reasons, weaknesses.
    Writes its artifact (iteration 0 for the original draft, 1 to 3 for revisions)."""
    sr = _stage_run_for(run)
    try:
        return draft_evaluate(sr, pack=context_pack, draft_text=draft_text, iteration=iteration)
    finally:
        sr.write()


def select_revisions(
    *,
    run: PipelineRun,
    draft_text: str,
    context_pack: Pack,
    evaluation: EvaluationOutput,
    iteration: int,
) -> RevisionSelectorOutput:
    """`auto_send_revision_selector`: which of the evaluation's weaknesses to fix."""
    sr = _stage_run_for(run)
    found = evaluation.model_dump(mode="json")
    prompt = prompt_render(
        "revision_selector",
        variables={
            "channel": str(context_pack["channel"]),
            "draft": draft_text,
            "evaluation": _json(found),
            "sources": _fmt_docs(knowledge_items(context_pack)),
        },
        inputs={**_review_inputs(context_pack, draft_text), "evaluation": found},
    )
    try:
        return _ask(
            sr,
            stage=Stage.REVISION_SELECTOR,
            prompt=prompt,
            schema=RevisionSelectorOutput,
            model=sr.revision_model,
            effort=sr.revision_effort,
            iteration=iteration,
            text=draft_text,
        )
    finally:
        sr.write()


def revise_draft(
    *,
    run: PipelineRun,
    draft_text: str,
    context_pack: Pack,
    selection: RevisionSelectorOutput,
    iteration: int,
) -> RevisionReviserOutput:
    """`auto_send_revision_reviser`: the draft with the selected fixes applied. The grounding
    rule is re-applied to the result, as for the verifier."""
    sr = _stage_run_for(run)
    fixes = [fix.model_dump(mode="json") for fix in selection.fixes]
    prompt = prompt_render(
        "revision_reviser",
        variables={
            "channel": str(context_pack["channel"]),
            "draft": draft_text,
            "fixes": _json(fixes),
            "sources": _fmt_docs(knowledge_items(context_pack)),
            "length_rule": _length_rule(context_pack),
        },
        inputs={**_review_inputs(context_pack, draft_text), "fixes": fixes},
    )
    try:
        revised = _ask(
            sr,
            stage=Stage.REVISION_REVISER,
            prompt=prompt,
            schema=RevisionReviserOutput,
            model=sr.revision_model,
            effort=sr.revision_effort,
            iteration=iteration,
        )
        docs = knowledge_items(context_pack)
        allowed = claim_norms(
            [f"{d['title']}. {d['body']} {d['url']}" for d in docs] + allowed_texts(context_pack)
        )
        enforced = claims_enforce(
            revised.text, allowed=allowed, max_chars=context_pack["max_chars"]
        )
        if enforced.removed or enforced.shortened:
            revised = revised.model_copy(update={"text": enforced.text})
            sr.artifacts[-1].text = enforced.text
        return revised
    finally:
        sr.write()
