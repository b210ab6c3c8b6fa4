"""The benchmark is run on demand, not in CI; its seeding goes through the services, so a
service change that would break it is caught here in a second rather than at the next run."""
from __future__ import annotations

from bench.common import bench_config
from bench.journey import seed_database
from storage import Database


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
