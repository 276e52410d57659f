"""Two reviewers at the same instant: one approval books the send, one hold is taken."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from autosend.models import ScheduledSend
from drafts.models import Draft, DraftAction
from drafts.review import draft_approve, draft_hold
from tests.factories import make_draft
from workspaces.errors import Conflict


def _race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; each result or the exception it raised."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_simultaneous_approvals_book_one_send(tenant):
    draft = make_draft(tenant.workspace, tenant.email_channel)
    first = Draft.objects.select_related("conversation").get(pk=draft.pk)
    second = Draft.objects.select_related("conversation").get(pk=draft.pk)
    results = _race(
        lambda: draft_approve(draft=first, user=tenant.operator, text="From the operator"),
        lambda: draft_approve(draft=second, user=tenant.rep, text="From the rep"),
    )
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(conflicts) == 1
    assert ScheduledSend.objects.filter(draft=draft).count() == 1
    action = DraftAction.objects.get(draft=draft)
    assert ScheduledSend.objects.get(draft=draft).text == action.final_text
    assert Draft.objects.get(pk=draft.pk).text == action.final_text


@pytest.mark.django_db(transaction=True)
def test_simultaneous_opens_give_one_holder(tenant):
    draft = make_draft(tenant.workspace, tenant.email_channel)
    results = _race(
        lambda: draft_hold(draft=Draft.objects.get(pk=draft.pk), user=tenant.operator),
        lambda: draft_hold(draft=Draft.objects.get(pk=draft.pk), user=tenant.rep),
    )
    holder = Draft.objects.get(pk=draft.pk).held_by_id
    assert holder in (tenant.operator.pk, tenant.rep.pk)
    assert sorted(r.mine for r in results) == [False, True]
    assert {r.user.pk for r in results} == {holder}
