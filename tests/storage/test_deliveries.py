"""BroadcastRepository: a broadcast started once, a delivery claimed by one sender."""
from __future__ import annotations

import asyncio
import datetime as dt

from domain import (
    CANCELLED,
    DONE,
    DRAFT,
    NEIGHBOURHOODS,
    SCHEDULED,
    SENDING,
    SENT,
    UNREACHABLE,
    Audience,
    DeliveryResult,
    Watcher,
)
from tests.storage import seed
from tests.storage.races import race_processes
from tests.storage.seed import BROADCAST_HOOD, NOW

LATER = NOW + dt.timedelta(minutes=5)


async def test_a_claimed_delivery_is_not_claimed_again(repos):
    broadcast_id, ids = await seed.sending(repos, 4)
    assert await repos.broadcasts.mark_sending(broadcast_id, ids[:2]) == set(ids[:2])
    assert await repos.broadcasts.mark_sending(broadcast_id, ids) == set(ids[2:])
    assert await repos.broadcasts.mark_sending(broadcast_id, ids) == set()
    assert await repos.broadcasts.mark_sending(broadcast_id, []) == set()
    # Claimed ones are no longer due.
    assert await repos.broadcasts.next_due(broadcast_id, "telegram", 10, NOW) == []


async def test_next_due_only_reads(repos):
    broadcast_id, ids = await seed.sending(repos, 3)
    first = await repos.broadcasts.next_due(broadcast_id, "telegram", 10, NOW)
    again = await repos.broadcasts.next_due(broadcast_id, "telegram", 10, NOW)
    assert first == again and [d.id for d in first] == ids
    assert {d.attempts for d in first} == {1}


async def test_nothing_is_claimed_once_the_broadcast_is_cancelled(repos):
    broadcast_id, ids = await seed.sending(repos, 3)
    assert await repos.broadcasts.cancel(broadcast_id, "telegram:900", NOW) == SENDING
    assert await repos.broadcasts.mark_sending(broadcast_id, ids) is None
    assert await repos.broadcasts.next_due(broadcast_id, "telegram", 10, NOW) == []
    assert await repos.broadcasts.cancel(broadcast_id, "telegram:900", NOW) is None
    assert (await repos.broadcasts.get(broadcast_id)).status == CANCELLED


async def test_one_sender_per_delivery_when_two_connections_claim_together(repos, open_store):
    broadcast_id, ids = await seed.sending(repos, 60)
    other = (await open_store()).repos

    async def claim(r, order):
        return [await r.broadcasts.mark_sending(broadcast_id, order[i:i + 7]) for i in range(0, len(order), 7)]
    mine, theirs = await asyncio.gather(claim(repos, ids), claim(other, ids[::-1]))
    mine, theirs = set().union(*mine), set().union(*theirs)
    assert not mine & theirs
    assert mine | theirs == set(ids)


async def test_one_sender_per_delivery_when_two_processes_claim_together(repos, backend, address):
    broadcast_id, ids = await seed.sending(repos, 200)
    first, second = await race_processes(backend.name, address, "claim", [
        (broadcast_id, ids, 10), (broadcast_id, ids[::-1], 10)])
    assert len(first) == len(set(first)) and len(second) == len(set(second))
    assert not set(first) & set(second)
    assert set(first) | set(second) == set(ids)
    assert (await repos.broadcasts.progress(broadcast_id))["telegram"].sending == 200


async def test_a_broadcast_is_started_once_when_two_connections_start_it(repos, open_store):
    for _ in range(5):
        await seed.citizen(repos, neighbourhood=BROADCAST_HOOD)
    broadcast = await repos.broadcasts.create("telegram:900", "text", "سلام", NOW)
    await repos.broadcasts.set_audience(broadcast.id, Audience(NEIGHBOURHOODS, (BROADCAST_HOOD,)))
    assert await repos.broadcasts.schedule(broadcast.id, NOW, Watcher(broadcast.id, "telegram", 900, None))
    other = (await open_store()).repos
    answers = await asyncio.gather(repos.broadcasts.start(broadcast.id, NOW), other.broadcasts.start(broadcast.id, NOW))
    assert sorted(answers, key=str) == [5, None]
    assert (await repos.broadcasts.progress(broadcast.id))["telegram"].total == 5
    assert (await repos.broadcasts.get(broadcast.id)).status == SENDING


async def test_the_life_of_a_broadcast(repos):
    broadcast = await repos.broadcasts.create("telegram:900", "text", "سلام", NOW)
    assert broadcast.status == DRAFT
    watcher = Watcher(broadcast.id, "telegram", 900, None)
    assert not await repos.broadcasts.schedule(broadcast.id, LATER, watcher)  # no audience yet
    assert await repos.broadcasts.set_audience(broadcast.id, Audience())
    assert await repos.broadcasts.schedule(broadcast.id, LATER, watcher)
    assert not await repos.broadcasts.schedule(broadcast.id, LATER, watcher)  # a second press
    assert not await repos.broadcasts.set_audience(broadcast.id, Audience(platform="bale"))
    assert await repos.broadcasts.due(NOW) == []
    assert await repos.broadcasts.due(LATER) == [broadcast.id]
    assert await repos.broadcasts.watchers(broadcast.id) == [watcher]
    assert await repos.broadcasts.start(broadcast.id, LATER) == 0
    assert await repos.broadcasts.start(broadcast.id, LATER) is None
    assert await repos.broadcasts.finish(broadcast.id, LATER)
    assert not await repos.broadcasts.finish(broadcast.id, LATER)
    assert (await repos.broadcasts.get(broadcast.id)).status == DONE
    assert await repos.broadcasts.cancel(broadcast.id, "telegram:900", LATER) is None


async def test_cancel_drafts_keeps_the_newest_and_cancels_the_rest(repos):
    old = await repos.broadcasts.create("telegram:900", "text", "۱", NOW)
    new = await repos.broadcasts.create("telegram:900", "text", "۲", NOW)
    someone_elses = await repos.broadcasts.create("bale:901", "text", "۳", NOW)
    assert await repos.broadcasts.cancel_drafts("telegram:900", new.id, "telegram:900", NOW) == 1
    assert [(await repos.broadcasts.get(b.id)).status for b in (old, new, someone_elses)] == [CANCELLED, DRAFT, DRAFT]


async def test_record_retries_finishes_and_makes_the_unreachable_no_recipient(repos):
    broadcast_id, ids = await seed.sending(repos, 3)
    await repos.broadcasts.mark_sending(broadcast_id, ids)
    await repos.broadcasts.record([DeliveryResult(ids[0], SENT), DeliveryResult(ids[1], UNREACHABLE),
                                   DeliveryResult(ids[2], SENT, retry_at=LATER)], NOW)
    assert await repos.broadcasts.next_due(broadcast_id, "telegram", 10, NOW) == []
    (retry,) = await repos.broadcasts.next_due(broadcast_id, "telegram", 10, LATER)
    assert (retry.id, retry.attempts) == (ids[2], 2)
    progress = (await repos.broadcasts.progress(broadcast_id))["telegram"]
    assert (progress.sent, progress.unreachable, progress.pending) == (1, 1, 1)
    audience = Audience(NEIGHBOURHOODS, (BROADCAST_HOOD,))
    assert await repos.broadcasts.count_audience(audience) == {"telegram": 2}


async def test_deliveries_left_in_flight_become_uncertain_and_are_never_sent_again(repos):
    broadcast_id, ids = await seed.sending(repos, 3)
    await repos.broadcasts.mark_sending(broadcast_id, ids[:2])
    assert await repos.broadcasts.mark_in_flight_uncertain() == 2
    progress = (await repos.broadcasts.progress(broadcast_id))["telegram"]
    assert (progress.uncertain, progress.pending) == (2, 1)
    assert [d.id for d in await repos.broadcasts.next_due(broadcast_id, "telegram", 10, NOW)] == [ids[2]]
    assert await repos.broadcasts.mark_sending(broadcast_id, ids) == {ids[2]}


async def test_file_ids_are_kept_per_messenger(repos):
    broadcast = await repos.broadcasts.create("telegram:900", "photo", None, NOW, file_id="tg-file",
                                              source_platform="telegram")
    assert await repos.broadcasts.file_id(broadcast.id, "bale") is None
    await repos.broadcasts.set_file_id(broadcast.id, "bale", "bale-file")
    assert await repos.broadcasts.file_id(broadcast.id, "bale") == "bale-file"
    assert (await repos.broadcasts.get(broadcast.id)).file_id == "tg-file"


async def test_recent_lists_running_ones_first_and_never_drafts(repos):
    draft = await repos.broadcasts.create("telegram:900", "text", "۱", NOW)
    broadcast_id, _ = await seed.sending(repos, 1)
    assert [b.id for b in await repos.broadcasts.recent(10)] == [broadcast_id]
    assert draft.id not in [b.id for b in await repos.broadcasts.in_status(SCHEDULED, SENDING)]
