"""Rule-based readings of what a lead wrote: intents and risks, questions, proposed meeting
times, timezones, and the keyword expansions retrieval uses.

Patterns are written for categories of phrasing (any opt-out, any legal threat…), not for
particular sentences. The offline provider and the fact extractor share them; the hard-block
gate of auto-send is separate and stricter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pipeline.grounding import STOPWORDS, keywords, sentences, stem

_I = re.IGNORECASE

_DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"

# Checked in this order; the first that matches is the message's intent, all are risk flags.
INTENT_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "bounce",
        re.compile(
            r"delivery status notification|undeliverable|mail delivery (failed|subsystem)"
            r"|address not found|mailer-daemon|(wasn't|was not|could not be|couldn't be) "
            r"delivered|delivery (has )?failed|returned mail|recipient address rejected",
            _I,
        ),
    ),
    (
        "auto_reply",
        re.compile(
            r"out of (the )?office|automatic reply|auto[- ]?reply|autoreply|\booo\b"
            r"|\bon (annual |parental |sick )?(vacation|holiday|leave|pto)\b"
            r"|limited access to (my )?e-?mail|away from (my )?(desk|e-?mail)"
            r"|(i'm|i am) currently (away|out)|(upon|when) (i|my) return",
            _I,
        ),
    ),
    (
        "injection",
        re.compile(
            r"ignore (all |any )?(of )?(your |the |my )?(previous|prior|above|earlier|system) "
            r"(instructions|prompts?|messages?|rules)|system prompt|disregard (all |any |your )?"
            r"(previous |prior |earlier )?(instructions|rules)|developer mode|jailbreak"
            r"|reveal your (instructions|prompt|rules)|you are now (a|an|in)\b",
            _I,
        ),
    ),
    (
        "legal",
        re.compile(
            r"\b(attorneys?|lawyers?|lawsuits?|sue|suing|legal action|litigation|tcpa|fcc|ftc"
            r"|attorney general|small claims|cease and desist|class action|better business "
            r"bureau|bbb)\b|\breport (you|this|your company) to\b",
            _I,
        ),
    ),
    (
        "threat",
        re.compile(
            r"\bcall(ing)? the (police|cops)\b|\brestraining order\b|\bpress charges\b"
            r"|\btrespass\w*|\b(i'll|i will) (hurt|shoot|kill|come after|make you)\b"
            r"|\byou('ll| will) regret\b|\bget off my property\b",
            _I,
        ),
    ),
    (
        "opt_out",
        re.compile(
            r"^\W*(stop|stopall|end|quit|cancel|unsubscribe|remove)\W*$|\bunsubscribe\b"
            r"|\bopt(ed)?[- ]?out\b|\bremove me\b|\btake me off\b|\bplease stop\b"
            r"|\b(lose|delete|erase|forget) my (number|email|info|details|data|contact)\b"
            r"|\bdo ?n[o']?t (ever )?(contact|text|call|email|e-mail|message|bother) me\b"
            r"|\b(stop|quit|cease) (texting|calling|emailing|messaging|contacting|sending|"
            r"bothering|spamming)\b"
            r"|\bno more (texts|emails|messages|calls)\b|\bleave me alone\b"
            r"|\bnot interested\b",
            _I,
        ),
    ),
    (
        "sensitive",
        re.compile(
            r"\b(passed away|died|funeral|bereave\w*|widow\w*|cancer|chemo\w*|hospital\w*"
            r"|hospice|terminal(ly)? ill|diagnos\w*|surgery|grieving|miscarriage|rehab"
            r"|lost my (job|husband|wife|partner|mom|mother|dad|father|son|daughter|home|house)"
            r"|laid off|unemployed|can'?t afford|bankrupt\w*|divorc\w*|foreclos\w*)\b",
            _I,
        ),
    ),
    (
        "complaint",
        re.compile(
            r"\b(harass\w*|furious|angry|terrible|awful|horrible|ridiculous|unacceptable"
            r"|disgust\w*|spam\w*|scam\w*|worst|complain\w*|rude|incompetent|fed up|sick of"
            r"|fraud\w*|ripped off|rip-?off|cracked|damaged|broke my|ruined|refund"
            r"|(nobody|no one|no-one) (calls|called|answers|answered|responds|responded|"
            r"gets back)|never (called|responded|answered|showed))\b",
            _I,
        ),
    ),
    (
        "wrong_person",
        re.compile(
            r"\bwrong (number|person|email|guy|address|contact)\b|\bdon'?t know (who|any)\b"
            r"|\bnever (filled|signed up|requested|asked for|gave you)\b|\bwho is this\b"
            r"|\bnot who you think\b|\bno one (here )?by that name\b|\bnot (him|her)\b",
            _I,
        ),
    ),
    (
        "human_request",
        re.compile(
            r"\b(real|actual|live) (person|human|agent|rep|representative)\b"
            r"|\b(talk|speak) (to|with) (a |an )?(person|human|someone|somebody|agent|"
            r"representative|rep)\b|\b(are you|is this) (a |an )?(bot|robot|ai|automated|"
            r"machine|real)\b|\bautomated (message|text|reply|response)\b"
            r"|\b(your|a|the) (manager|supervisor|boss|owner)\b|\bhumans?\b"
            r"|\bcall me (directly|personally)\b",
            _I,
        ),
    ),
    (
        "existing_customer",
        re.compile(
            r"\balready (signed|a customer|bought|purchased|installed|paid|have (a|your|an)|"
            r"working with you|with you)\b|\bexisting customer\b|\bwhy am i still getting\b"
            r"|\b(i'm|i am) (already )?(a|your) customer\b|\bmy (current )?(installation|"
            r"system|account|contract) (with you|from you)\b",
            _I,
        ),
    ),
    (
        "commitment_request",
        re.compile(
            r"\b(beat|match|undercut|price[- ]match)\b.{0,30}\b(price|quote|offer|that|it)\b"
            r"|\bprice[- ]match\b|\bdiscount\w*|\bcoupon\b|\bpromo(tion)? code\b|\bwaive\w*"
            r"|\bfor free\b|\bin writing\b|\bguarantee (me|that|it)\b|\bquoted me\b"
            r"|\bcheaper than\b|\blower (price|rate)\b|\bbest (price|deal)\b",
            _I,
        ),
    ),
)

_INTEREST = re.compile(
    r"\b(interested|tell me more|more (info|information|details)|sounds good|learn more"
    r"|sign me up|i'?m in|let'?s do it|curious)\b",
    _I,
)
_QUESTION_START = re.compile(
    r"^\W*(how|what|when|where|which|who|why|do|does|did|is|are|can|could|would|will"
    r"|should|may|any|have you|tell me|let me know|i'?d like to (know|book|schedule)"
    r"|i want to (know|book|schedule)|wondering|please (send|share|tell))\b",
    _I,
)
# "call" alone is also how a lead asks for the phone number ("what number can I call?"):
# only a call proposed counts.
_MEETING = re.compile(
    r"\b((a|the) (quick |short |phone |video )?call|call me|calls? (on|at|this|next)"
    r"|meet|meeting|appointment|consult\w*|visit|book\w*|schedul\w*"
    r"|availab\w*|demo|zoom|video|come (out|by|over)|stop by|what times|time slot|slots?"
    r"|works for me|site survey|in person)\b",
    _I,
)
_DAY = re.compile(
    rf"\b({_DAYS})s?\b|\b(tomorrow|today|tonight|next week|this week|weekend)\b"
    r"|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? \d{1,2}(st|nd|rd|th)?\b",
    _I,
)
_OFFER = re.compile(
    r"\b(works?|how about|what about|can we|could we|let'?s|free|available|good for me"
    r"|suits? me|ok(ay)? for me|i can do)\b",
    _I,
)
_VAGUE_DAYS = frozenset({"next week", "this week", "weekend"})
_PART_OF_DAY = re.compile(r"\b(morning|afternoon|evening|noon|lunch ?time|midday|night)\b", _I)
_CLOCK = re.compile(
    r"\b\d{1,2}(:\d{2})?\s*(am|pm|a\.m\.|p\.m\.)|\b\d{1,2}:\d{2}\b|\b(at|around) \d{1,2}\b", _I
)
_MODE = (
    ("video", re.compile(r"\b(video|zoom|teams|google meet|facetime|webex)\b", _I)),
    (
        "in_person",
        re.compile(
            r"\b(visit|come (out|by|over)|stop by|in person|at (my )?(home|house|place)|"
            r"site survey|on site)\b",
            _I,
        ),
    ),
    ("call", re.compile(r"\b(call|phone|ring)\b", _I)),
)

TIMEZONES: dict[str, str] = {
    "eastern": "America/New_York",
    "central": "America/Chicago",
    "mountain": "America/Denver",
    "arizona": "America/Phoenix",
    "pacific": "America/Los_Angeles",
    "alaska": "America/Anchorage",
    "hawaii": "Pacific/Honolulu",
    "E": "America/New_York",
    "C": "America/Chicago",
    "M": "America/Denver",
    "P": "America/Los_Angeles",
}
_TZ_NAMED = re.compile(
    r"\b(eastern|central|mountain|arizona|pacific|alaska|hawaii)( standard| daylight)? time\b", _I
)
_TZ_ABBR = re.compile(r"\b([ECMP])[SD]?T\b")  # EST, PDT, MT … (case-sensitive on purpose)
_TZ_IANA = re.compile(r"\b((?:America|Europe|Asia|Africa|Australia|Pacific)/[A-Z][A-Za-z_]+)\b")


def intents_detect(text: str) -> list[str]:
    """Every risk intent whose pattern matches, most serious first."""
    return [name for name, pattern in INTENT_RULES if pattern.search(text)]


def shows_interest(text: str) -> bool:
    return bool(_INTEREST.search(text))


def questions_in(text: str) -> list[str]:
    """The sentences that ask something (a question mark, a question word, a request)."""
    return [s for s in sentences(text) if "?" in s or _QUESTION_START.search(s)]


def timezone_mentioned(text: str) -> str | None:
    """An IANA timezone the text states ("I'm on Pacific time", "3pm EST")."""
    match = _TZ_IANA.search(text)
    if match:
        return match.group(1)
    match = _TZ_NAMED.search(text)
    if match:
        return TIMEZONES[match.group(1).lower()]
    match = _TZ_ABBR.search(text)
    if match:
        return TIMEZONES[match.group(1)]
    return None


@dataclass(frozen=True)
class TimeMention:
    text: str
    day: str | None
    part_of_day: str | None
    clock_time: str | None

    @property
    def specific(self) -> bool:
        return time_is_specific(day=self.day, clock_time=self.clock_time)


def time_is_specific(*, day: str | None, clock_time: str | None) -> bool:
    """A time someone would have to confirm: a clock time, or a particular day (not "next
    week" or "the weekend")."""
    return bool(clock_time) or (day is not None and day not in _VAGUE_DAYS)


@dataclass(frozen=True)
class MeetingReading:
    wants_meeting: bool
    mode: str
    times: tuple[TimeMention, ...]
    timezone: str | None


@lru_cache(maxsize=4096)
def meeting_read(text: str) -> MeetingReading:
    times: list[TimeMention] = []
    for sentence in sentences(text):
        day = _DAY.search(sentence)
        part = _PART_OF_DAY.search(sentence)
        clock = _CLOCK.search(sentence)
        if not (day or part or clock):
            continue
        pieces = [m.group(0) for m in (day, part, clock) if m]
        times.append(
            TimeMention(
                text=" ".join(pieces),
                day=day.group(0).lower() if day else None,
                part_of_day=part.group(0).lower() if part else None,
                clock_time=clock.group(0).lower() if clock else None,
            )
        )
    # A time alone ("the fourth text this week") is no request; a time offered is.
    wants = bool(_MEETING.search(text)) or bool(times and _OFFER.search(text))
    mode = "unspecified"
    if wants:
        mode = next((name for name, pattern in _MODE if pattern.search(text)), "unspecified")
    return MeetingReading(
        wants_meeting=wants,
        mode=mode,
        times=tuple(times) if wants else (),
        timezone=timezone_mentioned(text),
    )


# Words a lead uses for things the knowledge names differently. Generic sales vocabulary,
# applied to stems on both sides; it widens retrieval and sentence choice, never the facts.
_EXPANSIONS_WORDS: dict[str, tuple[str, ...]] = {
    "cost": ("price", "pricing", "quote"),
    "price": ("cost", "pricing", "quote"),
    "expensive": ("price", "cost"),
    "cheap": ("price", "cost"),
    "afford": ("price", "financing", "loan"),
    "pay": ("financing", "loan", "price"),
    "payment": ("financing", "loan"),
    "monthly": ("financing", "loan"),
    "finance": ("financing", "loan", "lease"),
    "loan": ("financing",),
    "lease": ("financing",),
    "call": ("phone", "contact"),
    "meet": ("consultation", "book", "appointment"),
    "meeting": ("consultation", "book", "appointment"),
    "appointment": ("consultation", "book"),
    "visit": ("consultation", "home", "book"),
    "book": ("consultation", "appointment"),
    "schedule": ("consultation", "book"),
    "available": ("consultation", "book"),
    "availability": ("consultation", "book"),
    "times": ("consultation", "book"),
    "interested": ("consultation", "book"),
    "interest": ("consultation", "book"),
    "hours": ("open",),
    "open": ("hours",),
    "reach": ("contact", "phone", "email"),
    "contact": ("phone", "email"),
    "number": ("phone", "contact"),
    "house": ("home",),
    "come": ("visit", "home"),
    "long": ("weeks", "days", "timeline"),
    "start": ("timeline", "weeks"),
    "guarantee": ("warranty",),
    "warranty": ("guarantee",),
    "area": ("serve", "install"),
    "live": ("serve", "install"),
    "located": ("serve",),
    "extra": ("adds",),
}
_EXPANSIONS_BY_STEM: dict[str, tuple[str, ...]] = {
    stem(word): related for word, related in _EXPANSIONS_WORDS.items()
}
EXPANSIONS: dict[str, frozenset[str]] = {
    key: frozenset(stem(w) for w in related) for key, related in _EXPANSIONS_BY_STEM.items()
}
_WORD = re.compile(r"[a-z0-9]+")
_BOOKING_WORDS = ("consultation", "book", "appointment", "meeting")


@lru_cache(maxsize=4096)
def expanded_keywords(text: str) -> frozenset[str]:
    """The keywords of `text` plus their expansions."""
    base = keywords(text)
    extra: set[str] = set()
    for word in base:
        extra |= EXPANSIONS.get(word, frozenset())
    return base | extra


def search_terms(text: str, *, limit: int = 24) -> list[str]:
    """Words to search the knowledge for: the message's content words as written (the
    database applies its own stemming), their expansions, and booking words when the
    message asks for a meeting."""
    words = [w for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in STOPWORDS]
    extra = [related for word in words for related in _EXPANSIONS_BY_STEM.get(stem(word), ())]
    if meeting_read(text).wants_meeting:
        extra += list(_BOOKING_WORDS)  # a meeting request looks for how to book one
    return list(dict.fromkeys(words + extra))[:limit]
