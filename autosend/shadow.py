"""Shadow evaluation: auto-send's verdict on every draft, whether or not it may act on it.

With auto-send off for the workspace (every new workspace) or the kill switch set, the
orchestrator still evaluates each draft once and applies its own tests (threshold, held
reasons, the deterministic checks), but books nothing: the verdict is recorded here as
`AutoSendVerdict(shadow=True)`. Nothing in this module sends or changes a draft's status.

The figures (`shadow_figures`) are the evidence a super-admin reads before turning auto-send
on: how many drafts would have gone out by themselves, and how often operators approved
exactly those drafts unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone

from autosend.models import AutoSendVerdict
from config.labels import human_label
from drafts.models import Draft, DraftAction
from pipeline import stages
from pipeline.draft_checks import CheckFailure, draft_send_checks
from workspaces.analytics_db import analytics_db

R = AutoSendVerdict.Reason
SHADOW_WINDOWS: dict[str, timedelta] = {"7d": timedelta(days=7), "30d": timedelta(days=30)}
# A human decision on a draft; an undo only reopens it, so it is not an outcome.
DECISIONS = (DraftAction.Kind.APPROVE, DraftAction.Kind.EDIT, DraftAction.Kind.REJECT)


@dataclass(frozen=True)
class Verdict:
    """What the orchestrator's tests say about one draft (before anything is written)."""

    would_send: bool
    reason: str  # AutoSendVerdict.Reason
    threshold: float
    confidence: float | None = None
    gate_category: str = ""
    detail: str = ""


def verdict_blocked(*, category: str, threshold: float) -> Verdict:
    return Verdict(would_send=False, reason=R.BLOCKED, threshold=threshold, gate_category=category)


def verdict_error(threshold: float) -> Verdict:
    return Verdict(would_send=False, reason=R.EVALUATION_ERROR, threshold=threshold)


def verdict_judge(
    *, pack: dict[str, Any], hold: str, confidence: float, threshold: float, text: str
) -> tuple[Verdict, list[CheckFailure]]:
    """The orchestrator's tests, in order: held, below the threshold, then the deterministic
    checks (confidence is the model's word; these checks are code's: pipeline/draft_checks.py).
    Live and shadow decisions both come from here, so the shadow verdict is the live one."""
    if hold:
        return Verdict(
            would_send=False, reason=R.HELD, detail=hold, threshold=threshold, confidence=confidence
        ), []
    if confidence < threshold:
        return Verdict(
            would_send=False, reason=R.BELOW_THRESHOLD, threshold=threshold, confidence=confidence
        ), []
    failures = draft_send_checks(
        text=text,
        message=stages.message_text(pack),
        knowledge=stages.knowledge_items(pack),
        workspace_texts=stages.workspace_texts(pack),
        thread_texts=stages.allowed_texts(pack),
    )
    if failures:
        verdict = Verdict(
            would_send=False,
            reason=R.CHECK_FAILED,
            detail=failures[0].reason,
            threshold=threshold,
            confidence=confidence,
        )
        return verdict, failures
    return Verdict(
        would_send=True, reason=R.CONFIDENT, threshold=threshold, confidence=confidence
    ), []


def verdict_held_reason(verdict: Verdict) -> str:
    """The draft's `held_reason` for a verdict that holds it (the words operators know)."""
    if verdict.reason == R.BELOW_THRESHOLD:
        return f"below threshold {verdict.threshold:.2f} (confidence {verdict.confidence:.2f})"
    return verdict.detail


def verdict_record(*, draft: Draft, verdict: Verdict, shadow: bool) -> None:
    """Keep the verdict: one row per draft (one statement). A later decision for the same
    draft (a live one after a shadow one) replaces it."""
    AutoSendVerdict.objects.bulk_create(
        [
            AutoSendVerdict(
                workspace_id=draft.workspace_id,
                draft_id=draft.pk,
                shadow=shadow,
                confidence=verdict.confidence,
                threshold=verdict.threshold,
                gate_category=verdict.gate_category,
                would_send=verdict.would_send,
                would_send_reason=verdict.reason,
                detail=verdict.detail[:200],
            )
        ],
        update_conflicts=True,
        unique_fields=["draft"],
        update_fields=[
            "shadow",
            "confidence",
            "threshold",
            "gate_category",
            "would_send",
            "would_send_reason",
            "detail",
        ],
    )


def verdict_of(draft: Draft) -> AutoSendVerdict | None:
    """The draft's verdict (selected with the draft by the selectors), or None."""
    return getattr(draft, "auto_send_verdict", None)


def verdict_words(verdict: AutoSendVerdict) -> str:
    """Why, in words for people: "confidence 0.91, at or above the threshold 0.80, …" or
    "held because …". Codes (gate categories) go through `human_label`."""
    confidence = "" if verdict.confidence is None else f"{verdict.confidence:.2f}"
    threshold = f"{verdict.threshold:.2f}"
    match verdict.would_send_reason:
        case R.CONFIDENT:
            return (
                f"confidence {confidence} reaches the threshold {threshold}, "
                "and it passed the safety gate and every check"
            )
        case R.BLOCKED:
            return f"held because the safety gate blocked it: {human_label(verdict.gate_category)}"
        case R.BELOW_THRESHOLD:
            return f"held because confidence {confidence} is below the threshold {threshold}"
        case R.EVALUATION_ERROR:
            return "held because the evaluation failed"
        case _:
            return f"held because {human_label(verdict.detail) or 'a person must read it'}"


def verdict_out(draft: Draft) -> dict[str, Any]:
    """The verdict's part of the API's `auto_send` object (nulls before any verdict)."""
    verdict = verdict_of(draft)
    if verdict is None:
        return {"would_send": None, "reason": None, "reason_code": None, "shadow": None}
    return {
        "would_send": verdict.would_send,
        "reason": verdict_words(verdict),
        "reason_code": verdict.would_send_reason,
        "shadow": verdict.shadow,
    }


# --- Figures for /ops/ ----------------------------------------------------------------------


@dataclass(frozen=True)
class ShadowWindow:
    """One workspace over one window (verdicts created in `[now - window, now)`).

    evaluated: drafts with a verdict. would_send: of those, the ones auto-send would have
    sent (rate = would_send / evaluated). reviewed: of the would-send drafts, those a person
    decided (latest approve, edit or reject); approved_unchanged: of those, the latest
    decision is `approve` (rate = approved_unchanged / reviewed).
    """

    window: str
    evaluated: int = 0
    would_send: int = 0
    reviewed: int = 0
    approved_unchanged: int = 0

    @property
    def would_send_rate(self) -> float | None:
        return self.would_send / self.evaluated if self.evaluated else None

    @property
    def approved_unchanged_rate(self) -> float | None:
        return self.approved_unchanged / self.reviewed if self.reviewed else None


def shadow_figures(
    *, workspace_ids: Iterable[Any], now: datetime | None = None
) -> dict[Any, list[ShadowWindow]]:
    """Per workspace, both windows (7 and 30 days) in one query, through `analytics_db()`."""
    now = now or timezone.now()
    ids = list(workspace_ids)
    db = analytics_db()
    since = {name: now - span for name, span in SHADOW_WINDOWS.items()}
    latest_decision = (
        DraftAction.objects.using(db)
        .filter(draft_id=OuterRef("draft_id"), kind__in=DECISIONS)
        .order_by("-created_at", "-id")
        .values("kind")[:1]
    )
    aggregates: dict[str, Any] = {}
    for name, start in since.items():
        window = Q(created_at__gte=start)
        would = window & Q(would_send=True)
        aggregates |= {
            f"evaluated_{name}": Count("pk", filter=window),
            f"would_{name}": Count("pk", filter=would),
            f"reviewed_{name}": Count("pk", filter=would & Q(decision__isnull=False)),
            f"approved_{name}": Count("pk", filter=would & Q(decision=DraftAction.Kind.APPROVE)),
        }
    rows: Iterable[Mapping[str, Any]] = (
        AutoSendVerdict.objects.using(db)
        .filter(workspace_id__in=ids, created_at__gte=min(since.values()), created_at__lt=now)
        .annotate(decision=Subquery(latest_decision))
        .values("workspace_id")
        .annotate(**aggregates)
        .order_by()
    )
    found = {row["workspace_id"]: row for row in rows}
    figures: dict[Any, list[ShadowWindow]] = {}
    for ws_id in ids:
        row = found.get(ws_id)
        figures[ws_id] = [
            ShadowWindow(
                window=name,
                evaluated=row[f"evaluated_{name}"] if row else 0,
                would_send=row[f"would_{name}"] if row else 0,
                reviewed=row[f"reviewed_{name}"] if row else 0,
                approved_unchanged=row[f"approved_{name}"] if row else 0,
            )
            for name in SHADOW_WINDOWS
        ]
    return figures
