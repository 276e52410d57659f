"""Text folding for the safety gate: one canonical form for every way of writing a word.

The gate's rules are phrase patterns; this module makes sure "STOP" in fullwidth or Cyrillic
letters, "s t o p", "st0p", "stooop", "🛑" and "unsubsribe" all reach them as plain words.
The steps: unicode look-alikes, case, accents and zero-width characters (`fold`), leetspeak
(`undo_leet`), then contractions, texting shorthand, misspellings and clause splitting
(`canonical_clauses`); `canonical_variants` runs them all the way the gate does.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

# The gate reads at most this many characters of a message or subject.
MAX_CHARS = 20_000

# Letters that look Latin but are not (Cyrillic, Greek), used to slip past word filters.
_CONFUSABLES = str.maketrans(
    {
        "\u0430": "a", "\u0435": "e", "\u043e": "o", "\u0440": "p", "\u0441": "c",
        "\u0443": "y", "\u0445": "x", "\u0456": "i", "\u0458": "j", "\u0455": "s",
        "\u0501": "d", "\u04bb": "h", "\u04cf": "l", "\u051b": "q", "\u051d": "w",
        "\u0261": "g", "\u0410": "A", "\u0412": "B", "\u0415": "E", "\u041a": "K",
        "\u041c": "M", "\u041d": "H", "\u041e": "O", "\u0420": "P", "\u0421": "C",
        "\u0422": "T", "\u0425": "X", "\u0423": "Y", "\u0406": "I", "\u0405": "S",
        "\u0408": "J", "\u03b1": "a", "\u03bf": "o", "\u03b5": "e", "\u03b9": "i",
        "\u03ba": "k", "\u03bd": "v", "\u03c1": "p", "\u03c4": "t", "\u03c5": "u",
        "\u0391": "A", "\u0392": "B", "\u0395": "E", "\u0397": "H", "\u0399": "I",
        "\u039a": "K", "\u039c": "M", "\u039d": "N", "\u039f": "O", "\u03a1": "P",
        "\u03a4": "T", "\u03a5": "Y", "\u03a7": "X", "\u0396": "Z", "\u2019": "'",
        "\u2018": "'", "`": "'", "\u00b4": "'", "\u02bc": "'", "\u2032": "'", "\u201c": '"',
        "\u201d": '"', "\u2014": " - ", "\u2013": " - ", "\u2026": ".",
    }
)  # fmt: skip
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff]")
_EMOJI_WORDS = {
    "🛑": " stop ",
    "⛔": " stop ",
    "🚫": " stop ",
    "😡": " angryemoji ",
    "🤬": " angryemoji ",
    "😠": " angryemoji ",
    "👿": " angryemoji ",
    "🖕": " angryemoji ",
    "💩": " angryemoji ",
}

_CONTRACTIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), r)
    for p, r in (
        (r"\bwon'?t\b", "will not"),
        (r"\bcan'?t\b", "can not"),
        (r"\bcannot\b", "can not"),
        (r"\bain'?t\b", "is not"),
        (r"n't\b", " not"),
        (r"\b(it|he|she|that|what|who|there|where|how|here|this)'s\b", r"\1 is"),
        (r"\blet's\b", "let us"),
        (r"'re\b", " are"),
        (r"'ve\b", " have"),
        (r"'ll\b", " will"),
        (r"\bi'm\b", "i am"),
        (r"'d\b", " would"),
        (r"'s\b", ""),
    )
)

# Texting shorthand, apostrophe-less contractions and misspellings seen in the wild.
_ALIASES: dict[str, str] = {
    "u": "you", "ya": "you", "yu": "you", "yall": "you all", "ur": "your", "youre": "you are",
    "r": "are", "pls": "please", "plz": "please", "plse": "please", "pleas": "please",
    "pleae": "please", "pleez": "please", "pleeze": "please", "plez": "please", "plss": "please",
    "dont": "do not", "doesnt": "does not", "didnt": "did not", "cant": "can not",
    "cannot": "can not", "wont": "will not", "isnt": "is not", "arent": "are not",
    "wasnt": "was not", "werent": "were not", "havent": "have not", "hasnt": "has not",
    "hadnt": "had not", "shouldnt": "should not", "wouldnt": "would not",
    "couldnt": "could not", "aint": "is not", "im": "i am", "ive": "i have",
    "youve": "you have", "theyre": "they are", "thats": "that is", "whats": "what is",
    "whos": "who is", "hes": "he is", "shes": "she is", "gonna": "going to",
    "wanna": "want to", "gotta": "got to", "lemme": "let me", "gimme": "give me",
    "outta": "out of", "msg": "message", "msgs": "messages", "mssg": "message",
    "txt": "text", "txts": "texts", "txting": "texting",
    "thx": "thanks", "thnx": "thanks", "thanx": "thanks", "ty": "thank you",
    "mgr": "manager", "supe": "supervisor", "atty": "attorney", "attny": "attorney",
    "lawer": "lawyer", "laywer": "lawyer", "lawyr": "lawyer", "lwyer": "lawyer",
    "unsub": "unsubscribe", "unsubs": "unsubscribe", "unsuscribe": "unsubscribe",
    "unsubcribe": "unsubscribe", "unsubscibe": "unsubscribe", "unscribe": "unsubscribe",
    "unsubscrive": "unsubscribe", "optout": "opt out", "optedout": "opted out",
    "stopall": "stop all", "stahp": "stop", "stopp": "stop", "spaming": "spamming",
    "spamed": "spammed", "harrass": "harass", "harras": "harass", "harrased": "harassed",
    "ppl": "people", "b4": "before", "ooo": "out of office", "oof": "out of office",
    "autoreply": "auto reply", "autoresponse": "auto response", "autorespond": "auto reply",
    "autoresponder": "auto responder", "chatbot": "chat bot", "chatgpt": "chat gpt",
    "gtfo": "get the fuck out",
    "stfu": "shut the fuck up", "wtf": "what the fuck", "ffs": "for fucks sake",
    "alzheimer": "alzheimers", "hosp": "hospital", "dnd": "do not disturb",
    "reps": "rep", "convo": "conversation", "rmv": "remove", "dis": "this", "dat": "that",
}  # fmt: skip

# Long, distinctive words matched within an edit distance, so "unsubsribe" and "harrasment"
# count. Dictionary words that sit within the distance of a keyword are never rewritten.
_FUZZY: dict[str, int] = {
    "unsubscribe": 2,
    "harassment": 2,
    "harassing": 1,
    "attorney": 1,
    "ridiculous": 2,
    "unacceptable": 1,
    "undeliverable": 2,
    "instructions": 1,
    "supervisor": 1,
    "representative": 1,
    "bereavement": 2,
    "chemotherapy": 2,
    "condolences": 2,
    "unemployed": 1,
    "hospitalized": 1,
    "funeral": 1,
    "lawsuit": 1,
    "discount": 1,
}
_NEVER_FUZZ = frozenset(
    {
        "subscribe", "subscribed", "subscribes", "subscriber", "subscribers", "subscribing",
        "deliverable", "deliverables", "acceptable", "spanning", "slamming", "funerals",
        "general", "discounts", "attorneys", "supervisors", "instruction", "construction",
        "constructions", "representation", "representatives", "harnessing",
    }
)  # fmt: skip
_UNIT_TOKEN = re.compile(
    r"^\d+(?:kw|kwh|w|mw|wh|v|a|am|pm|st|nd|rd|th|s|k|x|yr|yrs|ft|sqft|mo|ah|mph|gb|mb|hr|hrs"
    r"|min|mins|sec|m|km|mi|lb|lbs|in|d|h)$"
)
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)


def _damerau(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance, giving up (limit + 1) once it cannot be <= limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


@cache
def _canonical_token(token: str) -> str:
    if token in _ALIASES:
        return _ALIASES[token]
    token = re.sub(r"([a-z])\1{2,}", r"\1", token)  # "stooop" -> "stop", "pleeease" -> "please"
    if token in _ALIASES:
        return _ALIASES[token]
    if len(token) >= 7 and token not in _NEVER_FUZZ and token.isalpha():
        for word, limit in _FUZZY.items():
            if token != word and _damerau(token, word, limit) <= limit:
                return word
    return token


def _join_spaced_letters(tokens: list[str]) -> list[str]:
    """ "s t o p" -> "stop": four or more single letters in a row are one word ("r u a bot"
    stays three words)."""
    out: list[str] = []
    run: list[str] = []
    for tok in [*tokens, ""]:
        if len(tok) == 1 and tok.isalpha():
            run.append(tok)
            continue
        if len(run) >= 4:
            out.append("".join(run))
        else:
            out.extend(run)
        run = []
        if tok:
            out.append(tok)
    return out


def fold(text: str) -> str:
    """Look-alike letters, emoji, case, accents and invisible characters brought to plain text."""
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS])
    text = _INVISIBLE.sub("", text).translate(_CONFUSABLES)
    for emoji, word in _EMOJI_WORDS.items():
        text = text.replace(emoji, word)
    text = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def undo_leet(folded: str) -> str:
    """Leetspeak undone ("st0p" -> "stop"); numbers, units ("10kw", "2nd") and tokens with
    fewer than two letters stay as written."""

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        letters = sum(ch.isalpha() for ch in word)
        if letters < 2 or letters == len(word) or _UNIT_TOKEN.match(word):
            return word
        if word.strip("0123456789") == "":
            return word
        return word.translate(_LEET)

    return re.sub(r"[a-z0-9@$]+", fix, folded)


def canonical_clauses(folded: str) -> str:
    """Folded text -> clauses of canonical tokens joined by " | "."""
    text = folded
    for pattern, repl in _CONTRACTIONS:
        text = pattern.sub(repl, text)
    text = text.replace("'", "")
    text = re.sub(r"\be-mail", "email", text)
    text = re.sub(r"(?<!\S)[^\s@]+@[^\s@]+\.[a-z]{2,}", " emailaddress ", text)
    text = re.sub(
        r"(?:https?://|www\.)\S+|\b[a-z0-9-]+\.(?:com|net|org|io|co|us|gov|edu)\b", " link ", text
    )
    text = re.sub(r"\b(stop|end|quit|cancel|unsubscribe)\d+([a-z]+)\b", r"\1 \2", text)
    text = re.sub(r"(\d)[.,:](?=\d)", r"\1_", text)  # 2.10, 30,000, 5.1.1, 10:30 stay one token
    text = re.sub(r"(?<=[a-z])&(?=[a-z])", "", text)  # pg&e -> pge
    text = text.replace("&", " and ").replace("%", " percent ").replace("#", " number ")
    text = text.replace("$", " dollar ")
    text = re.sub(r"[.!?;:,()\[\]{}<>\"/\\\n\r\t]+| - |-{2,}", " | ", text)
    text = re.sub(r"[^a-z0-9_| ]+", " ", text)
    clauses = []
    for clause in text.split("|"):
        tokens = _join_spaced_letters(clause.split())
        words = " ".join(_canonical_token(tok) for tok in tokens).split()
        if words:
            clauses.append(" ".join(words))
    return " | ".join(clauses)


def canonical_variants(text: str) -> tuple[str, list[str]]:
    """The folded text and its canonical forms (as written, and with leetspeak undone)."""
    folded = fold(text)
    canon = canonical_clauses(folded)
    variants = [canon]
    deleeted = undo_leet(folded)
    if deleeted != folded:
        other = canonical_clauses(deleeted)
        if other != canon:
            variants.append(other)
    return folded, variants
