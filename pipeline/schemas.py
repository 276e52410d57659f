"""What each LLM stage returns. Both providers return these models, and the openai
provider's replies are validated by them whichever structured-output mode carried them.
Shapes stay within OpenAI strict structured outputs (every field required, no free-form
dicts)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Intent = Literal[
    "question",
    "meeting_request",
    "interest",
    "opt_out",
    "complaint",
    "legal",
    "threat",
    "human_request",
    "wrong_person",
    "sensitive",
    "auto_reply",
    "bounce",
    "injection",
    "commitment_request",
    "existing_customer",
    "other",
]
# Intents whose reply a person should write or at least read: they never score high.
RISKY_INTENTS: frozenset[str] = frozenset(
    {
        "opt_out",
        "complaint",
        "legal",
        "threat",
        "human_request",
        "wrong_person",
        "sensitive",
        "auto_reply",
        "bounce",
        "injection",
        "commitment_request",
        "existing_customer",
    }
)


class StageOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StrategyOutput(StageOutput):
    intent: Intent
    risk_flags: list[Intent]
    questions: list[str] = Field(description="The questions or requests the lead made.")
    answer_plan: list[str] = Field(description="What the reply must say, in order.")
    source_ids: list[str] = Field(description="Ids of the knowledge documents to use.")
    should_reply: bool
    tone: str


class GenerationOutput(StageOutput):
    text: str
    source_ids: list[str]


class RemovedClaim(StageOutput):
    sentence: str
    claim: str
    reason: str


class VerifierOutput(StageOutput):
    text: str
    source_ids: list[str]
    removed: list[RemovedClaim]
    unsupported: bool
    shortened: bool


class ProposedTime(StageOutput):
    text: str
    day: str | None
    part_of_day: str | None
    clock_time: str | None


class MeetingExtractOutput(StageOutput):
    wants_meeting: bool
    mode: Literal["call", "video", "in_person", "unspecified"]
    proposed_times: list[ProposedTime]
    timezone: str | None


class MeetingGateOutput(StageOutput):
    decision: Literal["allow", "review"]
    reason: str


WeaknessKind = Literal[
    "unanswered_question",
    "unsupported_claim",
    "unsupported_commitment",
    "too_long",
    "no_source",
    "risky_message",
    "no_reply_needed",
]


class Weakness(StageOutput):
    kind: WeaknessKind
    detail: str


class EvaluationOutput(StageOutput):
    confidence: float = Field(ge=0.0, le=1.0)
    reasons: list[str]
    weaknesses: list[Weakness]


class RevisionFix(StageOutput):
    kind: Literal["remove_sentence", "add_answer", "shorten"]
    target: str
    why: str


class RevisionSelectorOutput(StageOutput):
    fixes: list[RevisionFix]


class RevisionReviserOutput(StageOutput):
    text: str
    applied: list[str]
    source_ids: list[str]
