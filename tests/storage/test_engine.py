"""The engine is chosen by the config, PostgreSQL's connection speaks SQLite's SQL, and its
migrations are applied once, by one process at a time, and refuse a newer schema in one line."""
from __future__ import annotations

import asyncio
import copy
import multiprocessing
import tomllib
from pathlib import Path

import pytest

from bot.campaign.config import ConfigError, parse_config
from storage.db import Database, DatabaseUnusable
from storage.engine import open_database
from tests.storage import pg

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))


def test_without_a_database_url_the_sqlite_file_is_used(tmp_path):
    config = parse_config(copy.deepcopy(EXAMPLE))
    assert config.database_url is None
    db = open_database(config.database_url or tmp_path / "bot.sqlite3")
    assert isinstance(db, Database) and db.dialect == "sqlite"


def test_a_postgresql_url_selects_postgresql_without_connecting():
    root = copy.deepcopy(EXAMPLE)
    root["database"] = {"url": "postgresql://bot:secret@db.example:5432/campaign"}
    config = parse_config(root)
    db = open_database(config.database_url or config.database)
    from storage.postgres import PgDatabase
    assert isinstance(db, PgDatabase) and db.dialect == "postgresql"
    assert "secret" not in db.path and "bot:***@db.example:5432" in db.path


@pytest.mark.parametrize("value, words", [("sqlite:///x.db", "must be a PostgreSQL address"),
                                          (5432, "must be a string")])
def test_a_database_url_that_is_no_postgresql_address_names_the_key(value, words):
    root = copy.deepcopy(EXAMPLE)
    root["database"] = {"url": value}
    with pytest.raises(ConfigError) as info:
        parse_config(root)
    assert str(info.value).startswith("database.url: ") and words in str(info.value)
    root["database"] = {"uri": "postgresql://x/y"}
    with pytest.raises(ConfigError, match=r"^database\.uri: is not a known setting"):
        parse_config(root)


def test_placeholders_are_translated_outside_quotes_and_percent_signs_doubled():
    from storage.postgres import translate
    assert (translate("SELECT '?%', x FROM t WHERE a = ? AND b LIKE 'a%' -- why?\n AND \"c?\" = ?")
            == "SELECT '?%%', x FROM t WHERE a = %s AND b LIKE 'a%%' -- why?\n AND \"c?\" = %s")


def test_rows_answer_by_name_and_by_position():
    from storage.postgres import _row_factory

    class Result:
        nfields = 3

        def fname(self, i):
            return (b"id", b"name", b"id")[i]

    class Cursor:
        pgresult = Result()
    row = _row_factory(Cursor())((7, "tajrish", 8))
    assert (row["id"], row["name"], row[0], row[2], row[1:]) == (7, "tajrish", 7, 8, ("tajrish", 8))
    assert row.keys() == ["id", "name"] and tuple(row) == (7, "tajrish", 8)
    with pytest.raises(KeyError):
        row["nope"]


# -- on a PostgreSQL server -------------------------------------------------------------------------

@pytest.fixture
def schema():
    pg.require()
    name, url = pg.new_schema()
    yield url
    pg.drop_schema(name)


async def test_a_database_newer_than_the_program_is_refused_in_one_line(schema):
    from storage.migrations_postgres import MIGRATIONS
    from storage.postgres import PgDatabase

    db = PgDatabase(schema, pool_size=1)
    await db.open()
    await db.write(lambda conn: conn.execute("UPDATE schema_version SET version = version + 1"))
    await db.close()
    with pytest.raises(DatabaseUnusable) as info:
        await PgDatabase(schema, pool_size=1).open()
    message = str(info.value)
    assert "\n" not in message
    assert f"schema version {len(MIGRATIONS) + 1}, newer than this program's {len(MIGRATIONS)}" in message
    assert "[database] url" in message


async def test_an_unreachable_server_is_one_line_without_the_password():
    from storage import postgres
    db = postgres.PgDatabase("postgresql://bot:hunter2@127.0.0.1:9/campaign?connect_timeout=1", pool_size=1)
    saved, postgres.CONNECT_TIMEOUT = postgres.CONNECT_TIMEOUT, 2.0
    try:
        with pytest.raises(DatabaseUnusable) as info:
            await db.open()
    finally:
        postgres.CONNECT_TIMEOUT = saved
    message = str(info.value)
    assert "\n" not in message and "hunter2" not in message
    assert message.startswith("database postgresql://bot:***@127.0.0.1:9/campaign") and "[database] url" in message


def _open_at_the_barrier(url: str, barrier, results) -> None:
    async def run():
        from storage.postgres import PgDatabase
        db = PgDatabase(url, pool_size=1)
        barrier.wait(60)
        await db.open()
        version = [tuple(row) for row in await db.read(
            lambda conn: conn.execute("SELECT version FROM schema_version").fetchall())]
        await db.close()
        return version
    try:
        results.put(("ok", asyncio.run(run())))
    except BaseException as exc:  # reported to the test
        results.put(("error", repr(exc)))


def test_two_processes_starting_on_an_empty_database_migrate_it_once(schema):
    from storage.migrations_postgres import MIGRATIONS
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(3), ctx.Queue()
    processes = [ctx.Process(target=_open_at_the_barrier, args=(schema, barrier, results)) for _ in range(3)]
    for process in processes:
        process.start()
    answers = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(60)
    # Without the advisory lock the later ones fail on CREATE TABLE (it exists) or see two rows.
    assert answers == [("ok", [(len(MIGRATIONS),)])] * 3


# -- both engines: what the repositories rely on ------------------------------------------------------

async def test_a_write_that_fails_leaves_nothing_and_the_next_one_works(repos):
    db = repos.db

    def half_then_fail(conn):
        conn.execute("INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)", ("half", "me", "x"))
        raise LookupError("the function's own fault")
    with pytest.raises(LookupError):
        await db.write(half_then_fail)
    assert await db.read(lambda conn: conn.execute("SELECT count(*) FROM leases").fetchone()[0]) == 0
    await db.write(lambda conn: conn.execute("INSERT INTO leases VALUES (?, ?, ?)", ("whole", "me", "x")))
    assert await db.read(lambda conn: [tuple(r) for r in conn.execute("SELECT name, holder FROM leases")]) == [
        ("whole", "me")]


async def test_a_duplicate_changes_nothing_and_the_transaction_goes_on(repos):
    db = repos.db

    def twice(conn):
        first = conn.unless_duplicate("INSERT INTO leases VALUES (?, ?, ?)", ("one", "a", "x"))
        second = conn.unless_duplicate("INSERT INTO leases VALUES (?, ?, ?)", ("one", "b", "y"))
        conn.execute("INSERT INTO leases VALUES (?, ?, ?)", ("two", "c", "z"))  # still in a usable transaction
        return first, second
    assert await db.write(twice) == (1, None)
    assert await db.read(lambda conn: [tuple(r) for r in conn.execute(
        "SELECT name, holder FROM leases ORDER BY name")]) == [("one", "a"), ("two", "c")]


async def test_a_write_postgresql_aborts_for_a_deadlock_runs_again_from_the_start(schema):
    import psycopg.errors

    from storage.postgres import PgDatabase
    db = PgDatabase(schema, pool_size=1)
    await db.open()
    calls = []

    def deadlocked_once(conn):
        calls.append(1)
        conn.execute("INSERT INTO leases VALUES (?, ?, ?)", (f"try-{len(calls)}", "me", "x"))
        if len(calls) == 1:
            raise psycopg.errors.DeadlockDetected("deadlock detected")
        return len(calls)
    try:
        assert await db.write(deadlocked_once) == 2
        assert await db.read(lambda conn: [r[0] for r in conn.execute("SELECT name FROM leases")]) == ["try-2"]
    finally:
        await db.close()


async def test_a_connection_the_server_closed_while_idle_is_replaced_without_a_failed_call(schema):
    import psycopg

    from storage.postgres import PgDatabase
    db = PgDatabase(schema + "&application_name=pgengine_idle_kill", pool_size=1)
    await db.open()
    try:
        await db.write(lambda conn: conn.execute("INSERT INTO leases VALUES (?, ?, ?)", ("a", "me", "x")))
        with psycopg.connect(pg.server_url(), autocommit=True) as admin:  # what a restart does to it
            assert admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                 "WHERE application_name = 'pgengine_idle_kill'").fetchone()[0] == 1
        assert await db.read(lambda conn: conn.execute("SELECT count(*) FROM leases").fetchone()[0]) == 1
        with psycopg.connect(pg.server_url(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = 'pgengine_idle_kill'")
        await db.write(lambda conn: conn.execute("INSERT INTO leases VALUES (?, ?, ?)", ("b", "me", "x")))
        assert await db.read(lambda conn: conn.execute("SELECT count(*) FROM leases").fetchone()[0]) == 2
    finally:
        await db.close()


async def test_postgresql_has_every_sqlite_table_with_its_columns_in_order_and_every_index(schema, tmp_path):
    """One SQL text serves both engines, and move-to-postgres copies tables column for column: a
    migration added to one engine's list and not the other's fails here."""
    import sqlite3

    from storage.postgres import PgDatabase
    from storage.search import SQLITE_ONLY_PREFIX
    sqlite_db = Database(tmp_path / "schema.sqlite3")
    await sqlite_db.open()
    await sqlite_db.close()
    lite = sqlite3.connect(tmp_path / "schema.sqlite3")
    tables = {name: [row[1] for row in lite.execute(f'PRAGMA table_info("{name}")')]
              for (name,) in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
              if not name.startswith(SQLITE_ONLY_PREFIX)}  # FTS5's trigram index; PostgreSQL: pg_trgm
    indexes = {name for (name,) in lite.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
    lite.close()
    db = PgDatabase(schema, pool_size=1)
    await db.open()
    try:
        def read(conn):
            columns: dict[str, list[str]] = {}
            for table, column in conn.execute(
                    "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                    "ORDER BY table_name, ordinal_position"):
                columns.setdefault(table, []).append(column)
            return columns, {row[0] for row in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")}
        pg_tables, pg_indexes = await db.read(read)
    finally:
        await db.close()
    assert {name: pg_tables.get(name) for name in tables} == tables
    assert indexes <= pg_indexes


async def test_a_database_that_does_not_exist_is_named_at_once_in_one_line(schema):
    from storage.postgres import PgDatabase
    url = pg.server_url().rsplit("/", 1)[0] + "/pgengine_no_such_database"
    with pytest.raises(DatabaseUnusable) as info:
        await PgDatabase(url, pool_size=1).open()
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"database {url} ([database] url): ")
    assert 'database "pgengine_no_such_database" does not exist' in message


async def test_closing_while_a_call_waits_for_a_lock_does_not_hang(schema):
    import time

    import psycopg

    from storage import postgres
    db = postgres.PgDatabase(schema, pool_size=1)
    await db.open()
    await db.write(lambda conn: conn.execute("INSERT INTO leases VALUES (?, ?, ?)", ("held", "me", "x")))
    saved, postgres.CLOSE_WAIT = postgres.CLOSE_WAIT, 0.5
    blocker = psycopg.connect(schema, autocommit=False)
    try:
        blocker.execute("SELECT * FROM leases FOR UPDATE").fetchall()  # holds the row
        waiting = asyncio.ensure_future(db.write(lambda conn: conn.execute(
            "UPDATE leases SET holder = ? WHERE name = ?", ("other", "held"))))
        await asyncio.sleep(0.3)
        started = time.monotonic()
        await db.close()
        assert time.monotonic() - started < 5
        with pytest.raises(psycopg.errors.QueryCanceled):
            await waiting
    finally:
        postgres.CLOSE_WAIT = saved
        blocker.rollback()
        blocker.close()
