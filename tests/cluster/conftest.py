"""A throwaway PostgreSQL schema per test (prefix inbox_workers_); the address comes from
tests/storage/pg.py (env MANSHAHRDARAM_TEST_PG): unreachable, the test skips with the reason, or fails
when CI=true."""
from __future__ import annotations

import uuid

import pytest

from tests.storage import pg

PREFIX = "inbox_workers_"


def new_schema() -> tuple[str, str]:
    import psycopg
    name = PREFIX + uuid.uuid4().hex[:12]
    with psycopg.connect(pg.server_url(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    return name, pg.with_search_path(pg.server_url(), name)


def drop_schema(name: str) -> None:
    import psycopg
    assert name.startswith(PREFIX)
    with psycopg.connect(pg.server_url(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def pg_url():
    """A URL whose connections use a fresh, empty schema of their own."""
    pg.require()
    name, url = new_schema()
    yield url
    drop_schema(name)


@pytest.fixture
async def pg_open(pg_url):
    """Opens PgDatabases on the test's schema (migrated by the first); all closed after the test."""
    from storage.postgres import PgDatabase

    opened = []

    async def open_(pool_size: int = 4):
        db = PgDatabase(pg_url, pool_size=pool_size)
        await db.open()
        opened.append(db)
        return db
    yield open_
    for db in reversed(opened):
        await db.close()
