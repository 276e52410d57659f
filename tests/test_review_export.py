"""`manage.py export_learning_samples`: the same JSON lines as the API, to a file or stdout."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from drafts.models import LearningSample
from drafts.review import draft_approve
from tests.factories import make_draft


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def samples(tenant, other_tenant):
    old = make_draft(tenant.workspace, tenant.email_channel, text="Hello")
    new = make_draft(tenant.workspace, tenant.sms_channel, text="Hi")
    theirs = make_draft(other_tenant.workspace, other_tenant.email_channel, text="Yo")
    draft_approve(draft=old, user=tenant.operator, text="Hello Sam")
    draft_approve(draft=new, user=tenant.operator, text="Hi Sam")
    draft_approve(draft=theirs, user=other_tenant.operator, text="Yo!")
    LearningSample.objects.filter(draft=old).update(created_at=timezone.now() - timedelta(days=10))
    return old, new, theirs


def test_exports_to_a_file_with_filters(samples, tenant, tmp_path, monkeypatch):
    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stderr", terminal)
    target = tmp_path / "samples.jsonl"
    since = (timezone.now() - timedelta(days=30)).date().isoformat()
    call_command(
        "export_learning_samples",
        "--workspace",
        tenant.workspace.slug,
        "--since",
        since,
        "--output",
        str(target),
    )
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert [(r["original"], r["final"]) for r in rows] == [("Hello", "Hello Sam"), ("Hi", "Hi Sam")]
    assert rows[0]["workspace_id"] == str(tenant.workspace.pk)
    assert "[" + "#" * 30 + "] 2/2" in terminal.getvalue()


def test_exports_everything_to_stdout_and_filters_by_until(samples):
    out = io.StringIO()
    call_command("export_learning_samples", stdout=out)
    assert len(out.getvalue().splitlines()) == 3
    out = io.StringIO()
    until = (timezone.now() - timedelta(days=1)).isoformat()
    call_command("export_learning_samples", "--until", until, stdout=out)
    assert [json.loads(line)["final"] for line in out.getvalue().splitlines()] == ["Hello Sam"]


def test_bad_arguments_are_clear_errors(db):
    with pytest.raises(CommandError, match="is not a date"):
        call_command("export_learning_samples", "--since", "last week")
    with pytest.raises(CommandError, match="No workspace"):
        call_command("export_learning_samples", "--workspace", "nope")
    with pytest.raises(CommandError, match="--since must be before --until"):
        call_command("export_learning_samples", "--since", "2026-02-01", "--until", "2026-01-01")


def test_keyset_batches_return_each_sample_once_even_with_equal_times(samples, tenant):
    from drafts.selectors import learning_samples_iter

    LearningSample.objects.update(created_at=timezone.now())
    everything = list(learning_samples_iter(workspace=None, batch_size=1))
    assert len(everything) == 3
    assert len({s.pk for s in everything}) == 3
    mine = list(learning_samples_iter(workspace=tenant.workspace, batch_size=1))
    assert len(mine) == 2
    assert {s.workspace_id for s in mine} == {tenant.workspace.pk}
