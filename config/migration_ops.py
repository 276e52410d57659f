"""Migration operations that only touch the database on PostgreSQL.

The embedded SQLite fallback of `make run` has no GIN indexes, and search falls back to a
plain scan there. The full-text index is created with SQL and is not part of the model
state: SQLite rebuilds a table on most schema changes and would try to recreate every index
the state knows, GIN included.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


class PostgresOnlyRunSQL(migrations.RunSQL):
    """`RunSQL` that runs on PostgreSQL and is a no-op elsewhere."""

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
