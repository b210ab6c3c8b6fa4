"""The benchmarks run on demand, not in CI; bench.journey seeds through the services and
bench.broadcast inserts its 100,000 recipients with one bench-only statement, so a service or schema
change that would break either is caught here in a second rather than at the next run."""
from __future__ import annotations

from bench.common import bench_config
from bench.journey import seed_database
from storage.db import Database
from storage.repositories import Repositories


async def test_bench_seeding_produces_approved_ballots(tmp_path):
    config = bench_config("http://127.0.0.1:9", tmp_path / "bench.sqlite3")
    ballots = await seed_database(config, seed=1)
    assert ballots and all(b.proposal_ids for b in ballots)
    db = Database(config.database)
    await db.open()
    try:
        statuses = await db.read(lambda conn: conn.execute("SELECT DISTINCT status FROM proposals").fetchall())
    finally:
        await db.close()
    assert [tuple(r) for r in statuses] == [("approved",)]


async def test_bench_broadcast_seeds_citizens_the_repositories_read(tmp_path):
    """bench.broadcast inserts its recipients with one bench-only statement; the repositories
    must see them as citizens who started the bot (chat id = user id), all in «everyone»."""
    import datetime as dt

    from bench.broadcast import seed_citizens
    from domain import EVERYONE, Audience

    database = tmp_path / "broadcast.sqlite3"
    now = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    assert await seed_citizens(database, 10_000_001, 1_000, now) == 1_000
    db = Database(database)
    await db.open()
    try:
        repos = Repositories(db)
        assert await repos.broadcasts.count_audience(Audience(EVERYONE)) == {"telegram": 1_000}
        first, last = await repos.citizens.find("telegram", 10_000_001), await repos.citizens.find("telegram", 10_001_000)
        assert (first.chat_id, last.chat_id, first.created_at) == (10_000_001, 10_001_000, now)
        assert first.neighbourhood_id is None and not first.verified and not first.remind_me
        assert await repos.citizens.find("telegram", 10_001_001) is None
    finally:
        await db.close()
