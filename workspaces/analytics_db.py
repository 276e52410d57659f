"""The read-only analytics connection: which alias the timing and ops pages read through, and
the SQL that makes the PostgreSQL role behind it.

With `DATABASE_URL_RO` set, settings add the `readonly` alias and those pages read through it:
the role can SELECT the tables they read, and on tables holding message or draft text only the
other columns, so a bug (or an injected query) on an analytics page can neither change data
nor read what leads wrote. Writes (the timing processor, knob changes) always use `default`.

The alias may point at a replica: figures may then lag the primary by the replication delay.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from psycopg import sql

READONLY_ALIAS = "readonly"
DEFAULT_ROLE = "replydesk_ro"

# Every table the timing page, the timing summary API and the /ops/ pages read, with the
# columns withheld from the role: message and draft text (and JSON holding it), secrets,
# password hashes and third-party identifiers no figure needs. The read queries of those
# pages never select a withheld column (PostgreSQL would refuse them).
ANALYTICS_TABLES: dict[str, frozenset[str]] = {
    "timing.ResponseTimingEvent": frozenset(),
    "workspaces.Workspace": frozenset(),
    "workspaces.WorkspaceSettings": frozenset(),
    "workspaces.SettingsChange": frozenset(),
    "workspaces.Channel": frozenset(
        {"key", "secret", "previous_secret", "outbound_secret", "outbound_url"}
    ),
    "auth.User": frozenset({"password"}),
    "drafts.Conversation": frozenset({"subject", "external_id"}),
    "drafts.Message": frozenset(
        {"subject", "body_text", "body_html", "external_id", "transport_message_id"}
    ),
    "drafts.Draft": frozenset({"text", "original_text"}),
    "drafts.DraftAction": frozenset({"final_text", "diff", "note"}),
    "pipeline.PipelineRun": frozenset({"context_pack", "error"}),
    "pipeline.PipelineArtifact": frozenset({"payload", "text"}),
    "pipeline.AIInteraction": frozenset(),
    "autosend.ScheduledSend": frozenset({"text", "last_error", "transport_message_id"}),
    "autosend.AutoSendVerdict": frozenset({"detail"}),
}

_ROLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def analytics_db() -> str:
    """The alias analytics reads go through: `readonly` when configured, else `default`."""
    return READONLY_ALIAS if READONLY_ALIAS in settings.DATABASES else DEFAULT_DB_ALIAS


@dataclass(frozen=True)
class TableGrant:
    table: str
    columns: tuple[str, ...] | None  # None: every column


def analytics_table_grants() -> list[TableGrant]:
    """What the role may read, from the models: whole tables, or the allowed columns."""
    grants = []
    for label, withheld in ANALYTICS_TABLES.items():
        model = apps.get_model(label)
        fields = {f.name: f.column for f in model._meta.concrete_fields}
        unknown = withheld - fields.keys()
        if unknown:
            raise LookupError(f"{label} has no field(s) {sorted(unknown)}")
        columns = tuple(column for name, column in fields.items() if name not in withheld)
        grants.append(TableGrant(model._meta.db_table, columns if withheld else None))
    return grants


def analytics_role_password() -> str:
    return secrets.token_urlsafe(24)


def _check_role(role: str) -> None:
    if not _ROLE_NAME.match(role):
        raise ValueError("the role name must be letters, digits and _ (at most 63)")


def analytics_role_sql(*, role: str, password: str, database: str, schema: str) -> list[str]:
    """Statements that create the role (or bring an existing one back to exactly this), to run
    in one transaction. Re-running them is safe: everything broader is revoked first, so the
    role ends with CONNECT, USAGE on the schema and SELECT on the analytics tables only.

    PUBLIC's own privileges still apply (on PostgreSQL 14 and older that includes CREATE on
    the public schema: revoke it from PUBLIC there)."""
    _check_role(role)
    if not password:
        raise ValueError("the password cannot be empty")
    ident, name = sql.Identifier(role), sql.Literal(role)
    db, ns = sql.Identifier(database), sql.Identifier(schema)
    statements = [
        sql.SQL(
            "DO $$\nBEGIN\n"
            "  IF EXISTS (SELECT FROM pg_catalog.pg_roles\n"
            "             WHERE rolname = {name} AND rolsuper) THEN\n"
            "    RAISE EXCEPTION 'role % is a superuser: choose another name', {name};\n"
            "  END IF;\n"
            "  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {name}) THEN\n"
            "    CREATE ROLE {ident} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;\n"
            "  END IF;\n"
            "END\n$$"
        ).format(name=name, ident=ident),
        sql.SQL("ALTER ROLE {} NOINHERIT LOGIN PASSWORD {}").format(ident, sql.Literal(password)),
        # Belt and braces: the grants are the boundary, this makes a stray write fail early.
        sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(ident),
        sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(ns, ident),
        sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {} FROM {}").format(ns, ident),
        sql.SQL("REVOKE ALL ON SCHEMA {} FROM {}").format(ns, ident),
        sql.SQL("REVOKE ALL ON DATABASE {} FROM {}").format(db, ident),
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, ident),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(ns, ident),
    ]
    for grant in analytics_table_grants():
        table = sql.Identifier(schema, grant.table)
        if grant.columns is None:
            statements.append(sql.SQL("GRANT SELECT ON TABLE {} TO {}").format(table, ident))
        else:
            columns = sql.SQL(", ").join(sql.Identifier(c) for c in grant.columns)
            statements.append(
                sql.SQL("GRANT SELECT ({}) ON TABLE {} TO {}").format(columns, table, ident)
            )
    return [statement.as_string(None) for statement in statements]


def analytics_role_drop_sql(*, role: str) -> list[str]:
    """Statements that remove the role again: its grants in the connected database, then the
    role (which must hold nothing in other databases)."""
    _check_role(role)
    ident = sql.Identifier(role)
    # DROP OWNED also revokes the role's privileges on the database itself.
    return [
        sql.SQL("DROP OWNED BY {}").format(ident).as_string(None),
        sql.SQL("DROP ROLE {}").format(ident).as_string(None),
    ]


def analytics_database_url(*, db_settings: dict[str, Any], role: str, password: str) -> str:
    """`DATABASE_URL_RO` for the role, on the same server and database as `db_settings`."""
    host = db_settings.get("HOST") or "127.0.0.1"
    port = db_settings.get("PORT")
    where = f"{host}:{port}" if port else str(host)
    url = f"postgres://{quote(role, safe='')}:{quote(password, safe='')}@{where}/"
    url += quote(str(db_settings["NAME"]), safe="")
    sslmode = (db_settings.get("OPTIONS") or {}).get("sslmode")
    return f"{url}?sslmode={quote(str(sslmode))}" if sslmode else url


def analytics_role_apply(*, statements: list[str], using: str = DEFAULT_DB_ALIAS) -> None:
    """Run the statements in one transaction as the connection's (privileged) user."""
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
