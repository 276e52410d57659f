"""The ScheduledSend state machine: the one table of allowed moves and the one function that
makes them, as compare-and-swap updates (a second worker or a double click changes nothing)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q

from autosend.models import ScheduledSend

S = ScheduledSend.Status

# scheduled → sending when a worker claims the row (exactly one can);
# scheduled → scheduled when an operator approves a send still waiting (now, their text);
# sending → sent | failed | unknown | cancelled (the re-check before sending said no);
# unknown → sent | failed only by reconciliation (an operator, or the worker finishing late);
# cancelled | failed → scheduled only when an operator approves the draft again.
ALLOWED: dict[str, frozenset[str]] = {
    S.SCHEDULED: frozenset({S.SENDING, S.CANCELLED, S.SCHEDULED}),
    S.SENDING: frozenset({S.SENT, S.FAILED, S.UNKNOWN, S.CANCELLED}),
    S.UNKNOWN: frozenset({S.SENT, S.FAILED}),
    S.CANCELLED: frozenset({S.SCHEDULED}),
    S.FAILED: frozenset({S.SCHEDULED}),
    S.SENT: frozenset(),
}


class IllegalSendTransition(ValueError):
    pass


def scheduled_send_transition(
    *,
    scheduled_send_id: Any,
    from_status: str | Iterable[str],
    to_status: str,
    where: Q | None = None,
    **fields: Any,
) -> bool:
    """Move a send from `from_status` (one or several) to `to_status` if it is still there
    (and `where` holds). True if this call made the move, False if someone else did."""
    sources = [from_status] if isinstance(from_status, str) else list(from_status)
    for source in sources:
        if to_status not in ALLOWED[source]:
            raise IllegalSendTransition(f"a send cannot go from {source} to {to_status}")
    qs = ScheduledSend.objects.filter(pk=scheduled_send_id, status__in=sources)
    if where is not None:
        qs = qs.filter(where)
    return qs.update(status=to_status, **fields) == 1
