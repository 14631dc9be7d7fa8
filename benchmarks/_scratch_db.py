"""The scratch PostgreSQL database a benchmark creates for itself and drops at the end.

A benchmark may also keep its database for the next run (``--keep``/``--reuse``): a note on
the database (``COMMENT ON DATABASE``) says what data it holds, so a later run can tell
whether the data was built by the same builder.
"""

from __future__ import annotations


def _admin_connection(config: dict):
    import psycopg

    return psycopg.connect(
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


def database_create(config: dict) -> None:
    from psycopg import sql

    with _admin_connection(config) as connection:
        name = sql.Identifier(config["NAME"])
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(name))


def database_drop(config: dict) -> None:
    from django.db import connections
    from psycopg import sql

    connections.close_all()
    with _admin_connection(config) as connection:
        name = sql.Identifier(config["NAME"])
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


def database_note(config: dict) -> str | None:
    """The note left on the database by ``database_note_set``; None if there is no database
    or no note."""
    with _admin_connection(config) as connection:
        row = connection.execute(
            "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database "
            "WHERE datname = %s",
            [config["NAME"]],
        ).fetchone()
    return (row[0] or None) if row else None


def database_note_set(config: dict, note: str) -> None:
    from psycopg import sql

    with _admin_connection(config) as connection:
        connection.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(config["NAME"]), sql.Literal(note)
            )
        )


def bench_database(default_url: str) -> dict:
    """The configuration of the benchmark's database: ``DATABASE_URL`` (set to
    ``default_url`` when missing). Anything but a PostgreSQL database whose name says
    "bench" is refused, since the benchmark creates and drops it."""
    import os
    import sys

    import environ

    url = os.environ.setdefault("DATABASE_URL", default_url)
    config = environ.Env.db_url_config(url)
    if "postgresql" not in config["ENGINE"]:
        sys.exit(f"This benchmark needs PostgreSQL; DATABASE_URL is {url!r}.")
    if "bench" not in config["NAME"]:
        sys.exit(
            f"The benchmark creates and drops its database; {config['NAME']!r} does not look "
            "like a benchmark database (its name must contain 'bench')."
        )
    return config
