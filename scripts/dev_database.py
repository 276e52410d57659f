"""Create the development database on the local PostgreSQL when it answers and is missing.

`make run` calls this before migrating; with DATABASE_URL set or no local PostgreSQL it does
nothing (the settings then use that URL or the embedded SQLite file).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.env import DEFAULT_POSTGRES_URL, port_answers


def main() -> int:
    if os.environ.get("DATABASE_URL") or not port_answers("127.0.0.1", 5432):
        return 0
    import psycopg

    name = DEFAULT_POSTGRES_URL.rsplit("/", 1)[1]
    admin_url = DEFAULT_POSTGRES_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"Created PostgreSQL database {name!r} on 127.0.0.1:5432")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
