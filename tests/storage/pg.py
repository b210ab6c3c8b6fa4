"""The PostgreSQL server tests use: its address, whether it answers, and throwaway schemas on it.

Address: env MANSHAHRDARAM_TEST_PG (default postgresql://postgres@127.0.0.1:5432/test). When it does
not answer, PostgreSQL tests skip with the reason — except with env CI=true, where they fail: CI
must never look green without having run them (.ci/run starts the server).
"""
from __future__ import annotations

import functools
import os
import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
SKIP_PREFIX = "PostgreSQL unreachable"
SCHEMA_PREFIX = "pgengine_t_"


def server_url() -> str:
    return os.environ.get("MANSHAHRDARAM_TEST_PG", DEFAULT_URL)


@functools.cache
def unreachable() -> str | None:
    """None when the server answers; else why not (one line)."""
    try:
        import psycopg
    except ImportError as exc:  # the driver is a dependency; without it nothing here runs
        return f"{SKIP_PREFIX}: psycopg is not installed ({exc})"
    try:
        with psycopg.connect(server_url(), connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"{SKIP_PREFIX} at {server_url()} (env MANSHAHRDARAM_TEST_PG): {first}"
    return None


def require() -> None:
    """Skips the calling test when the server does not answer; fails it when CI=true."""
    reason = unreachable()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} — CI=true: PostgreSQL tests must run (.ci/run starts the server)")
    pytest.skip(reason)


def with_search_path(url: str, schema: str) -> str:
    """``url`` whose connections use ``schema`` (a test's own; never behind pgbouncer)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"]
    query.append(("options", f"-csearch_path={schema}"))
    return urlunsplit(parts._replace(query=urlencode(query)))


def new_schema(server: str | None = None) -> tuple[str, str]:
    """A fresh, empty schema on ``server`` (default: server_url()): (its name, a URL whose
    connections use it)."""
    import psycopg
    server = server or server_url()
    name = SCHEMA_PREFIX + uuid.uuid4().hex[:12]
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    return name, with_search_path(server, name)


def drop_schema(name: str, server: str | None = None) -> None:
    import psycopg
    assert name.startswith(SCHEMA_PREFIX)
    with psycopg.connect(server or server_url(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def empty_schema(name: str, server: str | None = None) -> bool:
    """Every table of the schema emptied and its ids started again, as freshly migrated (the
    migrations insert no rows): a schema reused costs a few milliseconds, not half a second of
    migrations and a drop (TRUNCATE would cost as much: new files for every table). Triggers and
    foreign keys are off while it deletes (session_replication_role, the test server's superuser).
    False when that cannot be done at once (a connection of the test still holds a lock)."""
    import psycopg
    assert name.startswith(SCHEMA_PREFIX)
    try:
        with psycopg.connect(server or server_url(), autocommit=True) as conn:
            tables = [row[0] for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename != 'schema_version'", (name,))]
            sequences = [row[0] for row in conn.execute(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = %s", (name,))]
            # One round trip: every statement in one text, one transaction.
            conn.execute("BEGIN; SET LOCAL lock_timeout = '2s'; SET LOCAL session_replication_role = replica; "
                         + "".join(f'DELETE FROM "{name}"."{table}"; ' for table in tables)
                         + "".join(f"SELECT setval('\"{name}\".\"{sequence}\"', 1, false); " for sequence in sequences)
                         + "COMMIT")
    except psycopg.Error:
        return False
    return True
