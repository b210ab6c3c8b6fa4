"""``manshahrdaram move-to-postgres`` timed on a campaign of city shape (issue 15, item 6).

    .venv/bin/python -m bench.move_scale [--citizens 100000] [--pg URL] [--keep]

1. A PostgreSQL schema filled exactly as bench.city_scale fills one (``--citizens`` citizens and,
   per citizen, the same proposals, votes, 10 broadcasts' deliveries, phone hashes …).
2. Copied from there into a fresh SQLite file of this release's schema (bench-only code: the
   reverse of the move, row by row with executemany; the triggers keep the search index as the bot
   would, the delivery counters are copied as they were).
3. Timed: storage.move.move_to_postgres from that SQLite file into a second, empty schema — the
   command's whole work: migrations, one transaction of COPY per table, the sequences, the check
   (row counts and a SHA-256 sum of every row on both sides).

One figure a line: rows per table, the SQLite file's size, the move's seconds and rows a second,
and the move at 2,000,000 citizens extrapolated by rows (the copy and the check are linear in
rows: a stream of COPY in, a stream of rows read and hashed twice).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from bench.city_scale import FULL, fill, plan, with_schema
from storage.db import Database
from storage.move import _source_tables, move_to_postgres
from storage.postgres import PgDatabase

SCHEMA_PREFIX = "move_bench_"
BATCH = 20_000


def say(name: str, value) -> None:
    print(f"{name} {value}", flush=True)


async def _new_schema(server: str, role: str, migrate: bool) -> tuple[str, str]:
    schema = f"{SCHEMA_PREFIX}{role}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = with_schema(server, schema)
    if migrate:
        db = PgDatabase(url, pool_size=1)
        await db.open()
        await db.close()
    return schema, url


def _to_sqlite(url: str, path: Path) -> dict[str, int]:
    """Every table of the SQLite schema, filled from the PostgreSQL one."""
    rows: dict[str, int] = {}
    target = sqlite3.connect(path, isolation_level=None)
    target.execute("PRAGMA foreign_keys = OFF")
    target.execute("PRAGMA synchronous = OFF")
    target.execute("BEGIN")
    with psycopg.connect(url) as source:
        for name, columns in _source_tables(target):
            if name == "delivery_counts":
                target.execute("DELETE FROM delivery_counts")  # kept by the deliveries' triggers: as they were
            listed = ", ".join(f'"{c}"' for c in columns)
            insert = f'INSERT INTO "{name}" ({listed}) VALUES ({", ".join("?" * len(columns))})'
            rows[name] = 0
            with source.cursor(name=f"read_{name}") as cursor:
                cursor.execute(f'SELECT {listed} FROM "{name}"')
                while batch := cursor.fetchmany(BATCH):
                    target.executemany(insert, batch)
                    rows[name] += len(batch)
    target.execute("COMMIT")
    target.close()
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=100_000)
    parser.add_argument("--pg", default=os.environ.get("MANSHAHRDARAM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--keep", action="store_true", help="keep the schemas and the SQLite file")
    args = parser.parse_args()
    n = args.citizens
    workdir = Path(tempfile.mkdtemp(prefix="bench-move-"))
    created: list[str] = []
    say("load_average_at_start", f"{os.getloadavg()[0]:.2f}")
    try:
        schema, url = await _new_schema(args.pg, "fill", migrate=True)
        created.append(schema)
        say("plan", " ".join(f"{k}={v}" for k, v in plan(n).items()))
        t0 = time.perf_counter()
        await asyncio.to_thread(fill, url, schema, n)
        say("fill_s", f"{time.perf_counter() - t0:.1f}")

        path = workdir / "campaign.sqlite3"
        db = Database(path)
        await db.open()  # this release's schema
        await db.close()
        t0 = time.perf_counter()
        rows = await asyncio.to_thread(_to_sqlite, url, path)
        say("to_sqlite_s", f"{time.perf_counter() - t0:.1f}")
        for name, count in rows.items():
            if count:
                say(f"rows.{name}", count)
        total = sum(rows.values())
        say("rows_total", total)
        say("sqlite_mb", f"{path.stat().st_size / 1e6:.0f}")

        target, target_url = await _new_schema(args.pg, "moved", migrate=False)
        created.append(target)
        cpu0 = time.process_time()
        report = await move_to_postgres(path, target_url)
        cpu = time.process_time() - cpu0
        say("move_ok", report.ok)
        say("move_s", f"{report.seconds:.1f}")
        say("move_client_cpu_s", f"{cpu:.1f}")
        say("move_rows_per_s", f"{total / report.seconds:.0f}")
        scale = FULL / n
        say("move_s_at_2000000_citizens_by_rows", f"{report.seconds * scale:.0f} (x{scale:g} the rows)")
        say("load_average_at_end", f"{os.getloadavg()[0]:.2f}")
    finally:
        if not args.keep:
            with psycopg.connect(args.pg, autocommit=True) as conn:
                for schema in created:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            for file in workdir.iterdir():
                file.unlink()
            workdir.rmdir()
        else:
            say("kept", f"{workdir} {' '.join(created)}")


if __name__ == "__main__":
    asyncio.run(main())
