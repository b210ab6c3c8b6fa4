"""The PostgreSQL engine behind pgbouncer in transaction mode (bench/pgbouncer/).

Runs only when env MANSHAHRDARAM_TEST_PGBOUNCER names a pgbouncer in transaction mode in front of
the test server (MANSHAHRDARAM_TEST_PG), e.g.

    pgbouncer -u postgres bench/pgbouncer/pgbouncer.ini &
    MANSHAHRDARAM_TEST_PGBOUNCER=postgresql://postgres@127.0.0.1:6432/test .venv/bin/python -m pytest -q tests/test_pgbouncer.py

pgbouncer is not part of the product, so nothing else requires it. Each test gets a database of its
own (a schema would need the ``options`` start-up parameter, which pgbouncer 1.18 refuses).
"""
from __future__ import annotations

import asyncio
import os
import threading
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.storage import pg

PGBOUNCER_URL = os.environ.get("MANSHAHRDARAM_TEST_PGBOUNCER", "")

pytestmark = pytest.mark.skipif(
    not PGBOUNCER_URL, reason="env MANSHAHRDARAM_TEST_PGBOUNCER (a pgbouncer URL, see bench/pgbouncer/) is not set")

DB_PREFIX = "pgbench_bouncer_"


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def _admin(command: str) -> list[tuple]:
    """pgbouncer's admin console (simple queries only)."""
    import psycopg
    with psycopg.connect(_with_database(PGBOUNCER_URL, "pgbouncer"), autocommit=True, prepare_threshold=None) as conn:
        return conn.execute(command).fetchall()


@pytest.fixture
def bouncer_db():
    """(URL through pgbouncer, direct URL) of a fresh database, dropped afterwards."""
    import psycopg
    pg.require()
    name = DB_PREFIX + uuid.uuid4().hex[:12]
    with psycopg.connect(pg.server_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(PGBOUNCER_URL, name), _with_database(pg.server_url(), name)
    finally:
        with psycopg.connect(pg.server_url(), autocommit=True) as conn:
            # FORCE: pgbouncer keeps idle server connections to it.
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_pgbouncer_pools_by_transaction():
    """What the rest means: a server connection is lent for one transaction only."""
    config = {row[0]: row[1] for row in _admin("SHOW CONFIG")}
    assert config["pool_mode"] == "transaction"


async def test_processes_starting_at_once_migrate_once_through_pgbouncer(bouncer_db):
    from storage.migrations_postgres import MIGRATIONS
    from storage.postgres import PgDatabase, schema_version

    url, direct = bouncer_db
    dbs = [PgDatabase(url, pool_size=2) for _ in range(4)]
    try:
        await asyncio.gather(*(db.open() for db in dbs))
    finally:
        await asyncio.gather(*(db.close() for db in dbs))
    assert schema_version(direct) == len(MIGRATIONS)


async def _multiplexed_writes(url: str, clients: int, writes: int) -> tuple[dict[int, set[int]], int]:
    """``clients`` engine connections each committing ``writes`` transactions of the same text;
    returns the server backends each client connection was lent, and the rows committed."""
    from storage.postgres import PgDatabase

    seen: dict[int, set[int]] = {}
    lock = threading.Lock()

    def setup(conn) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS bouncer_marks (id BIGSERIAL PRIMARY KEY, client BIGINT NOT NULL,"
                     " backend INTEGER NOT NULL)")

    def mark(conn) -> None:
        backend = conn.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"]
        # The same text on the same client connection many times: psycopg would prepare it (after 5)
        # unless told not to, and the next transaction on another server would not find it.
        conn.execute("INSERT INTO bouncer_marks (client, backend) VALUES (?, ?)", (id(conn.raw), backend))
        with lock:
            seen.setdefault(id(conn.raw), set()).add(backend)

    def count(conn) -> int:
        return conn.execute("SELECT COUNT(*) FROM bouncer_marks").fetchone()[0]

    db = PgDatabase(url, pool_size=clients)
    await db.open()
    try:
        await db.write(setup)

        async def client() -> None:
            for _ in range(writes):
                await db.write(mark)
        await asyncio.gather(*(client() for _ in range(clients)))
        return seen, await db.read(count)
    finally:
        await db.close()


async def test_writes_whose_transactions_move_between_server_connections_all_commit(bouncer_db):
    url, _ = bouncer_db
    clients, writes = 12, 25
    seen, rows = await _multiplexed_writes(url, clients, writes)
    assert rows == clients * writes
    # The pooling was exercised: some client connection's transactions ran on several servers.
    assert max(len(backends) for backends in seen.values()) >= 2, seen


def test_prepared_statements_break_behind_this_pgbouncer(bouncer_db):
    """The control: with psycopg's prepared statements on, the same traffic fails here; the engine
    passes above only because it prepares nothing (prepare_threshold=None)."""
    import psycopg

    url, _ = bouncer_db
    errors: list[str] = []
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
        conn.execute("CREATE TABLE bouncer_prepared (id BIGSERIAL PRIMARY KEY, n INTEGER NOT NULL)")

    def client() -> None:
        try:
            with psycopg.connect(url, autocommit=True, prepare_threshold=0) as conn:
                for n in range(30):
                    with conn.transaction():
                        conn.execute("INSERT INTO bouncer_prepared (n) VALUES (%s)", (n,))
        except psycopg.Error as exc:
            errors.append(str(exc).splitlines()[0])

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors and all("prepared statement" in error for error in errors), errors
