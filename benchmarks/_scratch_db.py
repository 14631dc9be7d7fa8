"""The scratch PostgreSQL database a benchmark creates for itself and drops at the end."""

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
