"""Deterministic checks of a draft that a weak model cannot talk its way past.

A model's self-reported confidence is never enough to send a reply on its own: auto-send
also requires that the draft

- is a reply at all (not empty, not a fragment such as "D" or "No longer", not the model
  repeating its own instructions: "You write the reply Demo Co sends to a lead. Follow…"),
- is in the lead's language,
- answers the message (shares its subject: the question's words, or booking for a
  meeting request),
- states no number, price, link or email the workspace's knowledge does not state (a day
  may also come from the thread: "Thursday afternoon" echoed back), and makes no
  commitment ("we will", "guarantee", "beat that") no knowledge sentence makes,

and the verifier may only remove or soften what the draft says: a rewrite that adds a
sentence, a word of substance, a number or a commitment is rejected, and the draft is kept
as generated and held (`verifier_additions`).

Reasons are data (`CHECK_REASONS`): the code is recorded on the `final_draft` artifact and the
text becomes the draft's `held_reason`, which operators see in the queue.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from pipeline.grounding import (
    claim_norms,
    claims,
    commitments,
    keywords,
    sentences,
    stem,
)
from pipeline.language import expanded_keywords, meeting_read, questions_in
from pipeline.language_id import language_of
from pipeline.prompts import templates
from pipeline.schemas import RemovedClaim, VerifierOutput

EMPTY = "empty_draft"
FRAGMENT = "fragment_draft"
PROMPT_ECHO = "prompt_echo"
WRONG_LANGUAGE = "wrong_language"
UNANSWERED = "unanswered_message"
UNGROUNDED_CLAIM = "ungrounded_claim"
UNGROUNDED_COMMITMENT = "ungrounded_commitment"
VERIFIER_ADDED = "verifier_added_claims"

CHECK_REASONS: dict[str, str] = {
    EMPTY: "junk draft: the model returned an empty reply",
    FRAGMENT: "junk draft: a fragment, not a reply",
    PROMPT_ECHO: "junk draft: the model repeated its instructions",
    WRONG_LANGUAGE: "the draft is not in the lead's language",
    UNANSWERED: "the draft does not answer the message",
    UNGROUNDED_CLAIM: "the draft states a number, price, date or link the knowledge does not",
    UNGROUNDED_COMMITMENT: "the draft makes a commitment the knowledge does not",
    VERIFIER_ADDED: "the verifier's rewrite added claims not in the draft; the draft is kept",
}

MIN_BODY_WORDS = 3
# Consecutive words of a prompt's own text that make a draft an echo of its instructions (a
# reply may say "a colleague will follow up", never eight words of the prompt in a row).
ECHO_RUN_WORDS = 8
MIN_BODY_LETTERS = 12
# A commitment is grounded by a knowledge sentence holding this share of its content words.
COMMITMENT_SUPPORT = 0.8
# Words a verifier may add when it softens a claim ("about $19,000", "usually one day").
SOFTENERS = frozenset(
    stem(word)
    for word in [
        "about",
        "around",
        "approximately",
        "roughly",
        "usually",
        "typically",
        "generally",
        "may",
        "might",
        "can",
        "could",
        "often",
        "some",
        "most",
        "up",
        "estimate",
        "estimated",
        "likely",
        "possibly",
        "perhaps",
        "normally",
    ]
)
# Words that name booking, for a reply to a meeting request.
_BOOKING = frozenset(
    stem(word)
    for word in [
        "book",
        "booking",
        "consultation",
        "appointment",
        "schedule",
        "meeting",
        "call",
        "visit",
        "video",
    ]
)
_GREETING = re.compile(
    r"^\s*(?:hi|hello|hey|dear|good (?:morning|afternoon|evening))\b[^\n,!.:]{0,40}[,!.:]?",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"\n\s*(?:best regards|kind regards|warm regards|regards|best|thanks|thank you|cheers"
    r"|sincerely|all the best)\s*[,!.]?\s*(?:\n.*)?\Z",
    re.IGNORECASE | re.DOTALL,
)
_LETTER_WORD = re.compile(r"[^\W\d_]+")
_ECHO_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
# A `$placeholder` in a template: what fills it (the message, the knowledge) may be quoted.
_PLACEHOLDER = re.compile(r"\$\{?\w+\}?")


@dataclass(frozen=True)
class CheckFailure:
    code: str
    detail: str = ""

    @property
    def reason(self) -> str:
        """What operators read: the reason, with what tripped it."""
        text = CHECK_REASONS[self.code]
        return f"{text} ({self.detail})" if self.detail else text


def draft_body(text: str) -> str:
    """The draft without its greeting and sign-off: what actually says something."""
    body = _SIGN_OFF.sub("", text.strip())
    return _GREETING.sub("", body, count=1).strip()


def _word_runs(text: str) -> Iterator[tuple[str, ...]]:
    words = _ECHO_WORD.findall(text.lower())
    for start in range(len(words) - ECHO_RUN_WORDS + 1):
        yield tuple(words[start : start + ECHO_RUN_WORDS])


@cache
def _instruction_runs() -> frozenset[tuple[str, ...]]:
    """Every run of `ECHO_RUN_WORDS` words in the prompts' fixed text, every version (a
    placeholder ends a run: what fills it, the message or the knowledge, may be quoted)."""
    return frozenset(
        run
        for template in templates().values()
        for part in (template.system.template, template.user.template)
        for chunk in _PLACEHOLDER.split(part)
        for run in _word_runs(chunk)
    )


def draft_junk_check(text: str) -> CheckFailure | None:
    """Empty, the prompt's instructions repeated, or too little of a reply to be one: fewer
    than three words of letters in the body, or more symbols than letters (raw JSON, a number
    alone)."""
    if not text.strip():
        return CheckFailure(EMPTY)
    instructions = _instruction_runs()
    echoed = next((run for run in _word_runs(text) if run in instructions), None)
    if echoed is not None:
        return CheckFailure(PROMPT_ECHO, repr(" ".join(echoed)))
    body = draft_body(text)
    words = _LETTER_WORD.findall(body)
    letters = sum(len(word) for word in words)
    visible = len(re.sub(r"\s", "", body))
    if len(words) < MIN_BODY_WORDS or letters < MIN_BODY_LETTERS or 2 * letters < visible:
        return CheckFailure(FRAGMENT, repr(text.strip()[:40]))
    return None


def draft_language_check(text: str, *, message: str) -> CheckFailure | None:
    """Fails only on evidence: both languages are clear and they differ."""
    lead = language_of(message)
    reply = language_of(draft_body(text) or text)
    if lead is not None and reply is not None and lead != reply:
        return CheckFailure(WRONG_LANGUAGE, f"{reply}, the lead wrote {lead}")
    return None


def draft_answers_check(text: str, *, message: str) -> CheckFailure | None:
    """Every question (or the message, when it asks none) shares a content word with the
    reply, counting the generic synonyms retrieval uses ("cost" ~ "price"); a meeting
    request is answered by a reply about booking. A message with no content words has
    nothing to check."""
    reply = expanded_keywords(draft_body(text))
    if meeting_read(message).wants_meeting and reply & _BOOKING:
        return None
    for question in questions_in(message) or [message]:
        asked = expanded_keywords(question)
        if asked and not asked & reply:
            return CheckFailure(UNANSWERED, question[:80])
    return None


def _commitment_grounded(sentence: str, knowledge_sentences: Sequence[str]) -> bool:
    words = keywords(sentence)
    markers = {stem(word) for phrase in commitments(sentence) for word in phrase.split()}
    for source in knowledge_sentences:
        known = keywords(source)
        supported = words and len(words & known) >= COMMITMENT_SUPPORT * len(words)
        if supported and (markers & words) <= known:
            return True
    return False


def draft_claims_check(
    text: str,
    *,
    knowledge_texts: Sequence[str],
    workspace_texts: Sequence[str],
    thread_texts: Sequence[str],
) -> CheckFailure | None:
    """Numbers, prices, links and emails must stand in the knowledge (or the workspace's own
    name and guidelines); days may also come from the thread. Commitments must stand in a
    knowledge sentence: a lead asking "will you beat that in writing?" does not ground a
    reply that says "we will beat that in writing"."""
    stated = claim_norms([*knowledge_texts, *workspace_texts])
    days = stated | claim_norms(thread_texts)
    for claim in claims(text):
        allowed = days if claim.kind == "date" else stated
        if claim.norm not in allowed:
            return CheckFailure(UNGROUNDED_CLAIM, claim.raw[:60])
    knowledge_sentences = [s for t in knowledge_texts for s in sentences(t)]
    for sentence in sentences(text):
        if commitments(sentence) and not _commitment_grounded(sentence, knowledge_sentences):
            return CheckFailure(UNGROUNDED_COMMITMENT, sentence[:80])
    return None


def doc_texts(docs: Iterable[Mapping[str, Any]]) -> list[str]:
    """A knowledge document as the checks read it: title, body and link."""
    return [f"{d.get('title', '')}. {d.get('body', '')} {d.get('url') or ''}" for d in docs]


def draft_send_checks(
    *,
    text: str,
    message: str,
    knowledge: Sequence[Mapping[str, Any]],
    workspace_texts: Sequence[str],
    thread_texts: Sequence[str],
) -> list[CheckFailure]:
    """Every check the text fails, most basic first (an empty draft is only "empty")."""
    junk = draft_junk_check(text)
    if junk is not None:
        return [junk]
    found = [
        draft_language_check(text, message=message),
        draft_answers_check(text, message=message),
        draft_claims_check(
            text,
            knowledge_texts=doc_texts(knowledge),
            workspace_texts=workspace_texts,
            thread_texts=thread_texts,
        ),
    ]
    return [failure for failure in found if failure is not None]


# --- The verifier may only remove or soften -------------------------------------------------


def verifier_additions(draft: str, verified: str) -> list[str]:
    """The sentences of the verifier's text that say something the draft did not: a word of
    substance (softeners aside), a number or date, or a commitment not in the draft."""
    draft_words = keywords(draft) | SOFTENERS
    draft_claims = {claim.norm for claim in claims(draft)}
    draft_promises = set(commitments(draft))
    added = []
    for sentence in sentences(verified):
        if (
            keywords(sentence) - draft_words
            or {claim.norm for claim in claims(sentence)} - draft_claims
            or set(commitments(sentence)) - draft_promises
        ):
            added.append(sentence)
    return added


def verifier_rewrite_rejected(
    *, draft: str, verified: VerifierOutput
) -> tuple[str, list[RemovedClaim]] | None:
    """When the verifier added to the draft: the draft to keep instead, and the refused
    sentences as `removed` entries (reason `verifier_added_claims`), so the refusal stays
    on the verifier's artifact and a resumed run sees it."""
    added = verifier_additions(draft, verified.text)
    if not added:
        return None
    refused = [RemovedClaim(sentence=s[:300], claim="", reason=VERIFIER_ADDED) for s in added]
    return draft, refused


def draft_hold_reason(*, verified: VerifierOutput) -> str:
    """Why a just-verified draft must wait for a person whatever the evaluator says: junk,
    or a verifier rewrite that was refused. Empty when neither."""
    junk = draft_junk_check(verified.text)
    if junk is not None:
        return junk.reason
    if any(removed.reason == VERIFIER_ADDED for removed in verified.removed):
        return CHECK_REASONS[VERIFIER_ADDED]
    return ""
