"""The hard-block gate: deterministic rules, run before any LLM call, that keep a reply from
going out automatically.

It is built for categories of messages, not for sentences. The text is first brought to one
canonical form (unicode look-alikes, case, accents, zero-width characters, spaced-out letters,
"sooo" stretching, leetspeak, contractions, texting shorthand and common misspellings), split
into clauses, and then matched against phrase families per category. Each family is written
to leave its benign look-alikes alone ("stop by the office", "cancel the consultation time and
pick another", "a human-sized warranty"): a false block costs auto-send coverage, a missed one
sends an automatic reply to someone who should get a human or nothing at all.

Auto-replies and bounces get no reply at all (`no_reply`); every other block goes to review.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

GATE_VERSION = "2026-11-1"
MAX_CHARS = 20_000


class Category(StrEnum):
    AUTO_REPLY = "auto_reply"
    LEGAL_THREAT = "legal_threat"
    THREAT = "threat"
    SENSITIVE_SITUATION = "sensitive_situation"
    PROMPT_INJECTION = "prompt_injection"
    OPT_OUT = "opt_out"
    COMPLAINT = "complaint"
    WRONG_PERSON = "wrong_person"
    ALREADY_CUSTOMER = "already_customer"
    ASKS_FOR_HUMAN = "asks_for_human"
    UNSUPPORTED_COMMITMENT = "unsupported_commitment"


# When a message falls in several categories, the first one here is the reason shown.
PRIORITY: tuple[Category, ...] = tuple(Category)

REASONS: dict[Category, str] = {
    Category.AUTO_REPLY: "Automatic reply or delivery failure: no reply is sent.",
    Category.LEGAL_THREAT: "The sender mentions legal or regulatory action.",
    Category.THREAT: "The message contains a threat.",
    Category.SENSITIVE_SITUATION: "The sender describes a sensitive personal situation.",
    Category.PROMPT_INJECTION: "The message tries to instruct the AI.",
    Category.OPT_OUT: "The sender asked not to be contacted.",
    Category.COMPLAINT: "The sender is complaining or upset.",
    Category.WRONG_PERSON: "The sender says they are not the person we think.",
    Category.ALREADY_CUSTOMER: "The sender appears to be an existing customer.",
    Category.ASKS_FOR_HUMAN: "The sender asked for a human.",
    Category.UNSUPPORTED_COMMITMENT: (
        "The sender asks for a commitment (discount, price match, waived fee, guarantee)."
    ),
}


@dataclass(frozen=True)
class GateResult:
    blocked: bool
    category: str = ""
    reason: str = ""
    no_reply: bool = False
    # Every category that matched and the rule names: ids for telemetry, never the text.
    categories: tuple[str, ...] = ()
    rules: tuple[str, ...] = field(default=())


NOT_BLOCKED = GateResult(blocked=False)


# --- Normalisation ---------------------------------------------------------------------------

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


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS])
    text = _INVISIBLE.sub("", text).translate(_CONFUSABLES)
    for emoji, word in _EMOJI_WORDS.items():
        text = text.replace(emoji, word)
    text = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _deleet(folded: str) -> str:
    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        letters = sum(ch.isalpha() for ch in word)
        if letters < 2 or letters == len(word) or _UNIT_TOKEN.match(word):
            return word
        if word.strip("0123456789") == "":
            return word
        return word.translate(_LEET)

    return re.sub(r"[a-z0-9@$]+", fix, folded)


def _canonical(folded: str) -> str:
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


_QUOTE_START = re.compile(
    r"^\s*(?:on\b.{0,300}\bwrote:\s*$|-{2,}\s*(?:original message|forwarded message)|_{8,}\s*$"
    r"|from:\s.+|sent from my \w+|-- ?$|begin forwarded message)",
    re.IGNORECASE,
)


def strip_quoted(text: str) -> str:
    """The new part of an email reply: no "> " lines, nothing after "On … wrote:"."""
    lines = []
    for line in text[:MAX_CHARS].splitlines():
        if _QUOTE_START.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        lines.append(line)
    new = "\n".join(lines).strip()
    return new or text[:MAX_CHARS]


# --- Phrase families -------------------------------------------------------------------------

FILLER = (
    r"please|now|just|ok|okay|thanks|thank you|already|immediately|asap|right now|seriously"
    r"|i said|again|all|sir|maam|oh|hey|hi|hello|dude|man|guys|for good|lol|omg|it|this|that"
    r"|them|me|here|yes|no|so|really|for real|forever|permanently|bye|goodbye|period|damn it"
    r"|for fucks sake|god|jesus|whatever|sorry|anyway|anyways"
)


def clause(body: str) -> str:
    """`body` makes up a whole clause, give or take filler words ("stop please!!")."""
    return rf"(?:^|\| )(?:(?:{FILLER}) )*(?:{body})(?: (?:{body}|{FILLER}))*(?= \||$)"


def whole(body: str) -> str:
    """`body` is the whole message, give or take filler words and punctuation."""
    return rf"^(?:(?:{FILLER}) |\| )*(?:{body})(?: (?:{FILLER})| \|)*$"


ME = (
    r"(?:me|us|my (?:number|phone number|phone|cell(?: number)?|mobile(?: number)?|email"
    r"(?: address)?|info|information|name|details|contact(?: info| details| information)?|data"
    r"|address|personal (?:info|information|data|details))|this (?:number|email(?: address)?))"
)
# Verbs of reaching a person; "stop" + one of these is an opt-out on its own.
REACH_ING = (
    r"(?:texting|messaging|emailing|mailing|calling|ringing|phoning|contacting|reaching out"
    r"|bothering|pestering|spamming|harassing|hounding|bugging|dming|pinging|soliciting"
    r"|writing to (?:me|us)|hitting me up|blowing up my phone|following up|follow ups)"
)
CONTACT_VERB = (
    r"(?:text|texts|texting|message|messages|messaging|email|emails|emailing|mail|mailing"
    r"|call|calls|calling|ring|ringing|phone|phoning|contact|contacting|send|sending|reach"
    r"|reaching|bother|bothering|pester|pestering|spam|spamming|harass|harassing|hound"
    r"|hounding|bug|bugging|dm|dming|ping|pinging|sms|write|writing)"
)
MSGS = r"(?:texts?|messages?|calls?|emails?|voicemails?|sms|robocalls?|spam|marketing|promotions?)"
WRITTEN = r"(?:texts?|messages?|emails?|voicemails?|sms|robocalls?)"
LISTISH = (
    r"(?:(?:\w+ )?(?:list|lists|database|contacts|contact list|records|system|marketing"
    r"|newsletter|newsletters|campaign|crm|texts|emails|messages|calls|sms))"
)
PERSON_NOUN = (
    r"(?:husband|wife|mom|mother|dad|father|son|daughter|child|baby|kid|partner|spouse|brother"
    r"|sister|grandma|grandmother|grandpa|grandfather|family member|best friend|friend|fiance"
    r"|fiancee|boyfriend|girlfriend|uncle|aunt|parent|parents|loved one|grandson|granddaughter"
    r"|nephew|niece|cousin|in law|mother in law|father in law)"
)
# Anger at the utility, the weather or the government is a reason to buy, not a complaint.
UTILITY_TALK = (
    r"\b(?:utility|utilities|electric|electricity|power company|power bill|power bills|bill"
    r"|bills|pge|edison|rates|grid|outage|outages|blackout|blackouts|energy|heat|weather"
    r"|inflation|the power|my power|gas|winter|summer|coal|climate|tax credit|incentive"
    r"|incentives|rebate|rebates|credit|program|policy|government|city|county|state|law|nem"
    r"|net metering|hoa|landlord|neighbor|neighbors)\b"
)
FEE = (
    r"(?:(?:cancellation|permit|origination|dealer|setup|set up|installation|service|late"
    r"|processing|application|inspection|interconnection|design|admin|closing) )?(?:fee|fees"
    r"|charge|charges|deposit|down payment|interest|penalty|penalties|costs?)"
)


@dataclass(frozen=True)
class Rule:
    category: Category
    name: str
    pattern: re.Pattern[str]
    # A match is ignored when this matches the clause it sits in ("clause") or the message.
    unless: re.Pattern[str] | None = None
    unless_scope: str = "clause"


def _rules(category: Category, specs: Iterable[tuple[str, ...]]) -> list[Rule]:
    rules = []
    for name, pattern, *rest in specs:
        unless = re.compile(rest[0]) if rest else None
        rules.append(Rule(category, name, re.compile(pattern), unless))
    return rules


RULES: list[Rule] = []

# Auto-replies and bounces: strong markers anywhere; "out of office"-style ones only when the
# message asks nothing (a lead writing "I'm away until Monday, can we talk Tuesday?" is real).
RULES += _rules(
    Category.AUTO_REPLY,
    [
        (
            "auto_reply_marker",
            r"\b(?:automatic reply|automatic response|auto reply|auto response|auto responder"
            r"|auto generated (?:reply|response|message|email)|automatically generated"
            r"|this is an automat(?:ed|ic) (?:message|response|reply|email|notification)"
            r"|this (?:message|email|reply) (?:is|was) (?:sent )?automatically"
            r"|do not reply to this (?:email|message|address)|this is a no ?reply"
            r"|noreply|no reply address|respuesta automatica|reponse automatique"
            r"|automatische antwort|abwesenheitsnotiz|risposta automatica|fuera de la oficina"
            r"|absent du bureau|resposta automatica)\b",
        ),
        (
            "auto_reply_unmonitored",
            r"\b(?:this|the) (?:mailbox|inbox|email address|address|email account|email|number"
            r"|line) is (?:no longer|not) (?:being )?(?:monitored|active|in use|checked|read)\b",
        ),
        (
            "auto_reply_absence",
            r"\b(?:limited|no|intermittent|restricted|sporadic|minimal) (?:access to (?:my )?"
            r"(?:email|emails|inbox|phone|messages)|email access|internet access)"
            r"|\b(?:in my absence|during my absence|for urgent (?:matters|issues|requests"
            r"|inquiries)"
            r"|if (?:this|your (?:matter|message|request)) is urgent"
            r"|(?:will|shall) (?:respond|reply|get back to you|answer|return your) (?:\w+ ){0,4}"
            r"(?:upon|on|after|when) (?:my|i|we) (?:return|am back|get back|are back)"
            r"|(?:upon|on) my return)\b",
        ),
        (
            "auto_reply_ack",
            r"\b(?:thank you|thanks) for (?:your|contacting|reaching out|the|writing)\b.*\b(?:will"
            r"|shall) (?:get back to you|respond|reply|be in touch|review)\b.*\b(?:as soon"
            r" as possible|shortly|within \w+ (?:business )?(?:hours|days|hour|day)|business days?"
            r"|next business)\b",
        ),
        (
            "auto_reply_driving",
            r"\b(?:do not disturb (?:while driving|turned on|is on|mode)"
            r"|driving with do not disturb"
            r"|i will see your message when i get)\b",
        ),
        (
            "bounce",
            r"\b(?:delivery status notification|delivery (?:has )?failed|delivery failure"
            r"|mail delivery (?:failed|failure|subsystem|system)|undeliverable|undelivered (?:mail"
            r"|message|email)|returned mail|returned to sender|failure notice"
            r"|(?:message|email|mail|sms|text)s? (?:\w+ ){0,4}(?:was not|were not|could not be"
            r"|has not been|have not been|can not be|was never) (?:successfully )?delivered"
            r"|message not delivered|address not found|user unknown|unknown user|no such user"
            r"|recipient (?:address )?(?:rejected|not found|unknown)|mailbox (?:unavailable|full"
            r"|not found|does not exist|is full|quota)|quota exceeded|over quota|mailer daemon"
            r"|postmaster|permanent (?:error|failure)|delivery to the following recipients? failed"
            r"|the email account that you tried|account (?:that you tried to reach )?(?:is disabled"
            r"|does not exist|has been disabled)|message (?:blocked|rejected|bounced)"
            r"|(?:number|line|phone)(?: \w+){0,4} (?:is |has been )?(?:no longer|not) in service"
            r"|(?:number|line) (?:\w+ ){0,4}has been disconnected|not a valid (?:mobile"
            r" |phone |cell )?number|(?:unable|failed) to deliver (?:your |the |this )?(?:message"
            r"|email|mail)|delivery incomplete|message could not be sent)\b",
        ),
    ],
)
RULES.append(
    Rule(
        Category.AUTO_REPLY,
        "auto_reply_away",
        re.compile(
            r"\b(?:i am|i will be|we are|currently|will be) (?:currently )?(?:away|out"
            r"|travell?ing|unavailable|on (?:annual |parental |maternity |paternity |medical |sick"
            r" |summer |holiday |christmas )?(?:leave|vacation|holiday|holidays|pto|sabbatical"
            r"|break)|out of the country|away from (?:the |my )?(?:office|desk|email|computer))\b"
            r"(?: (?:\w+|\|)){0,6} (?:until|till|through|thru|returning|back on|back in"
            r"|and will return"
            r"|and will be back|from)\b|\bout of (?:the )?office\b"
        ),
        unless=re.compile(
            r"\?|\b(?:can|could|would|should) (?:we|you|i)\b|\b(?:book|schedule|works|call me"
            r"|interested|quote|price|cost|how much|let us|appointment|consultation|visit"
            r"|available|free)\b"
        ),
        unless_scope="message",
    )
)

RULES += _rules(
    Category.LEGAL_THREAT,
    [
        (
            "legal_counsel",
            r"\b(?:attorney|attorneys|lawyer|lawyers|solicitor|solicitors|legal counsel|law firm"
            r"|law office|legal team|legal department|legal action|legal proceedings|legal steps"
            r"|legal recourse|legal advice|legal route|litigation|litigate|lawsuit|lawsuits"
            r"|law suit|class action|small claims|subpoena|cease and desist|legal notice"
            r"|take (?:this|it|you|the matter) legal|going legal|get legal)\b",
        ),
        (
            "legal_sue",
            r"\b(?:will|going to|want to|plan to|planning to|intend to|ready to|can|could|should"
            r"|would|might|to|and|gladly|happily|i|we) sue\b|\bsue (?:you|your|the|them|this|that"
            r"|for|him|her|every|everyone|you all|over|the pants)\b|\bsuing\b|\bsued\b",
        ),
        (
            "legal_court",
            r"\b(?:see you in court|(?:take|taking|drag|dragging) (?:you|this|them|it|your company"
            r"|you all) to court|court (?:case|action|order|date)|in court|to court)\b",
        ),
        (
            "legal_regulator",
            r"\b(?:tcpa|fcc|ftc|cfpb|bbb|better business bureau|attorney general"
            r"|consumer protection"
            r"|consumer affairs|do not call (?:list|registry|register)|dnc (?:list|registry)"
            r"|donotcall|ombudsman|trading standards|gdpr|ccpa|cpra|data protection|privacy law"
            r"|privacy laws|privacy act|telephone consumer|public service commission)\b",
        ),
        (
            "legal_report",
            r"\b(?:report|reporting|reported) (?:you|this|your|them|it|this number|the number"
            r"|you all)\b(?! (?:to me|for me|of))|\b(?:file|filing|filed|lodge|lodging|lodged|make"
            r"|submit|submitting) (?:a |an )?(?:formal |official )?complaint\b|\bformal complaint\b"
            r"|\bcomplaint (?:with|to|against) (?:the|your|you)\b",
        ),
        (
            "legal_illegal",
            r"\b(?:illegal|illegally|unlawful|unlawfully|against the law|breaking the law"
            r"|broke the law|violation|violations|violating|violates|violated|infringement"
            r"|infringing)\b",
            r"\b(?:is it|is that|would it be|would that be|is there|are there|are they|is this)"
            r" (?:\w+ )?(?:illegal|unlawful|against the law)|\b(?:hoa|code|codes|building|permit"
            r"|zoning|covenant|setback|fire code)\b",
        ),
        (
            "legal_consent",
            r"\b(?:i|we) (?:never|did not|have not) (?:ever )?(?:consent|consented|opt in|opted in"
            r"|give you (?:consent|permission)|gave (?:you )?(?:consent|permission)|authorize"
            r"|authorized)\b|\bwithout (?:my|our|any) (?:consent|permission)\b"
            r"|\b(?:contact|contacting|report|reporting|file with|filing with|complain to"
            r"|complaining to|call|calling|write to|writing to|notify|notifying|alert|alerting)"
            r" (?:the |your )?(?:state |local |county |california |nevada )?(?:licensing board"
            r"|contractors? board|license board|cslb|public utilit(?:y|ies) commission|puc"
            r"|department of consumer|consumer (?:agency|bureau)|regulator|regulators)\b"
            r"|\b(?:license|licence|licenses|licences) (?:\w+ ){0,2}(?:pulled|revoked|suspended"
            r"|taken away|yanked)\b|\b(?:pull|revoke|suspend|yank) your (?:license|licence)\b",
        ),
        (
            "legal_evidence",
            r"\b(?:keeping|kept|saving|saved|logging|documenting|collecting|gathering) (?:\w+ )?"
            r"(?:records|evidence|screenshots|a record|a log)\b"
            r"|\bscreenshot(?:s|ted|ting)? (?:of )?"
            r"(?:this|these|your|every|all)\b|\b\d[\d_]* (?:per|for (?:each|every)) (?:text"
            r"|call|message|violation)\b",
        ),
    ],
)

RULES += _rules(
    Category.THREAT,
    [
        (
            "threat_police",
            r"\b(?:call|calling|called|phone|contact|contacting|get|getting|involve|involving"
            r"|notify|notifying|send|sending|report (?:you|this|it) to) (?:the )?(?:police|cops"
            r"|cop|sheriff|authorities|law enforcement|911|feds)\b|\bpolice report\b"
            r"|\b(?:press|pressing|file|filing) charges\b|\brestraining order\b|\btrespass\w*"
            r"|\bget off my (?:property|land|porch|lawn|phone)\b"
            r"|\b(?:never|do not) (?:come|set foot|step|show up) (?:\w+ ){0,2}(?:to|on|near|at"
            r"|back to) my (?:house|home|property|door|land|street)\b"
            r"|\bcomes? (?:to|near|by) my (?:house|home|property|door) again\b",
        ),
        (
            "threat_violence",
            r"\b(?:kill|hurt|shoot|stab|punch|smack|slap|strangle|choke|murder|attack|beat up"
            r"|kick|bash|knock out|break|fight|destroy|ruin|end) (?:you|you all|him|her|them"
            r"|your (?:rep|guy|guys|salesman|salesperson|people|installer|installers|crew|team"
            r"|ass|face|head|family|kids|office|car|business|company|reputation|legs|neck|life)"
            r"|the next (?:guy|person|rep|one)|whoever|anyone|everyone)\b"
            r"|\bbeat (?:you|him|her|them) (?:up|senseless|down)\b|\bbeat the (?:hell|crap|shit)"
            r" out\b|\b(?:i have|i got|i own|i carry|grab|get|getting|bring) (?:a |my |the )?"
            r"(?:gun|guns|shotgun|rifle|pistol|weapon|knife)\b|\b(?:shotgun|rifle|pistol|firearm"
            r"|firearms|handgun|machete|ak47|ar15)\b"
            r"|\b(?:sic|set|release|unleash) (?:my|the) dogs?\b",
        ),
        (
            "threat_intimidation",
            r"\b(?:(?:and|then) (?:you will |we will )?see what happens|(?:keep|keeping) (?:it|this"
            r"|that) up and|(?:do|try) (?:that|this|it) again and|one more (?:text|message|call"
            r"|email|time) and|i will (?:come|show up|drive) (?:down |over |up )?to your (?:office"
            r"|house|home|business|headquarters)"
            r"|(?:have|get|getting) (?:you|them|him|her|your \w+) arrested|watch yourself"
            r"|do not make me (?:come|drive|show up|call|do|get)"
            r"|(?:better|best) watch (?:yourself|your back|it|out)|watch your back|you will regret"
            r"|(?:you|your \w+) (?:are|is) (?:going to|gonna) regret|bring (?:backup|back up|the"
            r" cops|a lawyer|your lawyer)|make sure (?:you|your \w+) (?:\w+ ){0,3}(?:pay|fired"
            r"|lose|loses|regret|shut down|go out of business)"
            r"|you will be sorry|you will pay|or else"
            r"|i know where you (?:live|work|are)|coming for you|come after you|find you"
            r"|track you down|hunt you down|make you pay|make your life|burn (?:it|your \w+)"
            r" down|burn down|bomb|blow (?:you|it|your \w+) up|you have been warned|final warning"
            r"|last warning|consider yourself warned|you are dead|dead man)\b",
        ),
        (
            "threat_reputation",
            r"\b(?:leave|leaving|write|writing|post|posting|give|giving) (?:you |your company )?"
            r"(?:a |an )?(?:bad|negative|terrible|horrible|scathing|1 star|one star|zero star"
            r"|0 star|awful) (?:review|reviews|rating|yelp|google review)"
            r"|\b(?:post|posting|put|putting|share|sharing|expose|exposing|blast|blasting)"
            r" (?:this|these|you|your company|it|your name) (?:\w+ ){0,2}(?:on|all over|online"
            r"|social media|facebook|twitter|reddit|tiktok|nextdoor|yelp|the news|everywhere"
            r"|public)\b|\b(?:go|going|went) (?:to the )?(?:media|news|press|viral)\b"
            r"|\bcontact(?:ing)? the (?:news|media|press)\b",
        ),
    ],
)

RULES += _rules(
    Category.SENSITIVE_SITUATION,
    [
        (
            "sensitive_bereavement",
            rf"\b(?:passed away|passed on|has passed|have passed|recently passed|just passed"
            rf"(?! (?:the|an|a|inspection|our|my|your|by))|died|dying|death|deceased|funeral"
            rf"|funerals|memorial service|burial|buried (?:my|our|his|her)|burying (?:my|our|his"
            rf"|her)|cremation|widow|widowed|widower|bereavement"
            rf"|bereaved|grieving|grief|mourning|condolences|rest in peace|rip"
            rf"(?! off| (?:me|us|people|them|you) off)|lost (?:my|our|his|her) {PERSON_NOUN}"
            rf"|{PERSON_NOUN} (?:just |recently |has |had )?passed"
            rf"|(?:he|she) (?:just |recently |sadly |suddenly |unexpectedly |has |had )?passed"
            rf"(?: away| on)?\b(?! (?:the|an|a|inspection|our|my|your|by|it|me|us|them|along|over"
            rf"|out|up|through|his|her|on the)))\b",
            r"\b(?:battery|batteries|phone|car|inverter|panel|panels|power|system|light|lights"
            r"|generator|engine|grid|tv|laptop|computer|charger|cell|device|signal|wifi|net"
            r" metering|nem|tax credit|credit|incentive|program)\b(?: \w+){0,3} (?:died|dying"
            r"|death|dies)\b|\bdeath (?:spiral|valley)\b",
        ),
        (
            "sensitive_illness",
            r"\b(?:(?:in|out of|from|into|left|leaving|admitted to|rushed to|taken to|back to"
            r"|discharged from|released from|home from) (?:the )?hospital|hospitalized|hospital bed"
            r"|icu|intensive care|emergency room|surgery|surgeries|chemo|chemotherapy|radiation"
            r" (?:therapy|treatment)|cancer|tumor|tumour|terminal(?:ly)? ill|terminal (?:cancer"
            r"|illness|diagnosis)|diagnosed|stroke|heart attack|seizure|seizures|dialysis|hospice"
            r"|life support|coma|miscarriage|stillborn|in rehab|dementia|alzheimers|parkinsons"
            r"|mental health|depressed|depression|panic attack|anxiety attack|nervous breakdown"
            r"|mental breakdown|suicidal|suicide|kill myself|end my life|self harm|overdose"
            r"|medical (?:emergency|issue|issues|leave|condition|crisis|bills|treatment|problems)"
            r"|health (?:issue|issues|problems|crisis|scare|condition)|wheelchair|bedridden"
            r"|caregiver|caring for my|in treatment|recovering from|bed rest|bedrest"
            r"|(?:high risk|complicated) pregnancy|(?:was|were|been|got|in) in (?:an? |a bad |a"
            r" serious |a terrible |a car )?(?:accident|crash|car accident|car crash|wreck)"
            r"|(?:had|having|have|has|after)"
            r" (?:an |a |my |his |her )?(?:operation|surgery|procedure)"
            r"|(?:i am|we are|i have been|been|was|got|getting|feeling|am|is|are|fell|became"
            r"|seriously|very|terminally|chronically|really|so) (?:very |really |so |quite |pretty"
            r" |seriously |terribly |extremely |too )?(?:sick|ill|unwell)\b(?! of| and tired)"
            r"|i am disabled|(?:my|i have a) disability|disabled (?:veteran|person|husband"
            r"|wife|son|daughter|child|mother|father|mom|dad))\b",
        ),
        (
            "sensitive_hardship",
            r"\b(?:lost (?:my|our|his|her) (?:job|jobs|income|work|house|home|business|apartment"
            r"|everything|savings)|laid off|layoff|layoffs|got fired|been fired|was fired|were"
            r" fired|i am fired|unemployed|unemployment|out of work|jobless|between jobs|furloughed"
            r"|furlough|bankrupt|bankruptcy|foreclosure|foreclosing|foreclosed|evicted|eviction"
            r"|repossessed|(?:got|been|was|were|being) let go|let go from (?:work|my job|the job"
            r"|my company)|financial hardship|hardship|struggling (?:financially|to pay|with"
            r" (?:money|bills|debt)|to make ends meet)|(?:i am|we are) (?:flat |totally |completely"
            r" |dead )?broke\b|can not afford (?:anything|food|groceries|rent|my rent|the rent"
            r"|my mortgage|my bills|to eat|to live|basic)|paycheck to paycheck|food stamps"
            r"|food bank)\b",
        ),
        (
            "sensitive_family",
            r"\b(?:divorce|divorced|divorcing|separated|separating|custody|domestic (?:violence"
            r"|abuse)|abusive|family emergency|personal emergency|going through (?:a lot|a hard"
            r" time|a rough|a difficult|a tough|some (?:stuff|things|personal)|hell|a crisis)"
            r"|(?:family|personal|medical|financial|mental health) (?:crisis|emergency"
            r"|emergencies|tragedy|tragedies)|tragedy|tragic"
            r"|(?:going through|dealing with|in the middle of) (?:a |some )?(?:really |very |pretty"
            r" |such a |quite a |incredibly |extremely )?(?:hard|rough|difficult|tough|bad|terrible"
            r"|horrible|awful|dark|stressful|painful) (?:time|times|patch|period|year|months|weeks"
            r"|days|situation)"
            r"|can not (?:deal|cope) with (?:this|anything|it)|not (?:in a|the) (?:good )?(?:place"
            r"|state) (?:to|for|right now|mentally))\b",
        ),
        (
            "sensitive_disaster",
            r"\b(?:house|home|apartment|place) (?:burned|burnt|flooded|was destroyed|got destroyed"
            r"|caught fire|burned down|was flooded)|\b(?:lost|losing) (?:our|my) (?:home|house)"
            r" (?:in|to) |\b(?:fire|flood|hurricane|tornado|wildfire|earthquake) (?:destroyed|took"
            r"|damaged|wiped)\b",
        ),
    ],
)

RULES += _rules(
    Category.PROMPT_INJECTION,
    [
        (
            "injection_ignore",
            r"\b(?:ignore|disregard|forget|bypass|override|overwrite|overrule|do not follow"
            r"|stop following) (?:\w+ ){0,4}(?:instructions?|prompts?|programming|guardrails"
            r"|directions"
            r"|directives?|system message|training|developer message|safety settings)\b"
            r"|\b(?:ignore|disregard|forget) (?:everything|all|anything|all of) (?:the )?(?:above"
            r"|that is above|written above|you were told|you have been told|you know|in your"
            r" prompt)\b"
            r"|\b(?:ignore|disregard|forget|bypass|override|overwrite|break) (?:(?:all|any|your"
            r"|the|these|those|previous|prior|above|earlier|safety|content|existing|of|my) )+"
            r"(?:rules|guidelines|restrictions|constraints|policies|filters|limitations)\b",
        ),
        (
            "injection_vocabulary",
            r"\b(?:system prompt|system message|initial prompt|hidden prompt|developer mode"
            r"|developer message|developer instructions|jailbreak|jailbroken|dan mode"
            r"|do anything now|god mode|admin mode|debug mode|sudo|unfiltered mode"
            r"|prompt injection|ai language model|large language model|pwned|hacked prompt)\b"
            r"|\byour (?:system )?prompt(?= \||$)",
        ),
        (
            "injection_role",
            r"\b(?:you are now|from now on you|from now on (?:respond|reply|answer|act|speak|talk"
            r"|only)|pretend (?:you are|to be|that you)|act as (?:if|though|a|an|my|the) (?:\w+ )?"
            r"(?:ai|assistant|bot|chat bot|model|developer|admin|system|dan|unrestricted|unfiltered"
            r"|hacker|character|persona|grandma|grandmother|linux|terminal)|roleplay|role play"
            r"|you are no longer (?:a|an|the|my)|(?:^|\| )new (?:rule|rules|directive|directives"
            r"|instruction|instructions|policy|task)(?= \|)|you (?:will|must|should) always"
            r" (?:agree|say yes|approve|accept)|always agree with"
            r"|(?:were you|have you been|you were|you have been) (?:given|told|programmed|trained"
            r"|instructed)(?= \||$| to say| to do| by)|(?:you were|you have been|were you|you are"
            r"|have you been) (?:told|instructed|programmed|trained|designed|configured|prompted)"
            r" to\b|hidden (?:text|instructions|rules|prompt|message)"
            r"|(?:repeat|print|output|show|copy|recite) (?:the |all |everything )?(?:text |words"
            r" |content |message |messages )?(?:above|before this|preceding)|starting with you are"
            r"|simulate (?:a|an|being)|new persona|your new (?:role|instructions|task|name|persona)"
            r"|(?:new|updated|real|actual|secret|hidden) instructions)\b",
        ),
        (
            "injection_exfiltrate",
            r"\b(?:reveal|show|print|output|repeat|display|tell me|share|give me|leak|dump|list"
            r"|what (?:is|are|were)|spell out|translate|summarize|send me|reply with|respond with"
            r"|paste|copy) (?:me )?(?:your|the|all|all of your|its|any) (?:(?:system|initial"
            r"|original|hidden|internal|secret|developer|full|exact|first|confidential) )*"
            r"(?:prompt|prompts|instructions|configuration|config|api key|api keys|password"
            r"|passwords|credentials|training data|source code|secret key|access token"
            r"|rules you were given|guidelines you follow)\b",
            r"\bthe (?:install|installation|setup|app|warranty|care|maintenance|cleaning)"
            r" instructions\b",
        ),
        (
            "injection_output_control",
            r"\b(?:respond|reply|answer|say|write|output|print|type|return) (?:only |just |back )?"
            r"(?:with |in )?(?:the (?:word|words|phrase|following text)|verbatim|word for word"
            r"|only (?:the word|yes or no|json|in json))\b"
            r"|\bwrite (?:me )?(?:a|an) (?:poem|story|essay|song|code|script|haiku|joke|limerick"
            r"|program|recipe|python|sql)\b|\b(?:base64|rot13|hex encoded)\b"
            r"|\byou (?:must|will|have to|should) (?:now )?(?:obey|comply|follow my|do as i)\b",
        ),
    ],
)

RULES += _rules(
    Category.OPT_OUT,
    [
        (
            "opt_out_keyword",
            clause(
                r"stop|stop all|end|quit|cancel|unsubscribe|opt out|remove|remove me|revoke|halt"
                r"|enough|no more|alto|baja|para|stop it|stop now|leave me alone|unsubscribe me"
                r"|not ever|never ever|never again|not ever again|absolutely not|hell no"
                r"|no means no|count me out|count us out|do not (?:call|text|email|contact|message)"
                r"|i want out|we want out|get me out|let me out"
            ),
        ),
        ("opt_out_unsubscribe", r"\b(?:unsubscribe|unsubscribed|unsubscribing)\b"),
        (
            "opt_out_reach_out",
            r"\b(?:do not|never|please do not|stop trying to) (?:ever )?(?:reach out|follow up"
            r"|get in touch|reach)(?: (?:to|with) (?:me|us))?(?: (?:again|anymore|any more|ever"
            r" again|ever))+\b|\bcount (?:me|us) out\b",
        ),
        (
            "opt_out_opt_out",
            rf"\b(?:opt|opted|opting) (?:me |us )?out\b(?! of)|\b(?:opt|opted|opting) (?:me |us )?"
            rf"out of (?:(?:your|the|this|these|all|any|future|my|receiving|getting) )*{LISTISH}",
        ),
        (
            "opt_out_remove",
            rf"\b(?:remove|delete|erase|scrub|unlist) {ME}\b"
            rf"|\b(?:take|get|put|cross|strike|leave) {ME} off\b"
            rf"|\b(?:be|get|been|being) (?:removed|unsubscribed|taken off|deleted|opted out|erased"
            rf"|unlisted)\b"
            rf"|\b(?:want|wish|need|like) (?:to be |to get )?off (?:of )?(?:your|the|this|that"
            rf"|these"
            rf"|all|any) {LISTISH}"
            rf"|\boff (?:of )?(?:your|the|this|that|these|all|any) (?:\w+ )?(?:list|lists|database"
            rf"|contacts|mailing|calling list|call list)\b"
            rf"|\b(?:delete|erase|purge|forget|lose|scrub|wipe|destroy|drop|burn|remove|block"
            rf"|trash|shred) (?:\w+ ){{0,3}}(?:my|this) (?:number|phone number|cell|email"
            rf"|email address"
            rf"|info|information|details|contact info|contact details|data|personal data)\b",
        ),
        (
            "opt_out_stop_contact",
            rf"\b(?:stop|quit|cease|discontinue) (?:all |the |these |those |your |this |with the"
            rf" |with these |with your |with all )?(?:{REACH_ING}|{MSGS}|contact|all contact"
            rf"|communications?|solicitations?)\b"
            rf"|\b(?:cancel|end|halt|pause) (?:all |the |these |those |your |this )?(?:texts"
            rf"|messages|emails|text messages|notifications|reminders|robocalls|promotions)\b"
            rf"|\b(?:stop|quit|cease) (?:sending|send) (?:me|us|these|those|this|them|your|any|all"
            rf"|{MSGS}|stuff|junk|crap|offers|ads|things)\b"
            rf"|\benough (?:with )?(?:the |these |your |all |all the |of the |of your |of these )?"
            rf"{MSGS}\b"
            rf"|\b(?:stop|quit|cease) (?:getting|receiving) (?:these|your|the|any|those|this|them"
            rf"|{MSGS})",
        ),
        (
            "opt_out_do_not_contact",
            rf"\b(?:do not|never|please do not|stop trying to|do not ever)"
            rf" (?:ever )?{CONTACT_VERB} (?:me|us|this number|this email|my number|my phone"
            rf"|my email)(?: (?:again|anymore|any more|ever again|ever|at all|please|thanks"
            rf"|thank you|period|here|no more|about this|about solar))*(?= \||$)"
            rf"|\b(?:do not|never) {CONTACT_VERB} (?:me|us|this number) (?:again|anymore|any more"
            rf"|ever|at all)\b|\bdo not contact\b",
        ),
        (
            "opt_out_no_more",
            rf"\bno more (?:{MSGS}|contact|messages from you|texts from you)\b"
            rf"|\b(?:do not|no longer|never) (?:want|wish) (?:to (?:receive|get|hear|be))?"
            rf" ?(?:any |your |these |those |more |further |the )*(?:{MSGS}|contact|from you"
            rf"|contacted|texted|called|emailed|messaged|solicited)\b"
            rf"|\b(?:leave|let) (?:me|us) (?:alone|be)(?= \||$| please| now)"
            rf"|\bleave (?:me|us) alone\b",
        ),
        (
            "opt_out_not_interested",
            r"\b(?:not|no longer|not really|never|never been|not even) interested"
            r"(?: (?:anymore|any more|at all|thanks|thank you|now|right now|sorry|bye|either"
            r"|period|in solar|in this|in that|in it|in any of (?:this|that|it)|in (?:your|this"
            r"|that|the|any) (?:offer|product|products|service|services|company|stuff|proposal"
            r"|deal|quote|solar)))*(?= \||$)",
        ),
        (
            "opt_out_decline",
            whole(
                r"no thanks|no thank you|not interested|i will pass|i am going to pass|hard pass"
                r"|not for me|pass|no way|we are good|i am good|we are all set|i am all set"
                r"|all set|nah|no interest"
            ),
        ),
        (
            "opt_out_went_elsewhere",
            r"\b(?:went|going|gone|decided to go|signed|chose|chosen|picked|hired) with (?:another"
            r"|a different|someone else|a competitor|somebody else|a local)\b"
            r"|\b(?:decided against (?:it|solar|this|going solar"
            r"|the whole thing|moving forward)|decided not to (?:go solar|go ahead|proceed|move"
            r" forward|do it|get solar|buy)|no longer (?:need|want) (?:it|this|solar|you|your"
            r" services|anything)|no longer looking|not looking anymore|not in the market"
            r"|found (?:another|someone else|a different) (?:company|installer|provider"
            r"|contractor))(?= \||$| thanks| thank you| sorry| for now| bye)",
        ),
        (
            "opt_out_changed_mind",
            whole(r"(?:i |we )?(?:have )?changed (?:my|our) minds?")
            + r"|\bchanged (?:my|our) minds? (?:about|on) (?:solar|this|it|the whole thing"
            r"|going solar|the project|the install|moving forward)\b",
        ),
        (
            "opt_out_block",
            r"\b(?:block|blocking|blocked|report as spam|reporting as spam) (?:you|this number"
            r"|your number|your company|you all|this sender|your emails|your texts)\b",
        ),
        (
            "opt_out_spanish",
            r"\bno me (?:escriba|escribas|escriban|mande|mandes|manden|envie|envies|envien"
            r"|contacte|contactes|contacten|llame|llames|llamen)\b|\bdar(?:me)? de baja\b",
        ),
    ],
)

RULES += _rules(
    Category.COMPLAINT,
    [
        ("complaint_harassment", r"\bharass(?:ment|ing|ed|es)?\b"),
        (
            "complaint_spam",
            r"\bspam(?:ming|med|mer|mers|my)?\b",
            r"\bspam (?:folder|filter|filters|box|mailbox|directory|inbox)\b|\b(?:in|into|to|from"
            r"|went to|ended up in|landed in) (?:my |the |your )?spam\b",
        ),
        (
            "complaint_anger",
            r"\b(?:i am|we are|getting|got|so|very|really|extremely|absolutely|beyond|totally"
            r"|pretty|am|feel|feeling|i|we) (?:so |very |really |extremely |absolutely |beyond"
            r" |getting |totally |pretty |fucking |damn |incredibly )?(?:furious|livid|pissed"
            r"|angry|mad|upset|annoyed|irritated|frustrated|disgusted|outraged|fed up|sick and"
            r" tired|sick of|tired of|disappointed|unhappy|dissatisfied|appalled|infuriated"
            r"|enraged|not happy|not pleased|not impressed|done with you|done with this)\b",
            UTILITY_TALK,
        ),
        (
            "complaint_strong_words",
            r"\b(?:furious|livid|pissed off|outraged|infuriated|enraged|infuriating|outrageous"
            r"|appalling|disgraceful|pathetic|incompetent|unprofessional|ridiculous|unacceptable"
            r"|absurd|shameful|disgusting|disgusted|appalled|annoying|obnoxious|creepy|pushy"
            r"|relentless)\b|\bshame on (?:you|your|this)\b|\b(?:was|were|is|are|been|being)"
            r" (?:\w+ )?(?:rude|disrespectful|condescending|arrogant|hostile|nasty|dismissive"
            r"|unhelpful|insulting|threatening)\b"
            r"|\bangryemoji\b|\b(?:been|kept|left|leave|leaving|put|stuck) (?:me |us )?on hold\b",
            UTILITY_TALK,
        ),
        (
            "complaint_bad_service",
            r"\b(?:terrible|horrible|awful|bad|poor|lousy|shoddy|shitty|crappy|worst|pathetic"
            r"|disgraceful|atrocious|abysmal|appalling|unacceptable|sloppy|rude|unprofessional"
            r"|crap|garbage) (?:customer )?(?:service|experience|company|communication|job|work"
            r"|workmanship|installation|install|installer|installers|crew|people|business|support"
            r"|follow up|followup|company ever|response time|salesman|salesperson|sales rep|rep)\b",
            r"\b(?:with|from|by|at) (?:a|an|another|my|our|the previous|our last|my last|a previous"
            r"|a different|the last|other|some|the old|our old|my old|sunrun|sunpower|tesla|vivint"
            r"|sunnova|the utility|pge|edison)\b|\b(?:roofer|contractor|previous|last company"
            r"|other company|utility)\b",
        ),
        (
            "complaint_bad_service_is",
            r"\b(?:service|experience|communication|support|installation|install|crew|work"
            r"|company|you|you guys|your team|your company) (?:is|was|has been|have been|are|were)"
            r" (?:\w+ ){0,2}(?:terrible|horrible|awful|bad|poor|lousy|shoddy|atrocious|abysmal"
            r"|appalling|unacceptable|joke|nightmare|disaster|ridiculous|pathetic|the worst"
            r"|useless|a scam|scammers|crooks|thieves|liars|frauds?|incompetent|clowns|idiots"
            r"|morons|stupid|unreliable|a mess)\b"
            r"|\bthe worst\b(?! (?:case|part|scenario|months?|times?|seasons?|days?|years?|winter"
            r"|summer|of the))|\bworst (?:company|service|experience|installer|customer|business"
            r"|people)\b",
        ),
        (
            "complaint_no_response",
            r"\b(?:nobody|no one|no body|noone) (?:\w+ )?(?:calls?(?: me| us)? back|called"
            r"|calling(?: me| us)? back"
            r"|answers?|answered|responds?|responded|replies|replied|returns?|returned|gets back"
            r"|got back|get back|showed up|shows up|followed up|follows up|picks up|picked up"
            r"|cares|cared|helped|bothered|fixed|came out|came back)\b"
            r"|\b(?:you|you guys|your team|your company|your people|your office|your rep)"
            r" (?:never|still have not|still did not|still do not|have not|did not|keep not"
            r"|do not) (?:ever )?(?:called|call|answered|answer|responded|respond|replied|reply"
            r"|returned|return|got back|get back|showed|show|came|come|followed up|follow up"
            r"|fixed|fix|bothered|listen|listened|pick up|picked up)\b"
            r"|\bstill waiting (?:for|on) (?:a |your |my |the |an |someone |anyone )?(?:call"
            r"|reply|response|callback|call back|answer|someone|anyone|quote|update|refund"
            r"|technician|tech|installer|crew|you|fix|repair)\b"
            r"|\bwaiting (?:for )?(?:weeks|months|\d+ (?:weeks|months|days))\b"
            r"|\bhow many times (?:do i have to|have i|must i|am i going to have to|did i|will i"
            r" have to) (?:tell|ask|say|told|asked|said|call|request|block)\b"
            r"|\b(?:for the last time|i already told you|i told you (?:already|before|twice"
            r"|to stop|not to)|i have (?:already )?asked (?:you )?(?:\w+ )?(?:times|twice)"
            r"|asked (?:you )?(?:\w+ )?(?:times|twice))\b",
        ),
        (
            "complaint_repeated_contact",
            rf"\b(?:second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|\d+(?:st|nd|rd|th)?"
            rf"|yet another) {WRITTEN} (?:this|today|in (?:a row|\w+ (?:days|hours|minutes))"
            rf"|from you|a day|per day|every|so far|already|since)\b"
            rf"|\b(?:third|fourth|fifth|sixth|\d+(?:rd|th)?) calls? (?:today|in a row|from you"
            rf"|this morning)\b"
            rf"|\b(?:too many|so many|constant|constantly|endless|non stop|nonstop|repeated"
            rf"|relentless|incessant|all these|yet another) {MSGS}\b"
            rf"|\b(?:keep|keeps|kept) (?:on )?(?:texting|calling|messaging|emailing|contacting"
            rf"|sending|bothering|spamming|harassing|bugging|pestering|hounding)\b"
            rf"|\bwhy (?:do|are|does|did|is|would) (?:you|your company|you guys|you people|this"
            rf" company|this number) (?:keep |still |always )?(?:texting|calling|messaging"
            rf"|emailing|contacting|bothering|spamming|harassing|sending)\b"
            rf"|\bblow(?:ing|s)? up my (?:phone|inbox|cell)\b"
            rf"|\b(?:if|when) one more (?:\w+ )?(?:person|rep|call|text|message|email|guy|salesman"
            rf"|salesperson|company)\b|\bone more (?:person|rep|salesman|salesperson|guy)"
            rf" (?:calls|texts|comes|shows|knocks|emails)\b"
            rf"|\b(?:keep|keeps|kept) (?:on )?(?:getting|receiving) (?:these|your|this|{MSGS})\b"
            rf"|\b(?:stop|quit|you are|keep|keeps|kept|been|are) wasting (?:my|our) time\b"
            rf"|\b(?:this|that|it|you|your \w+|the whole thing|everything|this whole thing|this"
            rf" process|this experience|dealing with you) (?:has been|have been|is|was|are|were)"
            rf" (?:an? )?(?:absolute |complete |total |utter |such a |real )?(?:disaster|nightmare"
            rf"|shambles|farce|fiasco|circus|clown show)\b"
            rf"|\b(?:had it with|done with) (?:you|your|this company|these)\b|\bshame on you\b"
            rf"|\b(?:sales|pushy|aggressive|shady|sleazy|high pressure|scare|predatory) tactics\b"
            rf"|\b(?:shady|sleazy|slimy)\b"
            rf"|\b(?:what a|this is a|such a|total|complete|a total|a complete) waste of"
            rf" (?:my |our )?"
            rf"time\b",
        ),
        (
            "complaint_profanity",
            r"\b(?:fuck\w*|fck\w*|fuk\w*|fuq\w*|f you|f off|eff you|eff off|shit\w*|bullshit"
            r"|bitch\w*|bastard\w*|asshole\w*|ass hole|dickhead|douche\w*|dammit|goddamn\w*"
            r"|goddam|piss off|pissed|screw you|screw off|go to hell|what the hell|the hell"
            r"|hell no|what the heck|cunt\w*|motherf\w*|mofo|piece of crap|load of crap|this crap"
            r"|your crap|this is bs|that is bs|what a joke|this is a joke|you are a joke"
            r"|jerk|jerks|idiot|idiots|moron|morons|scumbag\w*|scum)\b",
        ),
        (
            "complaint_scam",
            r"\b(?:scam|scams|scammer|scammers|scammy|scamming|fraud|fraudulent|fraudster"
            r"|fraudsters|rip off|ripoff|ripped off|ripping (?:me|people|us|customers) off"
            r"|con artist|con artists|crook|crooks|thieves|liar|liars|cheated|bait and switch"
            r"|swindle\w*|predatory)\b|\b(?:you|your \w+|they|he|she) (?:lied|are lying|were lying"
            r"|is lying|keep lying)\b",
        ),
        (
            "complaint_damage",
            r"\b(?:you|your (?:installer|installers|crew|guys|team|technician|tech|techs|workers"
            r"|people|company|rep|salesman)|they|the (?:installers?|crew|workers|technician))"
            r" (?:\w+ )?(?:cracked|broke|damaged|ruined|destroyed|wrecked|scratched|dented"
            r"|messed up|screwed up|left a mess|flooded|stained|tore|ripped)\b"
            r"|\b(?:leaking|leaked|damaged|cracked|broken|stopped working|not working|has leaked"
            r"|water damage) (?:\w+ ){0,3}(?:since|after) (?:the|your|you|they) (?:install"
            r"|installation|installed|crew|came|visit|put|were here)\b",
        ),
        (
            "complaint_refund",
            r"\bmy refund\b|\bwhere is my (?:money|deposit|check|rebate)\b"
            r"|\b(?:want|demand|need|expect|requesting|request|give me|deserve|owe me)"
            r" (?:(?:a|my|me|full|an|immediate|complete|our) )*refund\b|\brefund (?:me|my|now"
            r"|immediately|asap)\b|\b(?:my|our) money back\b|\bchargeback\b|\bcharge back\b"
            r"|\bdisput(?:e|ed|ing) (?:the|this|my|a|your) (?:charge|charges|payment|transaction"
            r"|bill|invoice)\b",
        ),
    ],
)

RULES.append(
    Rule(
        Category.COMPLAINT,
        "complaint_crazy",
        re.compile(
            r"\b(?:this|that|it|you|you guys|your \w+) (?:is|are|has been|was) (?:\w+ )?(?:crazy"
            r"|insane|nuts|unbelievable|beyond a joke)\b|\bunbelievable\b"
        ),
        unless=re.compile(UTILITY_TALK),
        unless_scope="message",
    )
)

RULES += _rules(
    Category.WRONG_PERSON,
    [
        (
            "wrong_person_wrong",
            clause(r"not me|wrong|wrong again") + r"|\b(?:you have|you got|you have got)"
            r" (?:the |a )?wrong \w+(?= \||$)"
            r"|\bwrong (?:number|num|person|guy|girl|lady|man|woman|people|email|address|contact"
            r"|house|lead|phone|cell|individual|name|account|customer|family|household|recipient"
            r"|inbox)\b|\b(?:you have|you got|you have got|you) (?:the |a )?wrong(?= \||$)"
            r"|\b(?:dialed|texted|reached|messaged|emailed|contacted|sent this to|sending this to"
            r"|sent (?:this|that|it) to) (?:the |a )?wrong\b",
        ),
        (
            "wrong_person_not_me",
            r"\bnot (?:the person you|who you think|the right person|the one you|the owner of this"
            r" (?:number|email)|my number|my email|the homeowner|the owner|the person who)\b"
            r"|\b(?:this|that) (?:is not|is no longer|was never) (?:\w+ )?(?:number|phone|cell"
            r"|email)(?: (?:anymore|any more))?(?= \||$)"
            r"|\b(?:do not|never) (?:know|recognize|recognise) (?:who (?:\w+ )?(?:is|are|this"
            r"|that|you)|anyone (?:named|called|by)|anybody (?:named|called|by)|(?:a |an )?"
            r"(?:person|anyone|anybody|someone) (?:named|called|by that name)|you\b|your company"
            r"|this (?:person|name|company)|that (?:person|name)|him|her|them)"
            r"|\b(?:who is|who are|whos|who) (?:\w+ )?(?:this|that|you|you guys|you people)"
            r"(?: again)?(?= \||$)",
        ),
        (
            "wrong_person_never_asked",
            r"\b(?:never|did not|have not|do not remember|do not recall) (?:ever )?(?:filled|fill"
            r"|signed up|sign up|signed|registered|register|requested|request|asked|ask|submitted"
            r"|submit|inquired|inquire|enquired|contacted|contact|reached out|opted in|opt in"
            r"|agreed|gave|give|entered|applied|clicked|subscribed|subscribe)"
            r"(?: (?:out|in|up|for|to|on|with))? (?:(?:any|a|an|the|this|that|your|one|such) )?"
            r"(?:form|forms|quote|survey|inquiry|request|information|info|contact|website|ad|offer"
            r"|questionnaire|application|consultation|estimate|anything|this|these|that|your"
            r"|you|texts|messages|emails|calls|solar|my (?:number|email|info|consent"
            r"|permission))\b",
        ),
        (
            "wrong_person_reassigned",
            r"\b(?:this|that) (?:number|phone|email|cell|account|email address) (?:\w+ )?"
            r"(?:belongs|belonged|is registered|was reassigned|is assigned|got reassigned|has been"
            r" reassigned|was recycled) to (?:someone|somebody|another|a different|me now)\b"
            r"|\b(?:someone|somebody) else (?:now )?(?:has|owns|uses|is using) (?:this|that|the)"
            r" (?:number|email|phone)\b|\bno idea who (?:you|this|that|he|she)\b"
            r"|\b(?:do not|no idea) (?:know )?what (?:this|these|that|you) (?:is|are) (?:about"
            r"|regarding|for)(?= \||$)"
            r"|\bnever (?:been to|visited|used|seen|opened) (?:your|this) (?:website|site|company"
            r"|page|ad|app|form)\b"
            r"|\bwho (?:you are|are you|you) (?:trying to|looking for|trying to reach|trying to"
            r" contact)\b|\bnever heard of (?:you|your company|this company|them|him|her|this"
            r" person|that person|you guys|you people)\b",
        ),
        (
            "wrong_person_how_got",
            r"\bwho (?:gave|sold|provided|passed) (?:you|your company) (?:my|this) (?:number"
            r"|phone number|phone|cell|email|email address|contact|info|information|details)\b"
            r"|\b(?:how|where|why) (?:did|do|does|have|would) (?:you|your company|you guys|you"
            r" people|you all|they) (?:get|got|find|found|obtain|obtained|buy|bought|have) (?:my"
            r"|this) (?:number|phone number|phone|cell|email|email address|contact|info"
            r"|information|details|address|name)\b",
        ),
        (
            "wrong_person_not_here",
            r"\b(?:does not|no longer|never|do not) (?:live|lives|work|works|own|owns) (?:here"
            r"|there|at this|this number|this email|this phone|this address|with us)\b"
            r"|\b(?:does not|no longer|never|do not|stopped) (?:use|uses|using|have|has|own|owns"
            r"|check|checks) (?:this|that) (?:number|email|phone|email address|cell|phone number)\b"
            r"|\bmoved (?:out|away)\b|\bthere is no (?:\w+ )?(?:here|at this (?:number|address)"
            r"|by that name)\b|\b(?:no one|nobody) (?:here )?(?:by that name|named|called"
            r"|lives here|with that name)\b",
        ),
        (
            "wrong_person_sold",
            r"\b(?:i|we|they|he|she) (?:have |just |already |recently )?sold (?:the|this|my|our"
            r"|that) (?:house|home|property)\b",
            r"\bif (?:i|we)\b",
        ),
        (
            "wrong_person_confused",
            r"\b(?:confused|mixed up|mistaken|mistook) (?:me|us)\b|\bmistaken identity\b"
            r"|\bmust have (?:the wrong|mixed|me confused|confused)\b|\bconfused me with\b",
        ),
    ],
)
# "I'm not Ada." - a capitalised word after "I'm not" / "this is not" in the original text.
_NOT_NAMED = re.compile(
    r"\b(?:I'?m|I am|[Tt]his is|[Tt]his isn'?t|[Ii]t'?s not|[Ii]t is not|[Tt]his is not) (?:not )?"
    r"([A-Z][a-z]+)\b"
    r"|(?:^|[,.!?]\s*)(?:[Ss]orry,? )?[Nn]ot ([A-Z][a-z]+)(?=\s*(?:[,.!?]|$))"
    r"|\b[Nn]o ([A-Z][a-z]+) (?:here|at this (?:number|address)|lives here)\b"
)
_NOT_NAMED_OK = frozenset(
    {"Interested", "Sure", "Ready", "Home", "Available", "Looking", "Going", "Able", "Happy",
     "Certain", "Convinced", "The", "A", "An", "My", "Your", "What", "It", "That", "This",
     "Very", "Really", "So", "Too", "In", "At", "On", "Just", "Quite", "Worried", "Concerned",
     "Selling", "Buying", "Asking", "Urgent", "Spam", "Correct", "Right", "Free", "Done",
     "Against", "Opposed", "Comfortable", "Familiar", "Aware", "Clear", "Planning", "Trying",
     "Now", "Today", "Tomorrow", "Yet", "Anymore", "Again", "Bad", "Much", "Exactly", "Me",
     "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "Morning",
     "Evening", "Afternoon", "Tonight", "Ever", "Even", "Only", "Necessarily", "Yes", "No"}
)  # fmt: skip

RULES += _rules(
    Category.ALREADY_CUSTOMER,
    [
        (
            "customer_already",
            r"\balready (?:a |an |your |their )?(?:customer|client|signed|sign|bought|purchased"
            r"|paid|contracted|under contract|booked|enrolled|financed|a member|have an account"
            r"|have a contract|have an agreement|working with you|with you|with your company"
            r"|went with you|chose you|scheduled (?:my|our|the) install|had (?:the|my|our)"
            r" (?:install|installation))\b",
        ),
        (
            "customer_existing",
            r"\b(?:current|existing|returning|former|past|previous) (?:customer|customers|client"
            r"|clients)\b|\b(?:your|a loyal|a long time|a longtime) (?:customer|client)\b"
            r"|\b(?:a |your )?(?:customer|client) already\b|\b(?:i|we) (?:\w+ )?(?:installed"
            r"|signed|went|contracted|bought|purchased|financed|leased) (?:\w+ ){0,2}(?:with"
            r"|through|from) (?:you|your company|you guys)\b|\b(?:my|our) (?:\w+ )?(?:system|panels"
            r"|battery|batteries|inverter|install|installation) (?:from|by|with) (?:you|your"
            r" company|you guys)\b"
            r"|\b(?:my|our) (?:final |last |latest |next |most recent )?(?:invoice|invoices"
            r"|receipt|statement|payment schedule|bill from you)\b"
            r"|\b(?:customer|client) (?:of yours|with you|since)\b|\bbeen (?:a |your )?(?:loyal"
            r" )?(?:customer|client)\b|\b(?:have|had|got|opened) (?:an |my )?account with (?:you"
            r"|your company|you guys)\b"
            r"|\b(?:install|installation|work|job|system|panels) (?:that )?you (?:did|installed"
            r"|put in|put up)\b",
        ),
        (
            "customer_signed",
            r"\b(?:signed|sign up|signed up|signed a contract|signed the contract|contracted|bought"
            r"|purchased|financed|leased) (?:(?:a|the|my|our|system|panels|solar|contract) )*"
            r"(?:with|from|through) (?:you|your company|you guys|you all|your team)\b"
            r"|\b(?:signed|paid) (?:\w+ ){0,3}(?:last|a few|few|couple|two|three|\d+) (?:day|days"
            r"|week|weeks|month|months|year|years)\b",
        ),
        (
            "customer_still_getting",
            r"\bwhy (?:am|are|do|does|is) (?:i|we) (?:still )?(?:getting|receiving|get|receive)"
            r" (?:these|this|sales|marketing|your|texts|messages|emails|calls)\b"
            r"|\bstill (?:getting|receiving) (?:these|sales|marketing)\b",
        ),
        (
            "customer_my_project",
            r"\b(?:my|our) (?:existing |current |new )?(?:system|panels|solar|inverter|inverters"
            r"|battery|batteries|installation|install|install date|installation date|project"
            r"|account|contract|order|monitoring|monitoring app|app|permit|inspection"
            r"|interconnection|pto"
            r"|invoice|loan|lease|financing|site survey|production) (?:is|are|was|were|has|have"
            r"|keeps|stopped|still|not|is not|are not|has not|have not|did not|does not|will not"
            r"|shows|showing|says|status|update|been|went|got|had|just)\b",
            r"\bif (?:i|we) (?:sign|go|buy|decide|move forward|proceed|get)\b|\b(?:would|could"
            r"|will) be\b|\b(?:how|what) (?:big|much|many|size)\b|\b(?:roof|bill|usage|house"
            r"|home)\b",
        ),
        (
            "customer_status",
            r"\b(?:status|update|eta|progress) (?:of|on|for|with) (?:my|our) (?:install"
            r"|installation"
            r"|system|project|order|permit|inspection|interconnection|pto|application|account"
            r"|contract|refund|loan|panels|battery)\b"
            r"|\bwhen (?:is|will) (?:my|our) (?:install|installation|system|panels|inspection"
            r"|permit|interconnection|pto|crew|technician|installer|battery) (?:be |getting |get"
            r" )?(?:date|scheduled|happening|done|installed|coming|start|starting|turned on"
            r"|activated|approved|finished|complete|completed|fixed|repaired)\b",
            r"\bif (?:i|we) (?:sign|go|buy|decide|move forward|proceed)\b",
        ),
        (
            "customer_installed",
            r"\b(?:you|your (?:company|team|crew|guys|installers?|technicians?|techs?))"
            r" (?:installed|put in|put up|did|serviced|worked on) (?:my|our)\b"
            r"|\b(?:installed|put in|put up) by (?:you|your (?:company|team|crew|guys))\b"
            r"|\byour (?:crew|installers?|technicians?|techs?|team|guys) (?:came|were|was)"
            r" (?:out|here|by|to my|at my)\b",
        ),
        (
            "customer_cancel_contract",
            r"\bcancel(?:led|ed|ling|ing|lation)? (?:of )?(?:my|our|the|this) (?:contract|agreement"
            r"|order|installation|install|project|account|service|subscription|financing|loan"
            r"|lease|purchase|deal|system|membership|plan|solar)\b(?! (?:appointment|visit|call"
            r"|time|consultation))"
            r"|\b(?:want|need|would like|wish|going|trying|how do i|how can i|how to) (?:to )?"
            r"cancel(?= \||$)",
        ),
        (
            "customer_repair_visit",
            r"\b(?:fix|repair|troubleshoot) (?:my|our) (?:panels?|system|inverter|inverters"
            r"|battery|batteries|solar|monitoring|microinverters?|optimizers?)\b"
            r"|\b(?:come|coming|comes|came|be out|send someone) (?:out |back |over )?to (?:fix"
            r"|repair|look at|check|service|replace|inspect) (?:my|our|the) (?:panels|system"
            r"|inverter|inverters|battery|batteries|install|installation|monitoring|solar)\b",
        ),
        (
            "customer_support",
            r"\b(?:warranty claim|service call|service request|support ticket|ticket number"
            r"|claim number|case number|account number|customer number|invoice number"
            r"|order number|work order)\b",
        ),
    ],
)

RULES += _rules(
    Category.ASKS_FOR_HUMAN,
    [
        (
            "human_real_person",
            r"\b(?:real|actual|live|living|genuine|breathing|flesh and blood) (?:human|humans"
            r"|person|people|persons|agent|rep|representative|human being|operator|someone"
            r"|somebody|salesperson|sales person|sales rep|employee|staff|voice)\b"
            r"|\b(?:someone|somebody|a person) (?:real|who is real|that is real)\b",
        ),
        (
            "human_word",
            r"\bhumans?\b(?! (?:sized|size|error|resources|readable|scale|rights|body|hair|eye"
            r"|eyes|nature|capital|made|powered|factor|trafficking|health|race|history|life|touch"
            r"|element|side|centered|centred|friendly))",
        ),
        (
            "human_bot_word",
            r"\b(?:bot|bots|chat bot|chat bots|robot|robots|chat gpt|gpt|openai|llm|llms"
            r"|artificial intelligence|ai generated|ai written|ai reply|ai response|ai assistant"
            r"|ai agent|an ai|the ai|this ai|by ai|with ai|to ai|virtual assistant)\b",
            r"\brobot(?:ic)? (?:vacuum|lawn|mower|mowers|cleaner|cleaning)\b",
        ),
        (
            "human_identity_question",
            r"\b(?:is|are|am|was|were) (?:this|you|it|that|i|these|they|those)"
            r"(?: (?:just|really|even|actually|still|all|like|some|talking to|speaking (?:to|with)"
            r"|texting(?: with)?|chatting(?: with)?|a|an))* (?:bot|bots|robot|ai|a i|automated"
            r"|auto generated|computer generated|computer|recording|recorded|script|scripted"
            r"|canned|templated)\b"
            r"|\b(?:is|are|am|was|were) (?:this|you|it|that|i|these|they|those)(?: (?:just|really"
            r"|even|actually|still|talking to|speaking (?:to|with)|texting(?: with)?|chatting"
            r"(?: with)?|a|an))* (?:human|person|real person|real human|actual person|live person"
            r"|machine)(?= \||$| or | and | texting| talking| responding| replying| writing"
            r"| answering| on the)"
            r"|\b(?:is|are) (?:this|you|it|that|these) (?:a )?real(?: (?:person|human|people"
            r"|someone|or not|or fake))?(?= \||$)"
            r"|\b(?:is|are|was|were) (?:this|these|that|those|your) (?:message|messages|text|texts"
            r"|email|emails|reply|replies|response|responses|conversation|chat|answer|answers)"
            r" (?:\w+ )?(?:automated|auto generated|computer generated|ai generated|generated"
            r"|from a bot|a bot|ai|real|scripted|canned|templated|written by (?:a |an )?(?:bot|ai"
            r"|robot|computer|machine))(?= \||$| or )"
            r"|\b(?:a |an )?(?:person|human|bot|robot|machine|computer|ai|program) (?:reading"
            r"|writing|typing|answering|responding|replying|sending|behind) (?:this|these|that|my"
            r"|the|me)\b|\bor (?:a |an )?(?:bot|machine|robot|computer|ai|human|person|real"
            r" person|program)(?= \||$)",
        ),
        (
            "human_talking_to",
            r"\b(?:talking|speaking|chatting|texting|emailing|communicating|dealing|corresponding)"
            r" (?:to|with) (?:a |an )?(?:bot|robot|machine|computer|ai|a i|program|script"
            r"|recording|human|person|real person|someone real|real human|somebody real"
            r"|live person)\b",
        ),
        (
            "human_connect_me",
            r"\b(?:talk|speak|chat|deal|connect|put|transfer) (?:me |us )?(?:directly |through )?"
            r"(?:to|with|through to) (?:a |an |the |your |someone |somebody )?(?:human|person"
            r"|manager|supervisor|boss|owner|ceo|president|someone in charge|somebody in charge"
            r"|someone real|somebody real|operator|employee|staff member|team member|actual"
            r"|real|live|adult|higher up|higher ups|superior|someone else|somebody else"
            r"|customer service|customer support|support team|account manager|someone who"
            r"|somebody who|a real|an actual)\b"
            r"|\b(?:talk|speak|chat) (?:to|with) (?:a |an |the |your )?(?:rep|representative|agent"
            r"|salesperson|sales person|sales rep|somebody|someone)(?: (?:please|now|asap|today"
            r"|instead|directly|on the phone))*(?= \||$)"
            r"|\brather (?:talk|speak|deal|chat|text) (?:to|with)\b|\bescalat(?:e|ed|ion|ing)\b"
            r"|\b(?:someone|somebody|person|anyone|anybody) in charge\b"
            r"|\b(?:from|in|at|to) (?:your )?(?:management|corporate|head office|headquarters)\b"
            r"|\bmanagement (?:call|contact|email|get back|reach|to call)\b"
            r"|\b(?:is|are) (?:anyone|anybody|someone|somebody|a person|a human|people|a real"
            r" person) (?:\w+ )?(?:reading|on the other end|there|monitoring|seeing this|behind"
            r" this|behind these)\b"
            r"|"
            + clause(
                r"operator|agent|live agent|representative|human|person|real person"
                r"|customer service|someone real|somebody real"
            ),
        ),
        (
            "human_manager",
            r"\b(?:your|ur) (?:manager|supervisor|boss|superior|higher ups?|ceo)\b"
            r"|\b(?:a|the) (?:supervisor|superior)\b"
            r"|\b(?:a|the|some) manager(?= \||$| (?:call|to call|please|now|asap|immediately"
            r"|contact|email|text|on the phone|on the line|reach out|get back|get in touch))",
        ),
        (
            "human_automated",
            r"\b(?:automated|auto generated|computer generated|canned|copy paste|copy and paste"
            r"|templated|scripted|robo|robotic|mass|form|generic|bulk) (?:message|messages|reply"
            r"|replies|response|responses|text|texts|email|emails|answer|answers|letter)\b"
            r"|\brobocalls?\b",
        ),
    ],
)

RULES += _rules(
    Category.UNSUPPORTED_COMMITMENT,
    [
        (
            "commit_price_match",
            r"\bprice (?:match|matching|matched|beat|beating|guarantee|protection|lock)\b"
            r"|\bmatch (?:the|their|this|that|his|her|a|any|my|our|competitors?|another|other"
            r"|these|those) (?:\w+ ){0,2}(?:price|prices|quote|quotes|offer|offers|bid|bids|rate"
            r"|rates|deal|deals|estimate|number|pricing)\b|\b(?:can|will|could|would|do) you"
            r" (?:guys |all )?(?:match|price match)\b",
        ),
        (
            "commit_beat",
            r"\bbeat (?:the|their|this|that|his|her|a|any|my|our|competitors?|another|other|these"
            r"|those) (?:\w+ ){0,2}(?:price|prices|quote|quotes|offer|offers|bid|bids|rate|rates"
            r"|deal|deals|estimate|number|pricing)\b|\b(?:can|will|could|would) you (?:guys |all"
            r" )?beat (?:it|that|this|them|those|their|his|her|a|any)\b|\bbeat (?:it|that|this)"
            r"(?= \||$| in writing| by)",
        ),
        (
            "commit_competitor",
            r"\b(?:competitor|competitors|competing|competition) (?:\w+ )?(?:quote|quotes|offer"
            r"|offers|bid|bids|price|prices|pricing|estimate)\b|\b(?:another|other|different"
            r"|a competing) (?:company|installer|contractor|provider|solar company|outfit"
            r"|companies|installers|contractors|providers) (?:\w+ )?(?:quoted|offered|gave|is"
            r" offering|will do|charges|is charging|came in|bid|priced)\b"
            r"|\b(?:quoted|offered|priced) (?:me |us )?(?:at |for )?(?:dollar )?\d"
            r"|\b(?:quote|bid|offer|price) of (?:dollar )?\d|\b(?:got|have|received) (?:a |an )?"
            r"(?:quote|bid|offer|price|estimate) (?:from \w+(?: \w+)? )?(?:for|of|at)"
            r" (?:dollar )?\d"
            r"|\b(?:can|could|will|would) you (?:do|go|offer|give me|give|match|sell it for|install"
            r" it for|do it for|do the job for) (?:it |that |this )?(?:for |at )?dollar \d"
            r"|\b(?:like|same as|as low as|as cheap as|what) (?:sunpower|sunrun|tesla|vivint"
            r"|sunnova|freedom forever|momentum|palmetto|trinity|blue raven|adt|sunpro|lumio"
            r"|titan solar|semper solaris|solarcity|sungevity|ion solar|sun power|solar city)\b"
            r"|\b(?:sunpower|sunrun|tesla|vivint|sunnova|freedom forever|momentum|palmetto"
            r"|trinity|blue raven|adt|sunpro|lumio|titan solar|semper solaris|solarcity"
            r"|sungevity|ion solar|sun power|solar city) (?:\w+ )?(?:quoted|offered|gave"
            r"|is offering|will do|is charging|charges|came in)\b|\b(?:sunpower|sunrun|tesla"
            r"|vivint|sunnova|freedom forever|momentum|palmetto|trinity|blue raven|adt|sunpro"
            r"|lumio|titan solar|semper solaris|solarcity|sungevity|ion solar|sun power"
            r"|solar city) (?:quote|quotes|offer|bid|proposal|estimate)\b"
            r"|\bcheaper (?:than (?:you|yours|your|them|that|theirs)|elsewhere|somewhere|option"
            r" from|quote|offer|bid)\b|\b(?:found|got|seen|saw|offered) (?:it |a |an )?"
            r"(?:cheaper|lower price|better price|better deal|better offer|better quote|lower"
            r" quote|lower bid)\b",
        ),
        (
            "commit_discount",
            r"\b(?:discount|discounts|discounted|coupon|coupons|promo|promo code|(?:any|current"
            r"|running|special|your) promotions?|promotions? (?:going|running|available"
            r"|right now|this month)|promotional (?:price|pricing|rate|offer)|better deal|best deal"
            r"|special"
            r" deal|special offer|special price|special pricing|sale price|cash back|gift card"
            r"|referral bonus|deal on|any deals|deals going|freebies?)\b"
            r"|\b\d[\d_]* (?:percent |dollars |bucks |k )?off\b",
        ),
        (
            "commit_negotiate",
            r"\b(?:lower|reduce|cut|drop|knock down|knock off|shave|bring down|come down on|go down"
            r" on|improve|sweeten|better|trim) (?:the |your |that |this |my |our )?(?:price|prices"
            r"|quote|pricing|offer|bid|estimate|rate)\b"
            r"|\b(?:lowest|best|final|bottom line|rock bottom) (?:price|prices|offer|deal|rate"
            r"|you can do|you can go|you will go|you could do|number)\b"
            r"|\b(?:give|cut|make|get|offer) (?:me|us) (?:a |an |some )?(?:deal|discount|break"
            r"|better price|good price|bargain|better offer|price break)\b"
            r"|\brock bottom\b|\bnegotiat\w*|\bhaggle\b|\bwiggle room\b|\bflexib\w+ on (?:the )?"
            r"(?:price|pricing)\b|\b(?:can|could) you (?:do|go) (?:any )?(?:better|lower|cheaper)\b"
            r"|\bknock (?:off|some)\b|\b(?:take|knock|shave|cut|drop|give me|get) (?:a |an )?"
            r"(?:dollar )?\d"
            r"[\w_]*(?: \w+)? off\b|\b(?:price|prices|pricing|quote|cost|rate) (?:\w+ )?(?:flexible"
            r"|negotiable)\b|\bflexible (?:price|pricing|on price)\b"
            r"|\b(?:price|quote|estimate|cost) (?:is|seems|sounds|looks)"
            r" (?:\w+ )?(?:too|way too|a bit|kind of|kinda|a little|very|pretty) (?:high|steep"
            r"|expensive|much)\b",
        ),
        (
            "commit_waive",
            rf"\b(?:waive|waived|waiving|waiver|forgive|forgo|skip|drop|refund) (?:the |your |any"
            rf" |this |that |a |my |our |all |those )?{FEE}\b"
            rf"|\b(?:can|will|could|would) you (?:guys |all )?(?:cover|absorb|eat|pay|pick up"
            rf"|take care of|handle) (?:the |my |our |any |all )?{FEE}\b"
            rf"|\bwithout (?:the |any )?(?:cancellation fee|dealer fee|permit fees?|origination"
            rf" fee|closing costs?|penalty|penalties|deposit)\b|\bfees? (?:waived|removed"
            rf"|dropped)\b",
        ),
        (
            "commit_free",
            r"\b(?:for free|free of charge|at no (?:extra |additional )?(?:cost|charge)|no charge"
            r"|(?:throw|toss) (?:in|it in)|complimentary|comped|free (?:battery|batteries|panel"
            r"|panels|install|installation|upgrade|upgrades|system|inverter|maintenance|cleaning"
            r"|removal|month|months|year|years|roof|electricity|power|ev charger|charger|stuff"
            r"|gift))\b|\b(?:battery|batteries|panel|panels|install|installation|upgrade"
            r"|inverter|charger|maintenance|monitoring|cleaning) (?:thrown in )?(?:for )?free\b",
            r"\b(?:quote|quotes|estimate|estimates|consultation|consultations|consult|assessment"
            r"|evaluation|site visit|survey|design|proposal|inspection|analysis|report|call"
            r"|visit)\b",
        ),
        (
            "commit_guarantee",
            r"\bguarantee (?:me|that|it|you|my|the|a|an|\d|savings|in writing|i will|we will|it"
            r" will|this will|those|these|payback|production|lower|less|no)\b"
            r"|\bguaranteed (?:savings|price|rate|return|\d|to|lower|less|no)\b|\b(?:can|will"
            r"|could|would) you (?:guys |all )?(?:guarantee|promise|commit)\b|\bpromise (?:me"
            r"|that|it|us|to|in)\b|\bin writing\b|\block (?:in|me in|us in)\b|\blocked in\b"
            r"|\block (?:the|my|this|that|a|our) (?:price|rate|quote)\b|\bhold (?:the|this|that"
            r"|my|our) (?:price|rate|quote)\b|\bhonou?r (?:the|that|this|a|my|our|their|his|her)"
            r" (?:price|quote|offer|rate|deal)\b|\bfirm (?:price|quote)\b"
            r"|\b(?:contractually|legally) (?:bind|binding|obligated|committed)\b"
            r"|\bwritten (?:guarantee|commitment|promise|assurance)\b|\bguarantee(?:d)? (?:on|of)"
            r" (?:the |my |our |your )?(?:savings|price|bill|bills|rate|payback|return|roi)\b",
        ),
    ],
)

# Markup used to smuggle instructions to a model; checked on the folded original text.
_RAW_INJECTION = re.compile(
    r"<\|[a-z_]+\|>|\[/?inst\]|<<\s*sys\s*>>|</?(?:system|assistant|user|instructions?|prompt)>"
    r"|^\s*(?:system|assistant)\s*:|#{2,}\s*(?:system|instruction|instructions|new instructions"
    r"|override)|\{\{.*?\}\}|```\s*system",
    re.MULTILINE,
)
_RAW_BOUNCE_CODE = re.compile(r"\b[45]\d\d[ -][45]\.\d{1,3}\.\d{1,3}\b")
_REPLY_SUBJECT = re.compile(r"^\s*(?:re|fw|fwd|aw|sv|tr|wg)\s*(?:\[\d+\])?\s*:", re.IGNORECASE)
_AUTO_SUBJECT = re.compile(
    r"^(?:automatic reply|auto reply|auto response|auto(?= \|)|out of (?:the )?office"
    r"|undeliverable|undelivered|delivery status notification|delivery failure|delivery failed"
    r"|failure notice|mail delivery failed|mail delivery failure|returned mail|abwesenheitsnotiz"
    r"|automatische antwort|reponse automatique|respuesta automatica|fuera de la oficina"
    r"|risposta automatica)\b"
)
_SUBJECT_RULE = Rule(Category.AUTO_REPLY, "auto_reply_subject", _AUTO_SUBJECT)
_AUTO_REPLY_RULES = [r for r in RULES if r.category == Category.AUTO_REPLY]


def _match_rules(canon: str, folded: str, rules: Iterable[Rule]) -> list[Rule]:
    matched = []
    for rule in rules:
        for m in rule.pattern.finditer(canon):
            if rule.unless is not None:
                if rule.unless_scope == "message":
                    scope = f"{canon} {folded}"
                else:
                    start = canon.rfind("|", 0, m.start()) + 1
                    end = canon.find("|", m.end())
                    scope = canon[start : end if end != -1 else len(canon)]
                if rule.unless.search(scope):
                    continue
            matched.append(rule)
            break
    return matched


def _variants(text: str) -> tuple[str, list[str]]:
    """The folded text and its canonical forms (as written, and with leetspeak undone)."""
    folded = _fold(text)
    canon = _canonical(folded)
    variants = [canon]
    deleeted = _deleet(folded)
    if deleeted != folded:
        other = _canonical(deleeted)
        if other != canon:
            variants.append(other)
    return folded, variants


def hard_block_check(*, text: str, subject: str = "") -> GateResult:
    """Whether an inbound message must never get an automatic reply, and why.

    Deterministic and cheap: no I/O, no model. `subject` is the email subject, if any; a
    "Re: …" subject echoes our own and is only checked for auto-reply markers.
    """
    body = strip_quoted(text or "")
    folded, variants = _variants(body)
    matched: list[Rule] = []
    for canon in variants:
        matched += _match_rules(canon, folded, RULES)
    if subject:
        subject_folded, subject_variants = _variants(subject)
        rules = _AUTO_REPLY_RULES if _REPLY_SUBJECT.match(subject) else RULES
        for canon in subject_variants:
            if _AUTO_SUBJECT.search(canon):
                matched.append(_SUBJECT_RULE)
            matched += _match_rules(canon, subject_folded, rules)
    if _RAW_INJECTION.search(folded):
        matched.append(Rule(Category.PROMPT_INJECTION, "injection_markup", _RAW_INJECTION))
    if _RAW_BOUNCE_CODE.search(folded):
        matched.append(Rule(Category.AUTO_REPLY, "bounce_status_code", _RAW_BOUNCE_CODE))
    for m in _NOT_NAMED.finditer(body[:MAX_CHARS]):
        if (m.group(1) or m.group(2) or m.group(3)) not in _NOT_NAMED_OK:
            matched.append(Rule(Category.WRONG_PERSON, "wrong_person_not_named", _NOT_NAMED))
            break

    if not matched:
        return NOT_BLOCKED
    categories = sorted({r.category for r in matched}, key=PRIORITY.index)
    primary = categories[0]
    return GateResult(
        blocked=True,
        category=primary.value,
        reason=REASONS[primary],
        no_reply=primary == Category.AUTO_REPLY,
        categories=tuple(c.value for c in categories),
        rules=tuple(dict.fromkeys(r.name for r in matched)),
    )
