"""The deterministic delay and the booking of a draft's one send."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autosend.models import ScheduledSend
from autosend.scheduling import chosen_delay_seconds, due_at, scheduled_send_create
from drafts.models import Draft
from tests.factories import DraftFactory

REPO = Path(__file__).resolve().parent.parent
IDS = [
    "01a1f2e3-0000-7000-8000-000000000001",
    "01a1f2e3-0000-7000-8000-000000000002",
    "m-1",
    uuid.UUID("01a1f2e3-0000-7000-8000-00000000abcd"),
]


def test_the_delay_is_the_same_in_another_process_with_another_hash_seed():
    expected = [chosen_delay_seconds(i, 180, 900) for i in IDS]
    code = (
        "import json, sys, uuid; sys.path.insert(0, '.');"
        "from autosend.scheduling import chosen_delay_seconds;"
        f"ids = {[str(i) for i in IDS]!r};"
        "print(json.dumps([chosen_delay_seconds(i, 180, 900) for i in ids]))"
    )
    for seed in ("0", "4242"):  # this process runs with a random seed
        env = {
            **os.environ,
            "PYTHONHASHSEED": seed,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
        }
        out = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {code}"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert json.loads(out.stdout.strip().splitlines()[-1]) == expected


def test_the_delay_is_pinned_to_sha256():
    # A regression guard: these values are what SHA-256 gives; changing the function would
    # move every booked send of every workspace.
    assert chosen_delay_seconds("m-1", 180, 900) == chosen_delay_seconds("m-1", 180, 900)
    import hashlib

    digest = hashlib.sha256(b"m-1").digest()
    assert chosen_delay_seconds("m-1", 180, 900) == 180 + int.from_bytes(digest[:8], "big") % 721


@given(
    message_id=st.one_of(st.uuids(), st.text(min_size=1, max_size=40)),
    low=st.integers(min_value=0, max_value=3600),
    span=st.integers(min_value=0, max_value=3600),
)
def test_the_delay_stays_within_bounds(message_id, low, span):
    delay = chosen_delay_seconds(message_id, low, low + span)
    assert low <= delay <= low + span


def test_equal_bounds_give_that_delay():
    assert chosen_delay_seconds("m-1", 300, 300) == 300
    assert chosen_delay_seconds("m-1", 0, 0) == 0


@pytest.mark.parametrize(("low", "high"), [(10, 9), (-1, 5)])
def test_bad_bounds_are_refused(low, high):
    with pytest.raises(ValueError):
        chosen_delay_seconds("m-1", low, high)


def test_delays_spread_evenly_over_the_window():
    delays = [chosen_delay_seconds(uuid.uuid4(), 180, 900) for _ in range(20_000)]
    assert min(delays) < 190
    assert max(delays) > 890
    deciles = Counter((d - 180) * 10 // 721 for d in delays)
    assert sorted(deciles) == list(range(10))
    for count in deciles.values():
        assert 1_700 < count < 2_300  # 2,000 expected per tenth
    assert 520 < sum(delays) / len(delays) < 560  # 540 expected


def test_due_at_adds_the_delay_to_the_inbound_time():
    sent = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert due_at(sent, 181) == sent + timedelta(seconds=181)


@pytest.mark.django_db
def test_a_draft_is_booked_once():
    draft = DraftFactory()
    run_at = datetime(2026, 11, 22, 10, 5, tzinfo=UTC)

    first = scheduled_send_create(
        draft=draft,
        origin=ScheduledSend.Origin.AUTO,
        run_at=run_at,
        text=draft.text,
        chosen_delay=300,
        delay_min=180,
        delay_max=900,
    )
    second = scheduled_send_create(
        draft=draft, origin=ScheduledSend.Origin.AUTO, run_at=run_at, text=draft.text
    )

    assert first is not None
    assert second is None
    assert ScheduledSend.objects.filter(draft=draft).count() == 1
    first.refresh_from_db()
    assert (first.status, first.run_at, first.chosen_delay_seconds) == ("scheduled", run_at, 300)
    assert (first.conversation_id, first.workspace_id) == (
        draft.conversation_id,
        draft.workspace_id,
    )
    assert Draft.objects.get(pk=draft.pk).status == Draft.Status.SCHEDULED


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Draft.Status.REJECTED, Draft.Status.SUPERSEDED])
def test_a_draft_that_is_not_pending_is_not_booked(status):
    draft = DraftFactory(status=status)
    booked = scheduled_send_create(
        draft=draft,
        origin=ScheduledSend.Origin.AUTO,
        run_at=datetime(2026, 11, 22, tzinfo=UTC),
        text=draft.text,
    )
    assert booked is None
    assert not ScheduledSend.objects.filter(draft=draft).exists()
    assert Draft.objects.get(pk=draft.pk).status == status
