"""Knowledge retrieval: any-word full-text search on the GIN index, scoped to a workspace."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection

from ops.provisioning import DEMO_KNOWLEDGE
from pipeline.knowledge import (
    KNOWLEDGE_SEARCH_SQL,
    KNOWLEDGE_SEARCH_VECTOR,
    knowledge_documents_load,
    knowledge_file_read,
    knowledge_search,
)
from pipeline.models import KnowledgeDocument

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded(tenant):
    knowledge_documents_load(
        workspace=tenant.workspace, documents=knowledge_file_read(DEMO_KNOWLEDGE)
    )
    return tenant


@pytest.mark.parametrize(
    ("text", "best"),
    [
        ("Hi, roughly how much would a 7kW system cost?", "Pricing"),
        ("Is there a lease option?", "Financing"),
        ("Do you install in Reno Nevada?", "Service area"),
        ("What warranty comes with the panels?", "Warranty"),
        ("How much extra is a battery?", "Batteries"),
        ("What are your office hours?", "Contact"),
        ("I'd like to book a consultation, what times do you have?", "Consultations"),
    ],
)
def test_the_answering_document_ranks_first(loaded, text, best):
    hits = knowledge_search(workspace_id=loaded.workspace.pk, text=text)
    assert hits[0].title == best
    assert hits[0].rank > 0


def test_a_match_on_any_word_is_enough(loaded):
    # plainto_tsquery would demand every word ("pergola" is in no document).
    hits = knowledge_search(workspace_id=loaded.workspace.pk, text="pergola battery")
    assert [h.title for h in hits] == ["Batteries"]


def test_nothing_to_search_for_finds_nothing(loaded):
    assert knowledge_search(workspace_id=loaded.workspace.pk, text="the and of ?!") == []


def test_another_workspace_documents_are_never_found(loaded, other_tenant):
    assert knowledge_search(workspace_id=other_tenant.workspace.pk, text="battery price") == []


def test_search_text_with_query_syntax_is_harmless(loaded):
    hits = knowledge_search(
        workspace_id=loaded.workspace.pk, text='"battery" -lease OR (warranty & | !) :*'
    )
    assert {h.title for h in hits} >= {"Batteries", "Warranty"}


def test_the_query_can_use_the_gin_index(loaded):
    from django.contrib.postgres.search import SearchQuery

    query = SearchQuery("battery or price", search_type="websearch", config="english")
    # The same expression knowledge_search filters on, without the workspace filter so
    # the GIN index is the only index that can answer.
    queryset = KnowledgeDocument.objects.annotate(search=KNOWLEDGE_SEARCH_VECTOR).filter(
        search=query
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = queryset.explain()
    assert "knowledge_fts" in plan


def test_the_search_sql_uses_the_indexed_expression():
    """knowledge_search runs hand-written SQL: its document vector must be exactly the
    ORM expression the GIN index is built on, in the filter and in the rank."""
    sql, params = (
        KnowledgeDocument.objects.annotate(search=KNOWLEDGE_SEARCH_VECTOR)
        .values("search")
        .query.sql_with_params()
    )
    with connection.cursor() as cursor:
        # Composed client-side whatever the connection's binding (config.env).
        composed = psycopg.ClientCursor(cursor.connection).mogrify(sql, params)
    vector = composed.removeprefix("SELECT ").split(' AS "search"')[0]
    assert vector.startswith("to_tsvector('english'::regconfig, ")
    assert KNOWLEDGE_SEARCH_SQL.count(vector) == 2
