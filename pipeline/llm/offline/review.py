"""Offline evaluator, revision selector and reviser. The evaluator is conservative on
purpose: confidence is high only when every question is answered by a sentence that stands
in a source, nothing unsupported is stated or promised, the message carries no risk and the
text fits its channel."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pipeline.availability import WEEKDAYS, times_available
from pipeline.grounding import (
    COMMITMENT,
    claim_norms,
    fit_length,
    keywords,
    sentences,
    unsupported_claims,
)
from pipeline.language import EXPANSIONS, TimeMention, intents_detect, meeting_read, questions_in
from pipeline.llm.offline.sources import (
    Doc,
    answer_sentences,
    booking_doc,
    booking_windows,
    doc_text,
    grounded_sentences,
    sentence_key,
    sources_used,
    word_weights,
)
from pipeline.schemas import RISKY_INTENTS

CONFIDENT = 0.92


_NAME = re.compile(r"\b[A-Z][a-zA-Z]+\b")
_NOT_NAMES = frozenset({"I", "I'm", "I'd", "I'll", "Hi", "Hello", "Thanks", "OK", "Ok"})


def _names(sentence: str) -> list[str]:
    """Capitalised words past a sentence's first word: places, products, companies."""
    words = _NAME.findall(sentence)
    if words and sentence.lstrip().startswith(words[0]):
        words = words[1:]
    return [word for word in words if word not in _NOT_NAMES]


def _covered(question: str, answer_words: frozenset[str], weights: dict[str, float]) -> bool:
    """At least half of the question's content words (each with its expansions), weighed by
    how rare each is in the knowledge, appear in the grounded answer. Sharing words is not
    answering: "Does the system keep running during a blackout?" is not answered by a pricing
    sentence that mentions "system", nor "Do you install heat pumps?" by the service-area
    sentence because every document of an installer says "install"."""
    asked = keywords(question)
    if not asked:
        return bool(answer_words)

    def weight(word: str) -> float:
        return weights.get(word, 1.0)

    covered = [w for w in asked if (EXPANSIONS.get(w, frozenset()) | {w}) & answer_words]
    return 2 * sum(weight(w) for w in covered) >= sum(weight(w) for w in asked)


def _booking_offered(question: str, draft: str, grounded: list[str], docs: list[Doc]) -> bool:
    """A meeting request is answered by the booking document's sentences, and a time the
    lead proposed by the draft saying it is inside the hours that document states."""
    booking = booking_doc(docs)
    if booking is None or not meeting_read(question).wants_meeting:
        return False
    booking_keys = {sentence_key(s) for s in sentences(str(booking.get("body", "")))}
    if not any(sentence_key(s) in booking_keys for s in grounded):
        return False
    proposed = [t for t in meeting_read(question).times if t.specific]
    if not proposed:
        return True
    return times_available(proposed, booking_windows(docs)) and _days_named(proposed, draft)


def _days_named(proposed: list[TimeMention], draft: str) -> bool:
    """The draft speaks to each proposed time: it names its day."""
    said = draft.lower()
    return all((t.day or "").removesuffix("s") in said for t in proposed)


def _docs(inputs: Mapping[str, Any]) -> list[Doc]:
    return list(inputs.get("sources") or [])


def evaluation(inputs: Mapping[str, Any]) -> dict[str, Any]:
    message = str(inputs.get("message", ""))
    draft = str(inputs.get("draft", ""))
    docs = _docs(inputs)
    thread_texts = [str(t) for t in inputs.get("thread_texts") or [message]]
    max_chars = inputs.get("max_chars")
    caps: list[float] = [CONFIDENT]
    reasons: list[str] = []
    weaknesses: list[dict[str, str]] = []

    def weak(kind: str, detail: str, cap: float, reason: str) -> None:
        weaknesses.append({"kind": kind, "detail": detail})
        caps.append(cap)
        reasons.append(reason)

    flags = intents_detect(message)
    if "auto_reply" in flags or "bounce" in flags:
        weak("no_reply_needed", flags[0], 0.0, "An automatic reply or bounce needs no answer.")
    risky = [flag for flag in flags if flag in RISKY_INTENTS]
    if risky:
        weak("risky_message", ", ".join(risky), 0.1, f"The message needs a person ({risky[0]}).")

    allowed = claim_norms([doc_text(d) for d in docs] + [str(d.get("url") or "") for d in docs])
    allowed |= claim_norms(thread_texts)
    source_keys = {sentence_key(s) for doc in docs for s in sentences(doc.get("body", ""))}
    for sentence in sentences(draft):
        bad = unsupported_claims(sentence, allowed)
        if bad:
            weak("unsupported_claim", sentence, 0.3, f"States {bad[0].raw!r}, not in sources.")
        elif COMMITMENT.search(sentence) and sentence_key(sentence) not in source_keys:
            weak("unsupported_commitment", sentence, 0.5, "Promises something no source states.")

    grounded = grounded_sentences(draft, docs)
    questions = questions_in(message)
    meeting = meeting_read(message)
    if not grounded:
        weak("no_source", "", 0.5, "No sentence of the draft comes from a source.")
    answer_words = frozenset().union(*(keywords(sentence) for sentence in grounded))
    weights = word_weights(docs)
    unanswered = [
        q
        for q in questions
        if not (_covered(q, answer_words, weights) or _booking_offered(q, draft, grounded, docs))
    ]
    for question in unanswered:
        weaknesses.append({"kind": "unanswered_question", "detail": question})
        reasons.append("A question is not answered from the sources.")
    if questions and len(unanswered) == len(questions):
        caps.append(0.35)
    elif unanswered:
        caps.append(0.6)
    answer_text = " ".join(grounded).lower()
    available = times_available(meeting.times, booking_windows(docs))
    for question in questions:
        names = _names(question)
        if available:  # the draft's own sentence names the day (see `_booking_offered`)
            names = [n for n in names if n.lower().removesuffix("s") not in WEEKDAYS]
        if names and not any(name.lower() in answer_text for name in names):
            # "Do you serve Albuquerque?" answered with the service-area sentence: whether
            # that covers Albuquerque takes knowledge the sources do not state.
            weak(
                "unanswered_question",
                question,
                0.6,
                f"The question names {names[0]}, which the answer does not mention.",
            )
    proposed = [t for t in meeting.times if t.specific]
    if proposed and not (available and _days_named(proposed, draft)):
        caps.append(0.6)
        reasons.append("The lead proposed a specific time a person has to confirm.")
    if not questions and not meeting.wants_meeting and not grounded:
        caps.append(0.4)
        reasons.append("Nothing specific was asked; a generic reply.")
    if max_chars is not None and len(draft) > int(max_chars):
        weak("too_long", str(len(draft)), 0.4, f"Longer than {max_chars} characters.")
    confidence = round(min(caps), 2)
    if confidence >= CONFIDENT:
        reasons.append("Every question is answered from the sources; nothing unsupported.")
    return {"confidence": confidence, "reasons": reasons, "weaknesses": weaknesses}


def selector(inputs: Mapping[str, Any]) -> dict[str, Any]:
    evaluation_result = inputs["evaluation"]
    docs = _docs(inputs)
    fixes: list[dict[str, str]] = []
    weaknesses = evaluation_result.get("weaknesses", [])
    if any(w["kind"] in ("risky_message", "no_reply_needed") for w in weaknesses):
        return {"fixes": []}  # no edit makes such a reply safe to send unread
    for weakness in weaknesses:
        kind, detail = weakness["kind"], weakness["detail"]
        if kind in ("unsupported_claim", "unsupported_commitment"):
            fixes.append({"kind": "remove_sentence", "target": detail, "why": kind})
        elif kind == "unanswered_question" and answer_sentences(detail, docs, limit=1):
            fixes.append({"kind": "add_answer", "target": detail, "why": "a source answers it"})
        elif kind == "too_long":
            fixes.append({"kind": "shorten", "target": "", "why": f"{detail} characters"})
    return {"fixes": fixes}


def reviser(inputs: Mapping[str, Any]) -> dict[str, Any]:
    draft = str(inputs.get("draft", ""))
    docs = _docs(inputs)
    channel = str(inputs.get("channel", "email"))
    max_chars = inputs.get("max_chars")
    blocks = draft.split("\n\n")
    # Email drafts are greeting / body / sign-off; the body is the block facts go in.
    body_index = 1 if channel == "email" and len(blocks) >= 2 else 0
    applied: list[str] = []
    for fix in inputs.get("fixes") or []:
        kind, target = fix["kind"], fix["target"]
        if kind == "remove_sentence" and target:
            for index, block in enumerate(blocks):
                kept = [s for s in sentences(block) if sentence_key(s) != sentence_key(target)]
                if len(kept) != len(sentences(block)):
                    blocks[index] = " ".join(kept)
                    applied.append(f"removed: {target}")
        elif kind == "add_answer":
            for sentence, _doc_id in answer_sentences(target, docs, limit=1):
                if sentence_key(sentence) not in sentence_key(draft):
                    blocks[body_index] = f"{blocks[body_index]} {sentence}".strip()
                    applied.append(f"added an answer to: {target}")
    text = "\n\n".join(block for block in blocks if block.strip())
    if max_chars is not None and len(text) > int(max_chars):
        text = fit_length(text, int(max_chars))
        applied.append("shortened")
    return {"text": text, "applied": applied, "source_ids": sources_used(text, docs)}
