"""`manage.py analytics_readonly_role [--role NAME] [--password PW] [--apply]`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from workspaces.analytics_db import (
    DEFAULT_ROLE,
    analytics_database_url,
    analytics_role_apply,
    analytics_role_password,
    analytics_role_sql,
)


class Command(BaseCommand):
    help = (
        "Print (or apply with --apply) the SQL that creates a PostgreSQL login role with SELECT "
        "on the analytics tables only, and the DATABASE_URL_RO to set for it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--role", default=DEFAULT_ROLE, help=f"Default: {DEFAULT_ROLE}.")
        parser.add_argument(
            "--password", help="The role's password (default: a new random one, printed once)."
        )
        parser.add_argument("--schema", default="public", help="Default: public.")
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            help="The connection alias whose database gets the role (default: default).",
        )
        parser.add_argument(
            "--apply",
            action="store_true",
            help="Run the SQL now (the connection's user needs "
            "CREATEROLE and the right to grant on the tables, e.g. their owner).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["database"]
        if alias not in connections:
            raise CommandError(f"No database connection named {alias!r}.")
        db_settings = connections[alias].settings_dict
        if connections[alias].vendor != "postgresql":
            raise CommandError("The read-only role needs PostgreSQL.")
        role, password = options["role"], options["password"] or analytics_role_password()
        try:
            statements = analytics_role_sql(
                role=role,
                password=password,
                database=str(db_settings["NAME"]),
                schema=options["schema"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        url = analytics_database_url(db_settings=db_settings, role=role, password=password)
        if options["apply"]:
            analytics_role_apply(statements=statements, using=alias)
            self.stdout.write(f"Role {role} is ready: SELECT on the analytics tables only.")
            self.stdout.write(f"DATABASE_URL_RO={url}")
            return
        self.stdout.write("-- Replydesk read-only analytics role. Run as the tables' owner:")
        self.stdout.write('--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f this.sql')
        self.stdout.write("BEGIN;")
        for statement in statements:
            self.stdout.write(f"{statement};")
        self.stdout.write("COMMIT;")
        self.stdout.write("-- Then set, for the web processes:")
        self.stdout.write(f"-- DATABASE_URL_RO={url}")
