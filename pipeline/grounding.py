"""Plain-text analysis that keeps drafts grounded: sentences, keywords, and the checkable
claims (prices, numbers, dates, links, emails) a draft may only make when its sources or the
thread make them too. Numbers count however they are written: "$12", "12 dollars" and
"twelve dollars" are the same price, and a price is only supported by a price (a "12-year
loan" does not support "twelve dollars").

Deterministic and provider-independent: the offline provider is built on it, and the
verifier stage re-applies `claims_enforce` to whatever a model returned, so a model that
misses an invented price still cannot get it into a draft.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

SMS_MAX_CHARS = 320

_URL = re.compile(r"https?://[^\s<>\"')\]]+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NUMBER = re.compile(
    r"(?<![\w.])(\$)?(\d+(?:[.,]\d+)*)(k\b)?(\s*(?:dollars?|bucks|usd)\b)?", re.IGNORECASE
)
_NUMBER_WORD = re.compile(r"[a-z]+", re.IGNORECASE)
_SMALL_NUMBERS: dict[str, int] = {
    name: value
    for value, name in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
        ]
    )
}
_TENS: dict[str, int] = {
    name: 10 * (index + 2)
    for index, name in enumerate(
        ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
    )
}
_SCALES: dict[str, int] = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_NUMBER_VALUES = frozenset(_SMALL_NUMBERS) | frozenset(_TENS) | frozenset(_SCALES)
_CURRENCY_WORDS = frozenset({"dollar", "dollars", "bucks", "usd"})
# What joins the words of one spelled-out number: "twenty-five", "two hundred".
_NUMBER_JOINERS = frozenset({" ", "-"})
_WEEKDAY = re.compile(
    r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|tonight)s?\b",
    re.IGNORECASE,
)
# "may" and "march" are also ordinary words: they count as dates only before a day number.
_MONTH = re.compile(
    r"\b(january|february|april|june|july|august|september|october|november|december"
    r"|(?:may|march)(?=\s+\d))\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9$])")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_DIGIT_LETTER = re.compile(r"(?<=\d)(?=[a-z])")

_STOPWORDS_TEXT = """
a about above after again all also am an and any are as at be been before being below
between both but by can could did do does doing down during each few for from further
had has have having he her here hers him his how i i'd i'll i'm i've if in into is it
it's its just me more most my no nor not now of off on once only or other our ours out
over own same she should so some such than that the their theirs them then there these
they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours yourself hi hello hey thanks thank
please guys get got would like want know let tell much many roughly really
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())

_SUFFIXES = (
    ("ations", ""),
    ("ation", ""),
    ("ings", ""),
    ("ing", ""),
    ("ies", "y"),
    ("ied", "y"),
    ("ed", ""),
    ("es", ""),
    ("ly", ""),
    ("s", ""),
)


def stem(word: str) -> str:
    """A light suffix stripper: the same word family lands on the same stem, which is all
    keyword overlap needs."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, replacement in _SUFFIXES:
        if (
            word.endswith(suffix)
            and len(word) - len(suffix) >= 3
            and not (suffix == "s" and word.endswith("ss"))
        ):
            word = word[: -len(suffix)] + replacement
            break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


@lru_cache(maxsize=8192)
def keywords(text: str) -> frozenset[str]:
    """Stems of the content words of `text` (numbers included; "7kW" is "7" and "kw", as
    "7 kW" is)."""
    return frozenset(
        stem(word.removesuffix("'s"))
        for word in _WORD.findall(_DIGIT_LETTER.sub(" ", text.lower()))
        if word not in STOPWORDS
    )


@lru_cache(maxsize=8192)
def sentences(text: str) -> tuple[str, ...]:
    """Sentences of a text, lines kept apart (a greeting line is its own sentence)."""
    found: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            found.extend(part.strip() for part in _SENTENCE_END.split(line) if part.strip())
    return tuple(found)


@dataclass(frozen=True)
class Claim:
    kind: str  # "link", "email", "number", "price", "date"
    raw: str
    norm: str  # a price's norm starts with "$": "$12"

    @property
    def supports(self) -> tuple[str, ...]:
        """The norms this claim, stated in a source, supports: a price also supports the
        bare number ("$19,000" lets a draft say "19,000"), never the other way round."""
        if self.kind == "price":
            return (self.norm, self.norm.removeprefix("$"))
        return (self.norm,)


def _number_norm(digits: str, thousands: bool) -> str:
    cleaned = digits.replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return cleaned
    if thousands:
        value *= 1000
    normalized = value.normalize()
    return format(normalized, "f")


def _spelled_numbers(text: str) -> list[Claim]:
    """Numbers written in words ("twelve", "twenty-five", "two hundred", "a thousand"), as
    number or price claims. A lone "one" is left alone: it is mostly a pronoun ("the one
    you asked about"), not an amount."""
    found: list[Claim] = []
    words = list(_NUMBER_WORD.finditer(text))
    index = 0
    while index < len(words):
        start = index
        group: list[str] = []
        while index < len(words):
            word = words[index].group(0).lower()
            joiner = text[words[index - 1].end() : words[index].start()].lower() if group else ""
            following = words[index + 1].group(0).lower() if index + 1 < len(words) else ""
            if word == "and" and group and group[-1] in _SCALES and following in _NUMBER_VALUES:
                index += 1  # "two hundred and ten"
                continue
            known = word in _NUMBER_VALUES or (word == "a" and following in _SCALES)
            if not known or (group and joiner not in _NUMBER_JOINERS):
                break
            group.append(word)
            index += 1
        if not group:
            index += 1
            continue
        if group == ["one"] or all(word in _SCALES for word in group):
            continue
        total = current = 0
        for word in group:
            if word in _SCALES:
                current = max(current, 1) * _SCALES[word]
                if _SCALES[word] >= 1000:
                    total, current = total + current, 0
            elif word != "a":
                current += _SMALL_NUMBERS.get(word, 0) + _TENS.get(word, 0)
        value = str(total + current)
        after = words[index].group(0).lower() if index < len(words) else ""
        end = words[index - 1].end()
        if after in _CURRENCY_WORDS and text[end : words[index].start()] in _NUMBER_JOINERS:
            end = words[index].end()
            found.append(Claim("price", text[words[start].start() : end], f"${value}"))
        else:
            found.append(Claim("number", text[words[start].start() : end], value))
    return found


@lru_cache(maxsize=8192)
def claims(text: str) -> tuple[Claim, ...]:
    """Every price, number, date, link and email address in `text`, normalised so "2.60" and
    "2.6", "$19,000" and "19000 dollars", or "12" and "twelve" compare equal."""
    found: list[Claim] = []
    rest = text
    for match in _URL.finditer(text):
        raw = match.group(0).rstrip(".,;:!?")
        found.append(Claim("link", raw, raw.lower().rstrip("/")))
    rest = _URL.sub(" ", rest)
    for match in _EMAIL.finditer(rest):
        raw = match.group(0).rstrip(".")
        found.append(Claim("email", raw, raw.lower()))
    rest = _EMAIL.sub(" ", rest)
    for match in _NUMBER.finditer(rest):
        norm = _number_norm(match.group(2), bool(match.group(3)))
        if match.group(1) or match.group(4):
            found.append(Claim("price", match.group(0).strip(), f"${norm}"))
        else:
            found.append(Claim("number", match.group(0), norm))
    found.extend(_spelled_numbers(rest))
    for match in _WEEKDAY.finditer(rest):
        found.append(Claim("date", match.group(0), match.group(1).lower()))
    for match in _MONTH.finditer(rest):
        found.append(Claim("date", match.group(0), match.group(1).lower()))
    return tuple(found)


# Promises a reply can make: future actions, guarantees, price matches, concessions,
# confirmations. A draft may only make one a source makes (see pipeline/draft_checks.py).
COMMITMENT = re.compile(
    r"\b(i'll|i will|we'll|we will|we can (?:offer|give|do|beat|match|guarantee|waive)"
    r"|i've (?:asked|passed|booked|shared|flagged|scheduled)|guarantee\w*|promis\w*"
    r"|confirm\w*|you're booked|you are booked|discount\w*|price[- ]match\w*"
    r"|beat (?:that|it|any|their|the|your)|match (?:that|it|any|their|the|your)|waive\w*"
    r"|for free|free of charge|at no (?:extra )?(?:cost|charge)|in writing|lock(?:ed)? in"
    r"|refund\w*|money[- ]back|follow up)\b",
    re.IGNORECASE,
)


def commitments(text: str) -> list[str]:
    """The commitment phrases in `text`, lowercased ("we will", "beat that", …)."""
    return [match.group(0).lower() for match in COMMITMENT.finditer(text)]


def claim_norms(texts: Iterable[str]) -> frozenset[str]:
    """What the given texts state: the set a draft's claims are checked against."""
    return frozenset(norm for text in texts for claim in claims(text) for norm in claim.supports)


def unsupported_claims(text: str, allowed: frozenset[str]) -> list[Claim]:
    return [claim for claim in claims(text) if claim.norm not in allowed]


@dataclass(frozen=True)
class Enforced:
    text: str
    removed: list[tuple[str, Claim]]  # (sentence, the first unsupported claim in it)
    shortened: bool


def _join_lines(lines: list[list[str]]) -> str:
    paragraphs = [" ".join(line) for line in lines if line]
    return "\n".join(paragraphs)


def claims_enforce(text: str, *, allowed: frozenset[str], max_chars: int | None) -> Enforced:
    """Drop every sentence that makes a claim not in `allowed`, then fit `max_chars` (SMS)
    by dropping sentences from the end, and cutting at a word as a last resort."""
    removed: list[tuple[str, Claim]] = []
    kept_lines: list[list[str]] = []
    for line in text.split("\n"):
        kept: list[str] = []
        for sentence in sentences(line):
            bad = unsupported_claims(sentence, allowed)
            if bad:
                removed.append((sentence, bad[0]))
            else:
                kept.append(sentence)
        kept_lines.append(kept)
    checked = _join_lines(kept_lines) if removed else text.strip()
    shortened = False
    if max_chars is not None and len(checked) > max_chars:
        checked = fit_length(checked, max_chars)
        shortened = True
    return Enforced(text=checked, removed=removed, shortened=shortened)


def fit_length(text: str, max_chars: int) -> str:
    """One paragraph of at most `max_chars`: whole sentences from the start while they fit;
    when not even the first two (greeting and answer) fit, the text cut at a word with an
    ellipsis."""
    parts = list(sentences(text))
    flat = " ".join(parts)
    if len(flat) <= max_chars:
        return flat
    kept: list[str] = []
    for part in parts:
        if len(" ".join([*kept, part])) > max_chars:
            break
        kept.append(part)
    if len(kept) >= 2:
        return " ".join(kept)
    cut = flat[: max_chars - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"
