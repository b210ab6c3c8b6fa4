"""StatsRepository: figures that add up, and nothing that names a person."""
from __future__ import annotations

import datetime as dt

from tests.storage import seed
from tests.storage.seed import HOOD, NOW, OTHER_HOOD

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


def _sorted(figures):
    hoods, platforms, days = figures
    return sorted(hoods, key=lambda h: h.neighbourhood_id or ""), platforms, days


async def test_the_counters_match_a_recount_after_joins_moves_votes_withdrawals_and_proposals(store):
    """snapshot() reads counters the triggers keep; after every kind of change they agree with the
    figures counted from the rows, on days either side of Tehran's midnight (20:30 UTC)."""
    repos = store.repos
    stats = repos.stats

    async def agree():
        counted = _sorted(await stats.snapshot(TEHRAN))
        assert counted == _sorted(await stats.recount(TEHRAN))
        return counted

    ballot = await seed.ballot(repos, 3)
    other = await seed.ballot(repos, 1, OTHER_HOOD)
    await agree()
    late = NOW.replace(hour=21)  # already the next day in Tehran
    for when, platform in ((NOW, "telegram"), (late, "bale"), (late + dt.timedelta(days=1), "telegram")):
        person, _ = await repos.citizens.get_or_create(platform, 7_000 + when.day * 10 + when.hour, 1, when)
    people = [await seed.citizen(repos, neighbourhood=None) for _ in range(3)]
    await agree()
    # Choosing a neighbourhood, changing it, verifying a phone (on another day).
    assert await repos.citizens.set_neighbourhood(people[0].id, HOOD)
    assert await repos.citizens.set_neighbourhood(people[1].id, OTHER_HOOD)
    assert await repos.citizens.set_neighbourhood(people[1].id, HOOD)
    assert await repos.citizens.set_phone_hash(people[0].id, "h-0", late)
    assert await repos.citizens.set_phone_hash(people[1].id, "h-1", NOW)
    await agree()
    # Votes on several days; the first withdrawn (the voter's day moves), then every one (no voter).
    a, b = people[0], people[1]
    assert (await repos.votes.cast(a.id, ballot[0], HOOD, 3, late))[0] == "voted"
    assert (await repos.votes.cast(a.id, ballot[1], HOOD, 3, NOW))[0] == "voted"
    assert (await repos.votes.cast(a.id, ballot[2], HOOD, 3, late + dt.timedelta(days=2)))[0] == "voted"
    assert (await repos.votes.cast(b.id, ballot[0], HOOD, 3, NOW))[0] == "voted"
    assert (await repos.votes.cast(b.id, other[0], OTHER_HOOD, 3, NOW))[0] == "ineligible"
    await agree()
    await repos.votes.withdraw(a.id, ballot[1])
    await agree()
    await repos.votes.withdraw(b.id, ballot[0])
    hoods, platforms, days = await agree()
    assert {h.neighbourhood_id: (h.voters, h.votes) for h in hoods}[HOOD] == (1, 2)
    assert [(d.day.isoformat(), d.voters, d.votes) for d in days if d.voters or d.votes] == [
        ("2026-11-27", 1, 1), ("2026-11-29", 0, 1)]
    # Proposals submitted, approved, rejected, put on the ballot; a citizen who voted cannot move.
    mine = await seed.pending(repos, a)
    await seed.approved(repos, b, OTHER_HOOD)
    assert await repos.proposals.decide(mine.id, "rejected", "telegram:900", late, "تکراری") is not None
    await seed.on_ballot(repos, people[2], HOOD)
    hoods, _, days = await agree()
    assert {h.neighbourhood_id: (h.pending, h.approved, h.rejected, h.on_ballot) for h in hoods}[HOOD] == (0, 4, 1, 4)
    assert not await repos.citizens.set_neighbourhood(a.id, OTHER_HOOD)
    await agree()
