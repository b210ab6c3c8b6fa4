"""PostgreSQL's /stats counters: every trigger locks the counter rows in one order (places, then
days), so a vote and a phone check never deadlock on them (a cluster run saw hundreds)."""
from __future__ import annotations

import asyncio

import psycopg

from storage.engine import open_database
from storage.repositories import Repositories
from tests.storage import seed
from tests.storage.seed import HOOD, NOW
from tests.support.waiting import until


def _waiting_on_a_lock(watcher: psycopg.Connection, holder: psycopg.Connection) -> bool:
    (blocked,) = watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                                 (holder.info.backend_pid,)).fetchone()
    return blocked > 0


async def test_a_vote_takes_the_place_counter_before_the_day_counter(pg_url):
    db = open_database(pg_url)
    await db.open()
    try:
        repos = Repositories(db)
        (pid,) = await seed.ballot(repos, 1)
        me = await seed.voter(repos)  # its place and day counter rows exist from here on
        # Another transaction holds the place row, as a phone check of a neighbour does first.
        with psycopg.connect(pg_url, autocommit=False) as holder:
            holder.execute("UPDATE stats_places SET votes = votes WHERE neighbourhood_id = %s AND platform = %s",
                           (HOOD, me.platform))
            vote = asyncio.ensure_future(repos.votes.cast(me.id, pid, HOOD, 3, NOW))
            with psycopg.connect(pg_url, autocommit=True) as watcher:
                await until(lambda: _waiting_on_a_lock(watcher, holder), "the vote to wait on the place row")
            assert not vote.done()
            # ...then the day row, as the phone check does next. Had the vote taken the day row
            # first, this would wait on it: a cycle, which this side (the quicker deadlock check)
            # would be told of as DeadlockDetected.
            holder.execute("SET LOCAL deadlock_timeout = '10ms'")
            holder.execute("SET LOCAL lock_timeout = '5s'")
            holder.execute("UPDATE stats_days SET votes = votes")
            holder.commit()
            await asyncio.wait_for(vote, 10)
        hoods, _, days = await repos.stats.snapshot(210)
        assert sum(h.votes for h in hoods) == 1 and sum(d.votes for d in days) == 1
    finally:
        await db.close()
