"""The hard-block gate: deterministic rules, run before any LLM call, that keep a reply from
going out automatically.

It is built for categories of messages, not for sentences. The text is first brought to one
canonical form (`autosend.text_folding`: unicode look-alikes, case, accents, zero-width
characters, spaced-out letters, "sooo" stretching, leetspeak, contractions, texting shorthand
and common misspellings), split into clauses, and then matched against phrase families per
category. The families are data, one TOML file per category in `autosend/rules/` (see "Safety
gate rules as data" in docs/architecture.md); the few rules that read something other than the
canonical body (markup, bounce codes, capitalised names, the subject line) are code, below.
Each family is written to leave its benign look-alikes alone ("stop by the office", "cancel the
consultation time and pick another", "a human-sized warranty"): a false block costs auto-send
coverage, a missed one sends an automatic reply to someone who should get a human or nothing at
all.

Auto-replies and bounces get no reply at all (`no_reply`); every other block goes to review.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from autosend.text_folding import MAX_CHARS, canonical_variants

# Bump when a change to the rules (data or code) changes what the gate decides.
GATE_VERSION = "2026-11-1"
RULES_DIR = Path(__file__).with_name("rules")
FRAGMENTS_FILE = "_fragments.toml"

__all__ = [
    "GATE_VERSION",
    "MAX_CHARS",
    "NOT_BLOCKED",
    "PRIORITY",
    "REASONS",
    "RULES",
    "Category",
    "GateResult",
    "Rule",
    "RuleFileError",
    "hard_block_check",
    "load_rules",
    "strip_quoted",
]


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


@dataclass(frozen=True)
class Rule:
    category: Category
    name: str
    pattern: re.Pattern[str]
    # A match is ignored when this matches the clause it sits in ("clause") or the message.
    unless: re.Pattern[str] | None = None
    unless_scope: str = "clause"
    # Texts the rule must match, and look-alikes it must leave alone (tests/test_gate_rules.py).
    examples: tuple[str, ...] = ()
    counter_examples: tuple[str, ...] = ()


# --- Rules as data ---------------------------------------------------------------------------


class RuleFileError(ValueError):
    """A rule file the gate cannot use. Raised at import, so a broken file never serves traffic."""


_PLACEHOLDER = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")
_RULE_NAME = re.compile(r"[a-z][a-z0-9_]*")
_RULE_KEYS = frozenset(
    {"name", "patterns", "unless", "unless_scope", "examples", "counter_examples"}
)
_SCOPES = ("clause", "message")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError as exc:
        raise RuleFileError(f"{path}: missing") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RuleFileError(f"{path}: not valid TOML: {exc}") from exc


def _unwrap(text: str) -> str:
    """A pattern wrapped over several lines is one line again: the line breaks and the spaces
    that start each line are dropped (so a line never starts with a space that matters)."""
    if "\n" not in text:
        return text
    return re.sub(r"(?:^|\n)[ \t]*", "", text)


def _expand(text: str, fragments: Mapping[str, str], where: str) -> str:
    def fragment(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in fragments:
            raise RuleFileError(f"{where}: unknown fragment {{{name}}}")
        return fragments[name]

    return _PLACEHOLDER.sub(fragment, _unwrap(text))


def _strings(value: Any, where: str, key: str, *, required: bool) -> tuple[str, ...]:
    if value is None and not required:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RuleFileError(f"{where}: `{key}` must be a list of strings")
    if required and not value:
        raise RuleFileError(f"{where}: `{key}` needs at least one entry")
    return tuple(value)


@dataclass(frozen=True)
class _Fragments:
    """The named regex pieces and templates of `_fragments.toml`."""

    fragments: dict[str, str]
    templates: dict[str, str]

    def pattern(self, items: Any, where: str, key: str) -> re.Pattern[str]:
        """`items` (strings, or one-key tables naming a template) joined as alternatives."""
        if not isinstance(items, list) or not items:
            raise RuleFileError(f"{where}: `{key}` must be a non-empty list")
        alternatives = []
        for item in items:
            if isinstance(item, str):
                alternatives.append(_expand(item, self.fragments, where))
            elif (
                isinstance(item, dict)
                and len(item) == 1
                and (kind := next(iter(item))) in self.templates
                and isinstance(item[kind], str)
            ):
                body = _expand(item[kind], self.fragments, where)
                alternatives.append(self.templates[kind].replace("{BODY}", body))
            else:
                kinds = ", ".join(f"{{ {k} = '…' }}" for k in self.templates)
                raise RuleFileError(f"{where}: each of `{key}` is a string or one of {kinds}")
        try:
            return re.compile("|".join(alternatives))
        except re.error as exc:
            raise RuleFileError(f"{where}: bad pattern in `{key}`: {exc}") from exc


def _load_fragments(path: Path) -> _Fragments:
    data = _read_toml(path)
    fragments: dict[str, str] = {}
    for name, text in data.get("fragments", {}).items():
        if not _PLACEHOLDER.fullmatch(f"{{{name}}}") or not isinstance(text, str):
            raise RuleFileError(f"{path}: fragment {name!r} needs an UPPER_CASE name and a string")
        if _PLACEHOLDER.search(text):
            raise RuleFileError(f"{path}: fragment {name} uses another fragment")
        fragments[name] = _unwrap(text)
    templates = {
        kind: _expand(text, {**fragments, "BODY": "{BODY}"}, f"{path}: template {kind}")
        for kind, text in data.get("templates", {}).items()
    }
    return _Fragments(fragments, templates)


def _rule(category: Category, spec: Any, frags: _Fragments, where: str) -> Rule:
    if not isinstance(spec, dict):
        raise RuleFileError(f"{where}: a rule is a [[rule]] table")
    if unknown := sorted(set(spec) - _RULE_KEYS):
        raise RuleFileError(f"{where}: unknown key(s) {', '.join(unknown)}")
    name = spec.get("name")
    if not isinstance(name, str) or not _RULE_NAME.fullmatch(name):
        raise RuleFileError(f"{where}: `name` must be lower_snake_case")
    where = f"{where} ({name})"
    scope = spec.get("unless_scope", "clause")
    if scope not in _SCOPES:
        raise RuleFileError(f"{where}: `unless_scope` is one of {', '.join(_SCOPES)}")
    return Rule(
        category=category,
        name=name,
        pattern=frags.pattern(spec.get("patterns"), where, "patterns"),
        unless=frags.pattern(spec["unless"], where, "unless") if "unless" in spec else None,
        unless_scope=scope,
        examples=_strings(spec.get("examples"), where, "examples", required=True),
        counter_examples=_strings(
            spec.get("counter_examples"), where, "counter_examples", required=False
        ),
    )


def load_rules(directory: Path, *, reserved: Iterable[str] = ()) -> list[Rule]:
    """Every rule in `directory`: one `<category>.toml` per category, in PRIORITY order and in
    file order within a file. Fails loudly (RuleFileError naming the file and the rule) on a
    bad pattern, an unknown fragment, a duplicate or `reserved` name, or a missing file."""
    frags = _load_fragments(directory / FRAGMENTS_FILE)
    files = {p.stem: p for p in directory.glob("*.toml") if p.name != FRAGMENTS_FILE}
    if unknown := sorted(set(files) - {c.value for c in Category}):
        raise RuleFileError(f"{directory}: no category named {', '.join(unknown)}")
    if missing := [c.value for c in PRIORITY if c.value not in files]:
        raise RuleFileError(f"{directory}: no rule file for {', '.join(missing)}")
    defined_in = dict.fromkeys(reserved, "autosend/gate.py")
    rules = []
    for category in PRIORITY:
        path = files[category.value]
        data = _read_toml(path)
        if set(data) - {"rule"} or not isinstance(data.get("rule"), list):
            raise RuleFileError(f"{path}: holds [[rule]] tables and nothing else")
        for number, spec in enumerate(data["rule"], start=1):
            rule = _rule(category, spec, frags, f"{path}: rule {number}")
            if rule.name in defined_in:
                raise RuleFileError(
                    f"{path}: rule {rule.name} is already defined in {defined_in[rule.name]}"
                )
            defined_in[rule.name] = path.name
            rules.append(rule)
    return rules


# --- Rules in code: they read the original text or the subject, not the canonical body ------

# Markup used to smuggle instructions to a model; checked on the folded original text.
_RAW_INJECTION = re.compile(
    r"<\|[a-z_]+\|>|\[/?inst\]|<<\s*sys\s*>>|</?(?:system|assistant|user|instructions?|prompt)>"
    r"|^\s*(?:system|assistant)\s*:|#{2,}\s*(?:system|instruction|instructions|new instructions"
    r"|override)|\{\{.*?\}\}|```\s*system",
    re.MULTILINE,
)
_RAW_BOUNCE_CODE = re.compile(r"\b[45]\d\d[ -][45]\.\d{1,3}\.\d{1,3}\b")
_INJECTION_MARKUP = Rule(Category.PROMPT_INJECTION, "injection_markup", _RAW_INJECTION)
_BOUNCE_STATUS_CODE = Rule(Category.AUTO_REPLY, "bounce_status_code", _RAW_BOUNCE_CODE)
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
_NOT_NAMED_RULE = Rule(Category.WRONG_PERSON, "wrong_person_not_named", _NOT_NAMED)

_REPLY_SUBJECT = re.compile(r"^\s*(?:re|fw|fwd|aw|sv|tr|wg)\s*(?:\[\d+\])?\s*:", re.IGNORECASE)
_AUTO_SUBJECT = re.compile(
    r"^(?:automatic reply|auto reply|auto response|auto(?= \|)|out of (?:the )?office"
    r"|undeliverable|undelivered|delivery status notification|delivery failure|delivery failed"
    r"|failure notice|mail delivery failed|mail delivery failure|returned mail|abwesenheitsnotiz"
    r"|automatische antwort|reponse automatique|respuesta automatica|fuera de la oficina"
    r"|risposta automatica)\b"
)
_SUBJECT_RULE = Rule(Category.AUTO_REPLY, "auto_reply_subject", _AUTO_SUBJECT)
CODE_RULES = (_INJECTION_MARKUP, _BOUNCE_STATUS_CODE, _NOT_NAMED_RULE, _SUBJECT_RULE)

RULES: list[Rule] = load_rules(RULES_DIR, reserved=[r.name for r in CODE_RULES])
_AUTO_REPLY_RULES = [r for r in RULES if r.category == Category.AUTO_REPLY]


# --- Applying the rules ----------------------------------------------------------------------


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


def hard_block_check(*, text: str, subject: str = "") -> GateResult:
    """Whether an inbound message must never get an automatic reply, and why.

    Deterministic and cheap: no I/O, no model. `subject` is the email subject, if any; a
    "Re: …" subject echoes our own and is only checked for auto-reply markers.
    """
    body = strip_quoted(text or "")
    folded, variants = canonical_variants(body)
    matched: list[Rule] = []
    for canon in variants:
        matched += _match_rules(canon, folded, RULES)
    if subject:
        subject_folded, subject_variants = canonical_variants(subject)
        rules = _AUTO_REPLY_RULES if _REPLY_SUBJECT.match(subject) else RULES
        for canon in subject_variants:
            if _AUTO_SUBJECT.search(canon):
                matched.append(_SUBJECT_RULE)
            matched += _match_rules(canon, subject_folded, rules)
    if _RAW_INJECTION.search(folded):
        matched.append(_INJECTION_MARKUP)
    if _RAW_BOUNCE_CODE.search(folded):
        matched.append(_BOUNCE_STATUS_CODE)
    for m in _NOT_NAMED.finditer(body[:MAX_CHARS]):
        if (m.group(1) or m.group(2) or m.group(3)) not in _NOT_NAMED_OK:
            matched.append(_NOT_NAMED_RULE)
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
