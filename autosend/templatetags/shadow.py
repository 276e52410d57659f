"""Template filters for the shadow verdict (autosend/shadow.py) on the review pages."""

from __future__ import annotations

from typing import Any

from django import template

from autosend.models import AutoSendVerdict
from autosend.shadow import verdict_of, verdict_words
from drafts.models import Draft

register = template.Library()


@register.filter(name="verdict_of")
def verdict_of_filter(draft: Draft) -> AutoSendVerdict | None:
    """The draft's verdict, or None (never a query when the selector joined it)."""
    return verdict_of(draft)


@register.filter(name="verdict_words")
def verdict_words_filter(verdict: AutoSendVerdict | None) -> str:
    return verdict_words(verdict) if verdict is not None else ""


@register.filter
def auto_send_label(draft: Any) -> str:
    """The auto-send badge: what auto-send did. `none` no longer means "not evaluated" (the
    draft is evaluated in shadow) but that auto-send did not act and a person decides."""
    if draft.auto_send_action == Draft.Action.NONE:
        return "Off: a person decides"
    return str(draft.get_auto_send_action_display())
