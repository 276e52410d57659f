"""The seams the review service (drafts.review) uses to reach the apps above drafts.

Approving, undoing and rejecting a draft book, stop and call off its send, which auto-send
owns; an edit's learning sample names the pipeline stage whose text the operator changed.
drafts names what it asks as Protocols here, and the apps above plug their answers in from
their AppConfig.ready (`review_sends_register` from autosend, `text_origin_register` from
pipeline). So drafts imports neither, and with one missing the review service raises
`ImproperlyConfigured` instead of approving a draft that is never sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured

from drafts.models import Draft


class BookedSend(Protocol):
    """A draft's booked send, as the review service and its pages read it."""

    @property
    def pk(self) -> Any: ...
    @property
    def status(self) -> str: ...
    @property
    def origin(self) -> str: ...
    @property
    def run_at(self) -> datetime: ...


@dataclass(frozen=True)
class SendState:
    status: str
    gone_out: bool  # being delivered or delivered: too late to stop


class ReviewSends(Protocol):
    def approved_send_book(self, *, draft: Draft, user: Any, text: str) -> BookedSend | None:
        """Book the approved draft's send (None: the draft can no longer be sent)."""
        ...

    def send_undo(self, *, draft_id: Any) -> bool:
        """Stop a send not yet gone out and put the draft back to review (True if done)."""
        ...

    def send_call_off(self, *, draft_id: Any, reason: str) -> int:
        """Cancel the draft's send while it is still only scheduled; how many were."""
        ...

    def send_state(self, *, draft_id: Any) -> SendState | None:
        """The draft's booked send, if it has one."""
        ...


# (stage, prompt key, prompt version) that produced the text an operator edited.
TextOrigin = Callable[[Draft], tuple[str, str, str]]

_sends: ReviewSends | None = None
_text_origin: TextOrigin | None = None


def review_sends_register(port: ReviewSends) -> None:
    """Called once, from autosend's AppConfig.ready."""
    global _sends
    _sends = port


def review_sends() -> ReviewSends:
    if _sends is None:
        raise ImproperlyConfigured("autosend is not installed: nothing sends approved drafts")
    return _sends


def text_origin_register(origin: TextOrigin) -> None:
    """Called once, from pipeline's AppConfig.ready."""
    global _text_origin
    _text_origin = origin


def text_origin(draft: Draft) -> tuple[str, str, str]:
    if _text_origin is None:
        raise ImproperlyConfigured("pipeline is not installed: nothing knows a draft's stages")
    return _text_origin(draft)
