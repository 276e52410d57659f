"""Migration operations that only touch the database on PostgreSQL.

The embedded SQLite fallback of `make run` has no GIN indexes; the model state still carries
the index so `makemigrations` stays quiet, and search falls back to a plain scan there.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


class PostgresOnlyAddIndex(migrations.AddIndex):
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
