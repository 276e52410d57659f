"""Draft quality from real human outcomes: by prompt version, and the auto-send threshold the
reviews of each workspace would support. Suggestions only: nothing here changes a knob.

A *reviewed* draft is one with a DraftAction in the window (the last 30 days); its outcome is
its latest action there: `approve` (approved unchanged), `edit` (edited, then approved) or
`reject` (with a reason). The computations are pure functions over `ReviewOutcome`s, so the
figures are tested with exact numbers; one query loads the outcomes.
"""

from __future__ import annotations

import difflib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Case, F, Q, TextField, Value, When
from django.utils import timezone

from drafts.models import DraftAction
from workspaces.analytics_db import analytics_db

REVIEW_WINDOW = timedelta(days=30)
# At least this share of the reviewed drafts at or above the suggested threshold were
# approved unchanged.
TARGET_APPROVED_UNCHANGED = Fraction(95, 100)
# Below this many reviewed drafts (at or above the threshold) a suggestion is not made.
MIN_DRAFTS_FOR_SUGGESTION = 20


@dataclass(frozen=True)
class ReviewOutcome:
    workspace_id: Any
    prompt_key: str
    prompt_version: str
    confidence: float | None  # Draft.auto_send_confidence, the value the threshold compares
    kind: str  # DraftAction.Kind
    reason: str = ""  # reject reason
    edit_words: int | None = None  # for edits: words changed (see edit_size_words)


def edit_size_words(before: str, after: str) -> int:
    """Words removed plus words added to turn `before` into `after` (word-level diff, so
    replacing one word counts 2 and re-flowing whitespace counts 0)."""
    old, new = before.split(), after.split()
    changed = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(
        None, old, new, autojunk=False
    ).get_opcodes():
        if tag != "equal":
            changed += (i2 - i1) + (j2 - j1)
    return changed


@dataclass
class PromptQuality:
    prompt_key: str
    prompt_version: str
    approved: int = 0
    edited: int = 0
    rejected: int = 0
    edit_words_total: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def reviewed(self) -> int:
        return self.approved + self.edited + self.rejected

    @property
    def mean_edit_words(self) -> float | None:
        return self.edit_words_total / self.edited if self.edited else None

    @property
    def approved_rate(self) -> float | None:
        return self.approved / self.reviewed if self.reviewed else None


def prompt_quality(outcomes: Iterable[ReviewOutcome]) -> list[PromptQuality]:
    """Approved unchanged / edited (mean edit size in words) / rejected by reason, for each
    prompt key and version, sorted by key then version."""
    groups: dict[tuple[str, str], PromptQuality] = {}
    reasons: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for o in outcomes:
        key = (o.prompt_key, o.prompt_version)
        q = groups.setdefault(
            key, PromptQuality(prompt_key=o.prompt_key, prompt_version=o.prompt_version)
        )
        if o.kind == DraftAction.Kind.APPROVE:
            q.approved += 1
        elif o.kind == DraftAction.Kind.EDIT:
            q.edited += 1
            q.edit_words_total += o.edit_words or 0
        elif o.kind == DraftAction.Kind.REJECT:
            q.rejected += 1
            reasons[key][o.reason or "unspecified"] += 1
    for key, counter in reasons.items():
        groups[key].rejected_by_reason = dict(
            sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
        )
    return [groups[key] for key in sorted(groups)]


@dataclass(frozen=True)
class ThresholdSuggestion:
    """`threshold` is None when no suggestion can be made; `reviewed` says how many reviewed
    drafts with a confidence there were, `rests_on` how many are at or above the threshold."""

    threshold: float | None
    rests_on: int
    reviewed: int
    approved_unchanged: int = 0

    @property
    def enough_data(self) -> bool:
        return self.reviewed >= MIN_DRAFTS_FOR_SUGGESTION


def suggested_threshold(
    samples: Iterable[tuple[float, bool]],
    *,
    target: Fraction = TARGET_APPROVED_UNCHANGED,
    minimum: int = MIN_DRAFTS_FOR_SUGGESTION,
) -> ThresholdSuggestion:
    """The lowest confidence c among the samples such that, of the samples with confidence
    >= c, at least `target` were approved unchanged, and there are at least `minimum` of them.

    `samples`: (confidence, approved unchanged?) per reviewed draft. The share is not monotone
    in c, so every distinct confidence is a candidate; ties at c are all included.
    """
    ordered = sorted(samples, key=lambda s: s[0], reverse=True)
    best: ThresholdSuggestion | None = None
    n = approved = 0
    i = 0
    while i < len(ordered):
        c = ordered[i][0]
        while i < len(ordered) and ordered[i][0] == c:
            n += 1
            approved += 1 if ordered[i][1] else 0
            i += 1
        if n >= minimum and Fraction(approved, n) >= target:
            best = ThresholdSuggestion(
                threshold=c, rests_on=n, reviewed=len(ordered), approved_unchanged=approved
            )
    return best or ThresholdSuggestion(threshold=None, rests_on=0, reviewed=len(ordered))


def review_outcomes(
    *,
    now: datetime | None = None,
    workspace_ids: Iterable[Any] | None = None,
    edit_sizes: bool = True,
) -> list[ReviewOutcome]:
    """Each draft reviewed in the last 30 days, with its latest action there: one query.
    `edit_sizes=False` skips loading the texts (threshold suggestions do not need them) and
    reads through `analytics_db()`. Edit sizes compare texts the read-only role may not see,
    so that query stays on the default connection.

    The edit size compares the AI's text with what the operator approved: the LearningSample's
    `original` (the text the operator saw) when the edit made one, else `Draft.original_text`,
    against `DraftAction.final_text`.
    """
    now = now or timezone.now()
    db = DEFAULT_DB_ALIAS if edit_sizes else analytics_db()
    actions = DraftAction.objects.using(db).filter(
        created_at__gte=now - REVIEW_WINDOW, created_at__lt=now
    )
    if workspace_ids is not None:
        actions = actions.filter(draft__workspace_id__in=list(workspace_ids))
    is_edit = Q(kind=DraftAction.Kind.EDIT)
    empty = Value("", output_field=TextField())
    before: Any = empty
    after: Any = empty
    if edit_sizes:
        before = Case(
            When(
                is_edit & Q(draft__learning_sample__isnull=False),
                then=F("draft__learning_sample__original"),
            ),
            When(is_edit, then=F("draft__original_text")),
            default=empty,
        )
        after = Case(When(is_edit, then=F("final_text")), default=empty)
    rows = (
        actions.order_by("draft_id", "-created_at", "-id")
        .distinct("draft_id")
        .annotate(before=before, after=after)
        .values(
            "kind",
            "reason",
            "before",
            "after",
            "draft__workspace_id",
            "draft__prompt_key",
            "draft__prompt_version",
            "draft__auto_send_confidence",
        )
    )
    return [
        ReviewOutcome(
            workspace_id=row["draft__workspace_id"],
            prompt_key=row["draft__prompt_key"],
            prompt_version=row["draft__prompt_version"],
            confidence=row["draft__auto_send_confidence"],
            kind=row["kind"],
            reason=row["reason"],
            edit_words=(
                edit_size_words(row["before"], row["after"])
                if edit_sizes and row["kind"] == DraftAction.Kind.EDIT
                else None
            ),
        )
        for row in rows
    ]


def threshold_suggestions(outcomes: Iterable[ReviewOutcome]) -> dict[Any, ThresholdSuggestion]:
    """The suggested threshold of each workspace that has reviewed drafts with a confidence."""
    samples: dict[Any, list[tuple[float, bool]]] = defaultdict(list)
    for o in outcomes:
        if o.confidence is not None:
            samples[o.workspace_id].append((o.confidence, o.kind == DraftAction.Kind.APPROVE))
    return {ws: suggested_threshold(s) for ws, s in samples.items()}
