"""CalendarRepository and ResultsRepository: an announcement is sent once, results published once."""
from __future__ import annotations

import asyncio
import datetime as dt

from domain import SCHEDULED, Audience, Winner
from tests.storage import seed
from tests.storage.races import race_processes
from tests.storage.seed import NOW

KEY = "proposals_open"


async def test_an_announcement_is_marked_sent_once(repos):
    broadcast_id = await repos.calendar.announce(KEY, NOW, NOW, "آغاز ثبت پیشنهاد", Audience())
    assert broadcast_id is not None
    assert await repos.calendar.announce(KEY, NOW, NOW, "آغاز ثبت پیشنهاد", Audience()) is None
    assert not await repos.calendar.record_missed(KEY, NOW, NOW)
    recorded = (await repos.calendar.announcements())[KEY]
    assert (recorded.outcome, recorded.broadcast_id) == ("sent", broadcast_id)
    broadcast = await repos.broadcasts.get(broadcast_id)
    assert (broadcast.status, broadcast.announcement, broadcast.send_at) == (SCHEDULED, KEY, NOW)
    assert await repos.broadcasts.due(NOW) == [broadcast_id]


async def test_a_missed_announcement_is_recorded_once_and_never_sent(repos):
    assert await repos.calendar.record_missed(KEY, NOW, NOW)
    assert not await repos.calendar.record_missed(KEY, NOW, NOW)
    assert await repos.calendar.announce(KEY, NOW, NOW, "دیر", Audience()) is None
    assert (await repos.calendar.announcements())[KEY].outcome == "missed"
    assert await repos.broadcasts.due(NOW) == []


async def test_one_broadcast_when_two_connections_announce_together(repos, open_store):
    other = (await open_store()).repos
    answers = await asyncio.gather(*(r.calendar.announce(KEY, NOW, NOW, "متن", Audience()) for r in (repos, other) * 3))
    assert sum(a is not None for a in answers) == 1
    assert await repos.broadcasts.due(NOW) == [a for a in answers if a is not None]


async def test_one_broadcast_when_two_processes_announce_together(repos, backend, address):
    answers = await race_processes(backend.name, address, "announce", [(KEY,), (KEY,)])
    assert sum(a is not None for a in answers) == 1
    assert await repos.broadcasts.due(NOW) == [a for a in answers if a is not None]


async def test_calendar_moves_keep_the_newest_per_boundary(repos):
    later = NOW + dt.timedelta(days=1)
    await repos.calendar.move("voting_opens", NOW, later, "telegram:900", NOW)
    await repos.calendar.move("voting_opens", later, later + dt.timedelta(hours=2), "telegram:900", NOW)
    assert await repos.calendar.moved_boundaries() == {"voting_opens": later + dt.timedelta(hours=2)}


async def _a_run(repos) -> int:
    author = await seed.citizen(repos)
    proposal = await seed.on_ballot(repos, author)
    return await repos.results.save("greedy", "telegram:900", NOW, {seed.HOOD: (5_000_000, 1_000_000, 1)},
                                    [Winner(seed.HOOD, 1, proposal.id, proposal.code, proposal.title, 1_000_000, 1)])


async def test_results_are_published_once(repos):
    first, second = await _a_run(repos), await _a_run(repos)
    assert await repos.results.published() is None
    assert await repos.results.publish(first, "telegram:900", NOW)
    assert not await repos.results.publish(first, "telegram:900", NOW)
    assert not await repos.results.publish(second, "telegram:900", NOW)
    assert (await repos.results.published()).id == first
    assert not await repos.results.publish(999_999, "telegram:900", NOW)


async def test_one_run_is_published_when_two_connections_publish_together(repos, open_store):
    runs = [await _a_run(repos), await _a_run(repos)]
    other = (await open_store()).repos
    answers = await asyncio.gather(repos.results.publish(runs[0], "a", NOW), other.results.publish(runs[1], "b", NOW))
    assert sorted(answers) == [False, True]
    assert (await repos.results.published()).id == runs[answers.index(True)]


async def test_a_saved_run_reads_back_with_its_winners(repos):
    run_id = await _a_run(repos)
    run = await repos.results.get(run_id)
    assert (run.rule, run.published_at, run.neighbourhoods) == ("greedy", None, {seed.HOOD: (5_000_000, 1_000_000, 1)})
    assert [w.rank for w in run.winners] == [1]
    assert await repos.results.get(999_999) is None
