"""StatsRepository: figures that add up, and nothing that names a person."""
from __future__ import annotations

from tests.storage import seed
from tests.storage.seed import HOOD, NOW

TEHRAN = 210  # minutes east of UTC


async def test_a_snapshot_counts_citizens_proposals_and_votes_per_neighbourhood_messenger_and_day(store):
    repos = store.repos
    (pid,) = await seed.ballot(repos, 1)  # one author, one proposal on the ballot
    me = await seed.voter(repos)
    await seed.citizen(repos, "bale", neighbourhood=None)
    await repos.votes.cast(me.id, pid, HOOD, 3, NOW)
    hoods, platforms, days = await store.repos.stats.snapshot(TEHRAN)
    by_hood = {row.neighbourhood_id: row for row in hoods}
    assert (by_hood[HOOD].citizens, by_hood[HOOD].verified, by_hood[HOOD].on_ballot) == (2, 1, 1)
    assert (by_hood[HOOD].votes, by_hood[HOOD].voters) == (1, 1)
    assert by_hood[None].citizens == 1
    assert {p.platform: p.citizens for p in platforms} == {"bale": 1, "telegram": 2}
    (day,) = days
    assert (day.day.isoformat(), day.citizens, day.proposals, day.votes) == ("2026-11-26", 3, 1, 1)


async def test_the_export_rows_carry_no_author_and_agree_with_the_snapshot(store):
    repos = store.repos
    (pid,) = await seed.ballot(repos, 1)
    me = await seed.voter(repos)
    await repos.votes.cast(me.id, pid, HOOD, 3, NOW)
    hoods, _, _, rows = await store.repos.stats.snapshot_with_proposals(TEHRAN)
    (row,) = rows
    assert (row.id, row.votes, row.duplicate_of) == (pid, 1, None)
    assert not {"citizen_id", "user_id", "chat_id", "photo_file_id", "latitude"} & set(vars(row))
    assert sum(h.votes for h in hoods) == row.votes
