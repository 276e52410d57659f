"""Facts a lead states about themselves ("my new email is…", "I'm the head of operations at
Initech", "I'm on Pacific time") become `Proposal`s for the lead's rep: one field each, one
batch per message, with the previous value and the sentence quoted. Nothing is applied.

Only first-person statements count, so an address or number the lead merely mentions
(a colleague's, the business's own) is not proposed as theirs.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

from drafts.models import Message, Proposal
from pipeline.grounding import sentences
from pipeline.language import timezone_mentioned
from workspaces.models import Lead

_I = re.IGNORECASE
_FIRST_PERSON = re.compile(r"\b(i|i'm|im|i am|me|my|mine|i've|reach me|we're|our)\b", _I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\d)(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?!\d)")
_PHONE_CUE = re.compile(
    r"\b(my|me|i'm|i am)\b.{0,40}\b(number|phone|cell|mobile|call|text)\b|"
    r"\b(call|text|reach) me\b",
    _I,
)
_TITLE_WORDS = (
    r"ceo|cfo|cto|coo|cmo|vp|vice president|president|director|manager|head|owner|founder"
    r"|co-founder|lead|engineer|officer|partner|principal|coordinator|administrator"
    r"|supervisor|specialist|analyst|consultant|buyer|controller|accountant|architect"
)
# A company is a run of capitalised words, whatever the case-insensitivity around it.
_COMPANY_NAME = r"(?P<company>(?-i:[A-Z][\w&'.-]*(?:\s+(?:[A-Z][\w&'.-]*|&|of|and)){0,4}))"
_TITLE = re.compile(
    r"\b(?:i'm|i am|i work as|my (?:title|role|job) is|my new (?:title|role) is)\s+"
    r"(?:now\s+)?(?:the\s+|a\s+|an\s+)?"
    rf"(?P<title>[\w -]{{0,30}}?\b(?:{_TITLE_WORDS})\b[\w -]{{0,30}}?)"
    rf"(?:\s+(?:at|for|of|with)\s+{_COMPANY_NAME})?\s*(?:[.,;!]|$)",
    _I,
)
_COMPANY = re.compile(
    r"\b(?:i work (?:at|for)|i'm with|i am with|i'm now at|i am now at|i moved to|i joined"
    r"|my company is|our company is|i own|i run|my business is|we are|we're)\s+" + _COMPANY_NAME,
    _I,
)
_TIMEZONE_CUE = re.compile(
    r"\b(my (time ?zone|timezone)|(i'm|i am|we're|we are) (on|in) [\w ]{0,20}time"
    r"|(i'm|i am|we're|we are) based in|i live in|i moved to)\b",
    _I,
)


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _phone_norm(raw: str) -> str:
    digits = _digits(raw)
    if len(digits) == 10:
        return f"+1{digits}"
    if len(digits) == 11 and digits.startswith("1"):
        return f"+{digits}"
    return raw.strip()


def _clean_company(value: str) -> str:
    return value.strip().rstrip(".,;!")


def _found(text: str, lead: Lead) -> Iterator[tuple[str, str, str]]:
    """(field, value, quoted sentence) for each fact stated, first mention per field."""
    for sentence in sentences(text):
        if not _FIRST_PERSON.search(sentence):
            continue
        for match in _EMAIL.finditer(sentence):
            email = match.group(0).rstrip(".").lower()
            if email != lead.email.lower():
                yield Proposal.Field.EMAIL, email, sentence
        if _PHONE_CUE.search(sentence):
            for match in _PHONE.finditer(sentence):
                phone = _phone_norm(match.group(0))
                if _digits(phone) != _digits(lead.phone):
                    yield Proposal.Field.PHONE, phone, sentence
        title = _TITLE.search(sentence)
        if title:
            yield Proposal.Field.TITLE, title.group("title").strip(), sentence
            if title.group("company"):
                yield Proposal.Field.COMPANY, _clean_company(title.group("company")), sentence
        company = _COMPANY.search(sentence)
        if company:
            yield Proposal.Field.COMPANY, _clean_company(company.group("company")), sentence
        if _TIMEZONE_CUE.search(sentence):
            zone = timezone_mentioned(sentence)
            if zone:
                yield Proposal.Field.TIMEZONE, zone, sentence


def proposal_batch_id(message_id: uuid.UUID) -> uuid.UUID:
    """The same batch id for a message every time, so a resumed run proposes the same batch."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"replydesk:proposals:{message_id}")


def facts_proposals(*, message: Message, lead: Lead) -> list[Proposal]:
    """Unsaved proposals for the facts `message` states about `lead` that differ from what
    is on file. Saved with ON CONFLICT DO NOTHING (one per message and field)."""
    text = message.body_text
    if not text or message.body_erased_at is not None:
        return []
    proposals: dict[str, Proposal] = {}
    for field, value, sentence in _found(text, lead):
        previous = str(getattr(lead, field) or "")
        if field in proposals or not value or value.lower() == previous.lower():
            continue
        proposals[field] = Proposal(
            workspace_id=message.workspace_id,
            lead=lead,
            message=message,
            batch_id=proposal_batch_id(message.pk),
            field=field,
            proposed_value=value[:500],
            previous_value=previous[:500],
            source_text=sentence[:1000],
        )
    return list(proposals.values())
