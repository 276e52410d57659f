"""Using knowledge documents the way a careful writer would: which documents speak to a
question, and which of their sentences answer it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pipeline.availability import Window, availability_in
from pipeline.grounding import claims, keywords, sentences
from pipeline.language import expanded_keywords

Doc = Mapping[str, Any]

_BOOKING = frozenset({"book", "consult", "appointment", "schedul", "meeting", "demo", "visit"})
_NORM = re.compile(r"[^a-z0-9]+")
_AMOUNTS = ("number", "price")


def sentence_key(sentence: str) -> str:
    """A sentence compared without case, spacing or punctuation."""
    return _NORM.sub(" ", sentence.lower()).strip()


def doc_text(doc: Doc) -> str:
    return f"{doc.get('title', '')}. {doc.get('body', '')}"


def _weights(docs: Sequence[Doc]) -> dict[str, float]:
    """1 / (number of documents containing the word): a word every document uses ("install"
    at an installer) says little about which one answers."""
    counts: dict[str, int] = {}
    for doc in docs:
        for word in keywords(doc_text(doc)):
            counts[word] = counts.get(word, 0) + 1
    return {word: 1.0 / count for word, count in counts.items()}


def _score(
    wanted: frozenset[str],
    words: frozenset[str],
    weights: dict[str, float],
    literal: frozenset[str] = frozenset(),
) -> float:
    """Shared words, each weighted by rarity; a word the lead did not write but that only
    came in as an expansion ("price" for "cost") counts half."""
    return sum(
        weights.get(word, 1.0) * (1.0 if not literal or word in literal else 0.5)
        for word in wanted & words
    )


def doc_rank(question: str, docs: Sequence[Doc]) -> list[tuple[float, Doc]]:
    """Documents sharing words with the question, best first."""
    wanted, literal = expanded_keywords(question), keywords(question)
    weights = _weights(docs)
    ranked = []
    for doc in docs:
        # A distinctive title word the lead wrote counts double ("warranty" in "Warranty");
        # a word most documents share ("install" at an installer) or an expansion does not.
        distinctive = frozenset(w for w in literal if weights.get(w, 1.0) >= 1.0)
        score = _score(wanted, keywords(doc.get("body", "")), weights, literal) + 2 * _score(
            distinctive, keywords(doc.get("title", "")), weights
        )
        if score:
            ranked.append((score, doc))
    ranked.sort(key=lambda pair: -pair[0])
    return ranked


def booking_doc(docs: Iterable[Doc]) -> Doc | None:
    """The document that says how to book a meeting, if the knowledge has one."""
    best: tuple[int, Doc] | None = None
    for doc in docs:
        score = len(_BOOKING & keywords(doc_text(doc)))
        if score and (best is None or score > best[0]):
            best = (score, doc)
    return best[1] if best else None


def booking_windows(docs: Iterable[Doc]) -> tuple[Window, ...]:
    """When the booking document says meetings can happen. Only the booking document: the
    office's opening hours are not the hours a consultation can be held."""
    booking = booking_doc(docs)
    return availability_in([str(booking.get("body", ""))]) if booking is not None else ()


def word_weights(docs: Sequence[Doc]) -> dict[str, float]:
    """How much each word says about which document answers (see `_weights`)."""
    return _weights(docs)


def answer_sentences(question: str, docs: Sequence[Doc], *, limit: int) -> list[tuple[str, str]]:
    """Up to `limit` (sentence, doc id) pairs from `docs` that answer `question`, in the
    order they stand in their documents: the best sentence and any close to it (two thirds
    of its score). Rare words weigh more, numbers the lead mentioned weigh extra, and a
    sentence gains up to half a point from how well its whole document matches (so "what
    does a Powerwall cost" reads the battery document, not the general price list)."""
    wanted, literal = expanded_keywords(question), keywords(question)
    weights = _weights(docs)
    numbers = {claim.supports[-1] for claim in claims(question) if claim.kind in _AMOUNTS}
    doc_scores = {str(doc["id"]): score for score, doc in doc_rank(question, docs)}
    best_doc = max(doc_scores.values(), default=0.0) or 1.0
    scored: list[tuple[float, int, str, str]] = []
    position = 0
    for doc in docs:
        doc_id = str(doc["id"])
        for sentence in sentences(doc.get("body", "")):
            position += 1
            score = _score(wanted, keywords(sentence), weights, literal)
            if numbers:
                score += 2 * len(numbers & {c.supports[-1] for c in claims(sentence)})
            if score:
                score += 0.5 * doc_scores.get(doc_id, 0.0) / best_doc
                scored.append((score, position, sentence, doc_id))
    best = sorted(scored, key=lambda item: (-item[0], item[1]))[:limit]
    top = best[0][0] if best else 0.0
    chosen = [item for item in best if item[0] * 3 >= top * 2]
    chosen.sort(key=lambda item: item[1])
    return [(sentence, doc_id) for _, _, sentence, doc_id in chosen]


def booking_sentences(doc: Doc, *, limit: int, with_link: bool = False) -> list[str]:
    """The sentences of a booking document that say how to book (`with_link`: only if one
    of them gives a link to book at)."""
    found = [s for s in sentences(doc.get("body", "")) if _BOOKING & keywords(s)]
    if with_link and not any(c.kind == "link" for s in found for c in claims(s)):
        return []
    return found[:limit]


def sources_used(text: str, docs: Iterable[Doc]) -> list[str]:
    """Ids of the documents one of whose sentences the text contains."""
    body = sentence_key(text)
    used = []
    for doc in docs:
        if any(sentence_key(s) in body for s in sentences(doc.get("body", ""))):
            used.append(str(doc["id"]))
    return used


def grounded_sentences(text: str, docs: Iterable[Doc]) -> list[str]:
    """The sentences of `text` that stand in one of the documents."""
    known = {sentence_key(s) for doc in docs for s in sentences(doc.get("body", ""))}
    return [s for s in sentences(text) if sentence_key(s) in known]
