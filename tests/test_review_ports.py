"""The review service reaches auto-send's sends and the pipeline's stages through
drafts.review_ports. With a side missing it refuses loudly and changes nothing, rather than
approve a draft that is never sent; plugged in (as the apps do), an edit's learning sample
names the stage whose text the operator changed."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from autosend.models import ScheduledSend
from drafts import review_ports
from drafts.models import Draft, DraftAction, LearningSample
from drafts.review import draft_approve
from pipeline.models import Stage
from tests.factories import make_draft

pytestmark = pytest.mark.django_db


def test_approving_with_no_send_side_fails_and_changes_nothing(tenant, monkeypatch):
    draft = make_draft(tenant.workspace, tenant.email_channel)
    monkeypatch.setattr(review_ports, "_sends", None)
    with pytest.raises(ImproperlyConfigured, match="nothing sends approved drafts"):
        draft_approve(draft=draft, user=tenant.operator)
    draft.refresh_from_db()
    assert draft.status == Draft.Status.PENDING
    assert not ScheduledSend.objects.exists()
    assert not DraftAction.objects.exists()


def test_an_edit_with_no_stage_side_fails_and_books_no_send(tenant, monkeypatch):
    draft = make_draft(tenant.workspace, tenant.email_channel)
    monkeypatch.setattr(review_ports, "_text_origin", None)
    with pytest.raises(ImproperlyConfigured, match="nothing knows a draft's stages"):
        draft_approve(draft=draft, user=tenant.operator, text="Hi, something else.")
    assert not ScheduledSend.objects.exists()
    assert not LearningSample.objects.exists()


def test_the_apps_plug_both_sides_in(tenant):
    draft = make_draft(tenant.workspace, tenant.email_channel, revision_applied=False)
    approval = draft_approve(draft=draft, user=tenant.operator, text="Hi, edited by a person.")
    assert approval.send.status == ScheduledSend.Status.SCHEDULED
    assert LearningSample.objects.get(draft=draft).stage == Stage.GENERATION
