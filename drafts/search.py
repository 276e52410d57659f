"""Queue search: one box for a lead's name, email or phone and the text of the message or
the draft, answered by PostgreSQL full-text search on GIN indexes.

Each clause is written with the very expression its index is built on (migration
`drafts.0006`), so the planner can use `draft_text_fts`, `message_inbound_fts` and
`lead_identity_fts`; tests/test_queue_search.py checks it does. Words are matched as
prefixes ("ros" finds "Rosa", "ada" finds "ada@example.com"); every word must match
somewhere (the lead, the message or the reply). On the
embedded SQLite fallback a plain case-insensitive scan stands in.
"""

from __future__ import annotations

import re
from functools import reduce
from operator import and_

from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from config.db import is_postgresql
from drafts.models import Draft

MAX_TERMS = 8
_WORD = re.compile(r"[\w@.+'-]+", re.UNICODE)
_PHONE = re.compile(r"^\+?[\d\s().-]{7,}$")
_LEXEME_JUNK = re.compile(r"[^\w.-]+", re.UNICODE)

# The indexed expressions (keep in step with drafts/migrations/0006).
_DRAFT_SQL = (
    "SELECT id FROM drafts_draft WHERE workspace_id = %s AND "
    "to_tsvector('english'::regconfig, COALESCE(text, ''::text)) @@ to_tsquery('english', %s)"
)
_MESSAGE_SQL = (
    "SELECT id FROM drafts_message WHERE workspace_id = %s AND direction = 'inbound' AND "
    "to_tsvector('english'::regconfig, COALESCE(body_text, ''::text)) "
    "@@ to_tsquery('english', %s)"
)
_LEAD_SQL = (
    "SELECT id FROM workspaces_lead WHERE workspace_id = %s AND "
    "to_tsvector('simple'::regconfig, name || ' ' || replace(email, '@', ' ') || ' ' "
    "|| phone || ' ' "
    "|| regexp_replace(phone, '[^0-9]', '', 'g') || ' ' "
    "|| right(regexp_replace(phone, '[^0-9]', '', 'g'), 10) || ' ' "
    "|| right(regexp_replace(phone, '[^0-9]', '', 'g'), 7)) @@ to_tsquery('simple', %s)"
)


def search_terms(q: str) -> list[str]:
    """The words of a search, cleaned to what a tsquery lexeme may hold. A phone number
    typed with spaces or dashes becomes its digits, one term."""
    text = (q or "").strip()
    if _PHONE.match(text):
        return [re.sub(r"\D", "", text)]
    # An email is indexed as its two halves (the parser would read "ada@exa" as a phrase).
    words = [part for word in _WORD.findall(text) for part in word.split("@")]
    terms = [_LEXEME_JUNK.sub("", word).strip(".-") for word in words]
    return [t for t in terms if t][:MAX_TERMS]


def tsquery_of(term: str) -> str:
    """`'word':*`: the term as a prefix. Terms hold no quotes (see `search_terms`)."""
    return f"'{term}':*"


def drafts_matching(queryset: QuerySet[Draft], *, workspace_id: object, q: str) -> QuerySet[Draft]:
    """`queryset` narrowed to drafts where every word of `q` is in the lead's name, email or
    phone, the message or the reply (an empty or wordless search leaves it as it is)."""
    terms = search_terms(q)
    if not terms:
        return queryset
    match = _indexed if is_postgresql() else _scan
    return queryset.filter(reduce(and_, (match(str(workspace_id), term) for term in terms)))


def _indexed(workspace_id: str, term: str) -> Q:
    # The SQL is constant; the workspace and the query travel as parameters.
    params = (workspace_id, tsquery_of(term))
    return (
        Q(pk__in=RawSQL(_DRAFT_SQL, params))  # noqa: S611
        | Q(trigger_message_id__in=RawSQL(_MESSAGE_SQL, params))  # noqa: S611
        | Q(conversation__lead_id__in=RawSQL(_LEAD_SQL, params))  # noqa: S611
    )


def _scan(workspace_id: str, term: str) -> Q:
    return (
        Q(text__icontains=term)
        | Q(trigger_message__body_text__icontains=term)
        | Q(conversation__lead__name__icontains=term)
        | Q(conversation__lead__email__icontains=term)
        | Q(conversation__lead__phone__icontains=term)
    )
