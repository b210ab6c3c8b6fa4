"""CPU per storage operation on SQLite and on PostgreSQL, in one run (ratios, not absolute times).

    .venv/bin/python -m bench.storage_engines [--ops 3000] [--concurrency 8] [--pg URL]

For each engine: a fresh database (a temporary SQLite file; a throwaway schema on the PostgreSQL
server, dropped after), a ballot of 20 proposals, then, timed:
- ``enter``: get_or_create of a citizen who exists (the read every update starts with),
- ``cast``: a new vote (one transaction: eligibility, limit, insert),
- ``ballot``: a ballot page with counts (what a citizen opens).
``concurrency`` operations are in flight at once (a worker's concurrent updates). Printed per
operation: ops/s, this process's CPU ms/op (time.process_time), and for PostgreSQL the CPU ms/op of
its server processes serving the run (utime+stime from /proc/<pid>/stat of the backends whose
application_name is this run's; same machine only).
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import tempfile
import time
import uuid
from pathlib import Path

from storage.engine import open_database
from storage.repositories import Repositories

NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
HOOD = "tajrish"
PROPOSALS = 20
APP_NAME = "bench_storage_engines"
TICK = os.sysconf("SC_CLK_TCK")


async def seed(repos: Repositories, citizens: int) -> tuple[list[int], list[int]]:
    author, _ = await repos.citizens.get_or_create("telegram", 1, 1, NOW)
    await repos.citizens.set_neighbourhood(author.id, HOOD)
    proposals = []
    for n in range(PROPOSALS):
        await repos.drafts.update(author.id, NOW, category_id="cleanliness", title=f"t{n}", description="d")
        proposal = await repos.proposals.submit_draft(author.id, HOOD, "telegram", lambda n=n: f"B{n:05d}", 100, NOW)
        await repos.proposals.decide(proposal.id, "approved", "bench", NOW)
        await repos.proposals.set_feasibility(proposal.id, "feasible", "", "bench", NOW)
        await repos.proposals.set_cost(proposal.id, 1000, "bench", NOW)
        proposals.append(proposal.id)
    people = []
    for user in range(10, 10 + citizens):
        person, _ = await repos.citizens.get_or_create("telegram", user, user, NOW)
        await repos.citizens.set_neighbourhood(person.id, HOOD)
        people.append(person.id)
    return people, proposals


def backend_cpu_ticks(url: str | None) -> int:
    """CPU ticks used so far by the server processes of this run's connections (0 without PostgreSQL)."""
    if url is None:
        return 0
    import psycopg
    with psycopg.connect(url, autocommit=True) as conn:
        pids = [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND pid != pg_backend_pid()", (APP_NAME,))]
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total


async def timed(name: str, ops: int, concurrency: int, op, pg_url: str | None) -> dict:
    counter = iter(range(ops))

    async def runner():
        for i in counter:
            await op(i)
    server0, cpu0, wall0 = backend_cpu_ticks(pg_url), time.process_time(), time.perf_counter()
    await asyncio.gather(*(runner() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    server = (backend_cpu_ticks(pg_url) - server0) / TICK
    return {"op": name, "ops_s": ops / wall, "cpu_ms": 1000 * cpu / ops, "server_ms": 1000 * server / ops}


async def run_engine(engine: str, address: str, ops: int, concurrency: int, pg_url: str | None) -> list[dict]:
    db = open_database(address)
    await db.open()
    try:
        repos = Repositories(db)
        citizens = max(ops // PROPOSALS + 1, concurrency * 4)
        people, proposals = await seed(repos, citizens)
        await repos.citizens.get_or_create("telegram", 10, 10, NOW)  # warm

        async def enter(i):
            user = 10 + i % len(people)
            await repos.citizens.get_or_create("telegram", user, user, NOW)

        async def cast(i):
            # Citizen i % n votes for proposal i // n: every vote new, the citizens interleaved.
            status, _ = await repos.votes.cast(people[i % len(people)], proposals[(i // len(people)) % PROPOSALS],
                                               HOOD, PROPOSALS, NOW)
            assert status == "voted", status

        async def ballot(i):
            await repos.votes.ballot_page(people[i % len(people)], HOOD, 0, 5, True)

        return [await timed(name, ops, concurrency, op, pg_url)
                for name, op in (("enter", enter), ("cast", cast), ("ballot", ballot))]
    finally:
        await db.close()


def with_schema(url: str, schema: str) -> str:
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("options", "application_name")]
    query += [("options", f"-csearch_path={schema}"), ("application_name", APP_NAME)]
    return urlunsplit(parts._replace(query=urlencode(query)))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--pg", default=os.environ.get("MANSHAHRDARAM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    import psycopg

    results: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as folder:
        results["sqlite"] = await run_engine("sqlite", str(Path(folder) / "bench.sqlite3"), args.ops,
                                             args.concurrency, None)
    schema = "pgengine_bench_" + uuid.uuid4().hex[:8]
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = with_schema(args.pg, schema)
        results["postgresql"] = await run_engine("postgresql", url, args.ops, args.concurrency, url)
    finally:
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    print(f"ops={args.ops} concurrency={args.concurrency}")
    for engine, rows in results.items():
        for row in rows:
            extra = f" server_cpu_ms/op={row['server_ms']:.3f}" if engine == "postgresql" else ""
            print(f"{engine:10} {row['op']:6} ops/s={row['ops_s']:8.0f} process_cpu_ms/op={row['cpu_ms']:.3f}{extra}")
    for sq, pq in zip(results["sqlite"], results["postgresql"], strict=True):
        print(f"ratio pg/sqlite {sq['op']:6} process_cpu={pq['cpu_ms'] / sq['cpu_ms']:.2f} "
              f"process+server_cpu={(pq['cpu_ms'] + pq['server_ms']) / sq['cpu_ms']:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
