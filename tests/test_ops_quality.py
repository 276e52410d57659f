"""Quality by prompt version and the suggested auto-send threshold, from human reviews."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest
from django.utils import timezone

from ops.quality import (
    PromptQuality,
    ReviewOutcome,
    edit_size_words,
    prompt_quality,
    review_outcomes,
    suggested_threshold,
    threshold_suggestions,
)
from tests.ops_builders import make_draft, review

APPROVE, EDIT, REJECT = "approve", "edit", "reject"


@pytest.mark.parametrize(
    ("before", "after", "words"),
    [
        ("Hi there friend", "Hi there buddy", 2),  # one word replaced: out 1, in 1
        ("a b c", "a  b\nc", 0),  # whitespace only
        ("", "three new words", 3),
        ("one two three four", "one three four five", 2),
        ("Same text.", "Same text.", 0),
    ],
)
def test_edit_size_counts_words_removed_and_added(before, after, words):
    assert edit_size_words(before, after) == words


def _samples(*groups):
    """(confidence, count, approved unchanged among them) → samples."""
    out = []
    for confidence, count, approved in groups:
        out += [(confidence, True)] * approved + [(confidence, False)] * (count - approved)
    return out


def test_threshold_is_the_lowest_confidence_with_95_percent_approved():
    samples = _samples((0.95, 10, 10), (0.90, 10, 10), (0.85, 10, 9), (0.80, 10, 6))
    # >=0.95: 10/10 (too few); >=0.90: 20/20; >=0.85: 29/30 = 96.7%; >=0.80: 35/40 = 87.5%.
    suggestion = suggested_threshold(samples)
    assert suggestion.threshold == 0.85
    assert (suggestion.rests_on, suggestion.reviewed, suggestion.approved_unchanged) == (30, 40, 29)


def test_threshold_takes_the_lowest_level_even_past_a_worse_one():
    samples = _samples(
        (0.95, 10, 10), (0.90, 10, 10), (0.85, 10, 9), (0.80, 10, 6), (0.5, 200, 200)
    )
    # >=0.5: 235/240 = 97.9%, although >=0.80 alone is only 87.5%.
    suggestion = suggested_threshold(samples)
    assert (suggestion.threshold, suggestion.rests_on) == (0.5, 240)


def test_exactly_95_percent_is_enough_and_just_below_is_not():
    assert suggested_threshold(_samples((0.7, 20, 19))).threshold == 0.7
    below = suggested_threshold(_samples((0.7, 40, 37)))  # 92.5%
    assert below.threshold is None
    assert below.enough_data


def test_not_enough_data_below_the_minimum():
    suggestion = suggested_threshold(_samples((0.9, 19, 19)))
    assert suggestion.threshold is None
    assert (suggestion.reviewed, suggestion.enough_data) == (19, False)
    assert suggested_threshold([]).reviewed == 0
    assert suggested_threshold(_samples((0.9, 5, 5)), minimum=5).threshold == 0.9
    assert (
        suggested_threshold(_samples((0.9, 4, 3)), target=Fraction(3, 4), minimum=4).threshold
        == 0.9
    )


def test_prompt_quality_groups_by_key_and_version():
    def o(key, version, kind, reason="", words=None):
        return ReviewOutcome(
            workspace_id=1,
            prompt_key=key,
            prompt_version=version,
            confidence=0.5,
            kind=kind,
            reason=reason,
            edit_words=words,
        )

    rows = prompt_quality(
        [
            o("reply", "v2", APPROVE),
            o("reply", "v1", APPROVE),
            o("reply", "v2", EDIT, words=4),
            o("reply", "v2", EDIT, words=7),
            o("reply", "v2", REJECT, "wrong_tone"),
            o("reply", "v2", REJECT, "wrong_facts"),
            o("reply", "v2", REJECT, "wrong_tone"),
            o("reply", "v1", REJECT),
        ]
    )
    assert rows == [
        PromptQuality(
            "reply", "v1", approved=1, edited=0, rejected=1, rejected_by_reason={"unspecified": 1}
        ),
        PromptQuality(
            "reply",
            "v2",
            approved=1,
            edited=2,
            rejected=3,
            edit_words_total=11,
            rejected_by_reason={"wrong_tone": 2, "wrong_facts": 1},
        ),
    ]
    assert rows[1].mean_edit_words == 5.5
    assert rows[1].reviewed == 6
    assert rows[0].mean_edit_words is None


@pytest.fixture
def reviewed(tenant, other_tenant):
    """Reviews in the last 30 days (and some that must not count)."""
    now = timezone.now()
    email = tenant.email_channel
    user = tenant.operator

    def draft(channel=email, confidence=0.9, version="v2", **kw):
        return make_draft(
            channel,
            created_at=now - timedelta(days=2),
            auto_send_confidence=confidence,
            prompt_key="reply",
            prompt_version=version,
            **kw,
        )

    for _ in range(19):
        review(draft(), user, APPROVE, at=now - timedelta(days=1))
    # Edited: with a learning sample (the text the operator saw), and without one.
    edited = draft(text="Our hours are 9 to 5 daily", original_text="Hours are 9-5")
    review(
        edited,
        user,
        EDIT,
        at=now - timedelta(days=1),
        final_text="Our hours are 9 to 6 daily",
        sample_original="Our hours are 9 to 5 daily",
    )
    plain_edit = draft(confidence=0.8, original_text="Yes we do day passes")
    review(plain_edit, user, EDIT, at=now - timedelta(days=1), final_text="Yes, we sell day passes")
    # The latest action is the outcome: rejected first, then approved → approved.
    changed_mind = draft(confidence=0.8)
    review(changed_mind, user, REJECT, reason="wrong_tone", at=now - timedelta(days=3))
    review(changed_mind, user, APPROVE, at=now - timedelta(days=2))
    review(
        draft(confidence=0.3, version="v1"),
        user,
        REJECT,
        reason="wrong_facts",
        at=now - timedelta(days=4),
    )
    # Older than 30 days: not counted.
    review(draft(confidence=0.2), user, REJECT, reason="other", at=now - timedelta(days=31))
    # Reviewed without a confidence (auto-send never evaluated it): quality yes, threshold no.
    review(draft(confidence=None), user, APPROVE, at=now - timedelta(hours=1))
    # Another workspace.
    other = draft(channel=other_tenant.email_channel, confidence=0.99)
    review(other, other_tenant.operator, APPROVE, at=now - timedelta(hours=2))
    return now


def test_review_outcomes_and_quality_from_the_database(reviewed, django_assert_num_queries):
    with django_assert_num_queries(1):
        outcomes = review_outcomes(now=reviewed)
    rows = prompt_quality(outcomes)
    assert [(q.prompt_version, q.approved, q.edited, q.rejected) for q in rows] == [
        ("v1", 0, 0, 1),
        ("v2", 19 + 1 + 1 + 1, 2, 0),  # both workspaces: prompts are global
    ]
    v2 = rows[1]
    # "…9 to 5…" → "…9 to 6…" is 2 words; "Yes we do day passes" → "Yes, we sell day passes" is
    # 4 ("Yes"→"Yes," and "do"→"sell").
    assert v2.mean_edit_words == 3.0
    assert rows[0].rejected_by_reason == {"wrong_facts": 1}


def test_threshold_suggestions_per_workspace(reviewed, tenant, other_tenant):
    suggestions = threshold_suggestions(review_outcomes(now=reviewed, edit_sizes=False))
    mine = suggestions[tenant.workspace.pk]
    # With a confidence: 0.9 x 19 approved + 1 edited; 0.8: 1 approved, 1 edited; 0.3: rejected.
    # >=0.9: 19/20 = 95% → the lowest level that holds (>=0.8: 20/22 = 90.9%).
    assert (mine.threshold, mine.rests_on, mine.reviewed, mine.approved_unchanged) == (
        0.9,
        20,
        23,
        19,
    )
    theirs = suggestions[other_tenant.workspace.pk]
    assert (theirs.threshold, theirs.reviewed, theirs.enough_data) == (None, 1, False)


def test_quality_page_shows_the_figures(client, superadmin, reviewed, tenant):
    client.force_login(superadmin)
    body = client.get("/ops/quality/").content.decode()
    assert "3.0 words" in body
    assert "wrong_facts 1" in body
    assert 'suggested <strong class="num">0.90</strong> · rests on 20 drafts' in body
    assert "not enough data (1 of 20 reviewed drafts)" in body
