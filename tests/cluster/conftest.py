"""PgDatabases opened on the test's own PostgreSQL schema (the pg_url fixture of tests/conftest.py)."""
from __future__ import annotations

import pytest


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
