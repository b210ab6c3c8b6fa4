"""A pytest plugin: the PostgreSQL tests' throwaway schemas become throwaway databases reached through
pgbouncer, so the storage contract suite runs behind it unchanged.

tests/storage/pg.py gives each test a schema and a URL whose ``options=-csearch_path=…`` selects it;
pgbouncer 1.18 refuses that start-up parameter ("unsupported startup parameter: options"). A database
per test needs no session setting at all:

    MANSHAHRDARAM_TEST_PGBOUNCER=postgresql://postgres@127.0.0.1:6432/test \\
        .venv/bin/python -m pytest -q -p bench.pgbouncer.db_per_test tests/storage -k postgresql

Tests that build their own schema and call ``pg.with_search_path`` (tests/cluster, tests/test_rate_budget.py,
tests/test_scheduled_duties.py) get a database named as their schema instead, dropped at the end. With
env MANSHAHRDARAM_TEST_DATABASE set too (tests/conftest.py: the bot fixtures on PostgreSQL), the bots'
databases go through pgbouncer as well.

Databases are made and dropped on the server itself (env MANSHAHRDARAM_TEST_PG, the direct address);
the tests' connections go through pgbouncer. Without MANSHAHRDARAM_TEST_PGBOUNCER the plugin does nothing.
"""
from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

PREFIX = "pgbench_bouncer_"


def _with_database(url: str, name: str) -> str:
    # A query part as the schema URLs have (``?options=…``): some tests append ``&application_name=…``.
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name, query=parts.query or "application_name=pgbench_bouncer"))


_created: set[str] = set()


def _create(name: str) -> None:
    import psycopg
    from psycopg import errors

    from tests.storage import pg
    # Always on the test server (MANSHAHRDARAM_TEST_PG): pgbouncer passes every database name to it.
    with psycopg.connect(pg.server_url(), autocommit=True) as conn:
        try:
            conn.execute(f'CREATE DATABASE "{name}"')
        except errors.DuplicateDatabase:
            pass
    _created.add(name)


def _drop(name: str) -> None:
    import psycopg

    from tests.storage import pg
    with psycopg.connect(pg.server_url(), autocommit=True) as conn:
        # FORCE: pgbouncer keeps idle server connections to it.
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _created.discard(name)


def pytest_configure(config) -> None:
    bouncer = os.environ.get("MANSHAHRDARAM_TEST_PGBOUNCER")
    if not bouncer:
        return
    from tests.storage import pg

    def new_schema(server: str | None = None) -> tuple[str, str]:
        name = PREFIX + uuid.uuid4().hex[:12]
        _create(name)
        return name, _with_database(bouncer, name)

    def drop_schema(name: str, server: str | None = None) -> None:
        assert name.startswith(PREFIX)
        _drop(name)

    def with_search_path(url: str, schema: str) -> str:
        # Other tests make their schema on the server, then ask for a URL that uses it: they get a
        # database of that name instead (their DROP SCHEMA leaves it; pytest_unconfigure drops it).
        _create(schema)
        return _with_database(bouncer, schema)

    pg.new_schema = new_schema
    pg.drop_schema = drop_schema
    pg.with_search_path = with_search_path


def pytest_unconfigure(config) -> None:
    for name in sorted(_created):
        _drop(name)
