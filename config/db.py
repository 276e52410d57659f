"""Which database a connection is. PostgreSQL is the product's database; the SQLite fallback
of `make run` is for looking around, and the features that need PostgreSQL say so."""

from __future__ import annotations

from django.db import connections

POSTGRESQL_REQUIRED = (
    "This needs PostgreSQL: set DATABASE_URL (the SQLite fallback is for a look around)."
)


def is_postgresql(using: str = "default") -> bool:
    return connections[using].vendor == "postgresql"


def db_connections_release() -> None:
    """Give this thread's pooled connections back before it waits on something slow (a model,
    a backoff): a waiting thread must not hold one of the few connections the process has.

    Only pooled connections outside a transaction are released; a non-pooled one (SQLite,
    DB_POOL=0) would have to reconnect, and one inside `atomic()` must finish its transaction
    first (the pipeline never calls a model inside one).
    """
    for conn in connections.all(initialized_only=True):
        if conn.connection is None or conn.in_atomic_block:
            continue
        if getattr(conn, "pool", None) is not None:
            conn.close()


def db_pools_close() -> None:
    """Close every connection and the pools behind them, for a process about to drop its
    database or exit (a pool left open keeps reconnecting in the background)."""
    for conn in connections.all():
        conn.close()
        close_pool = getattr(conn, "close_pool", None)  # PostgreSQL only
        if close_pool is not None:
            close_pool()
