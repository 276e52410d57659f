"""Which database a connection is. PostgreSQL is the product's database; the SQLite fallback
of `make run` is for looking around, and the features that need PostgreSQL say so."""

from __future__ import annotations

from django.db import connections

POSTGRESQL_REQUIRED = (
    "This needs PostgreSQL: set DATABASE_URL (the SQLite fallback is for a look around)."
)


def is_postgresql(using: str = "default") -> bool:
    return connections[using].vendor == "postgresql"
