"""Flood control across worker processes: one person's allowance is kept in PostgreSQL
(storage/flood_buckets.py, bot/messenger/flood_door.SharedFlood), so two workers — two door instances,
each with its own connections and its own FloodControl in memory — give a person the allowance once,
not twice (as each worker's own memory did). The buckets an update leaves are written with the update
done (storage/inbox.InboxJournalRepository.record); ``check`` does that as a worker's journal would."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from telegram import Update

from bot.campaign.clock import ManualClock
from bot.campaign.flood import Allowance, FloodControl, Verdict
from bot.messenger.flood_door import SharedFlood
from storage.flood_buckets import FloodBucketRepository

START = dt.datetime(2026, 12, 31, 9, 0, tzinfo=dt.timezone.utc)
STAFF = 99


def message(update_id: int, user: int) -> Update:
    return Update.de_json({"update_id": update_id, "message": {
        "message_id": update_id, "date": 0, "text": "سلام", "chat": {"id": user, "type": "private"},
        "from": {"id": user, "is_bot": False, "first_name": "x"}}}, None)


def press(update_id: int, user: int) -> Update:
    return Update.de_json({"update_id": update_id, "callback_query": {
        "id": str(update_id), "chat_instance": "c", "data": "v:1:0",
        "from": {"id": user, "is_bot": False, "first_name": "x"}}}, None)


async def two_workers(pg_open, clock):
    """Two SharedFloods as two worker processes have them: each its own database and FloodControl."""
    doors = []
    for _ in range(2):
        flood = FloodControl(clock, Allowance(3, 60), Allowance(2, 60), quiet_seconds=60)
        services = SimpleNamespace(flood=flood, flood_exempt=lambda platform, user: user == STAFF)
        doors.append(SharedFlood(FloodBucketRepository(await pg_open(2)), services, "telegram", {}))
    return doors


async def check(door: SharedFlood, update: Update) -> Verdict:
    """The verdict, and the update done: its buckets written (in a worker, with its inbox row done)."""
    verdict = await door.verdict(update)
    if (row := door.pending.pop(update.update_id, None)) is not None:
        await door.repo.write([row])
    return verdict


async def test_two_workers_share_one_allowance_per_person(pg_open):
    clock = ManualClock(START)
    a, b = await two_workers(pg_open, clock)
    # Five messages in the same second, alternately on either worker: the burst (3) once, then the
    # one notice, then dropped. Each worker alone would have let all five through (3 + 2).
    verdicts = [await check(a if n % 2 else b, message(n, 100)) for n in range(1, 6)]
    assert verdicts == [Verdict.PASS] * 3 + [Verdict.NOTICE, Verdict.DROP]
    # Buttons have their own bucket; another person has their own allowance.
    assert [await check(a, press(10, 100)), await check(b, press(11, 100))] == [Verdict.PASS] * 2
    assert await check(b, message(12, 200)) is Verdict.PASS
    # Refilled with time (60 a minute: one a second), on whichever worker.
    clock.set(START + dt.timedelta(seconds=1))
    assert await check(a, message(13, 100)) is Verdict.PASS
    assert await check(b, message(14, 100)) is Verdict.DROP  # told already, within the quiet minute
    # Staff are never limited, and leave nothing to write.
    assert {await check(a, message(20 + n, STAFF)) for n in range(6)} == {Verdict.PASS}
    assert not a.pending


async def test_an_update_whose_worker_died_is_counted_once(pg_open):
    clock = ManualClock(START)
    a, b = await two_workers(pg_open, clock)
    assert [await check(a, message(n, 100)) for n in (1, 2)] == [Verdict.PASS] * 2
    # Update 3 counted by a worker that died before the update was done: nothing written.
    assert await a.verdict(message(3, 100)) is Verdict.PASS
    # The worker that takes it over counts it from the buckets as they were: one token is left for it,
    # and none for update 4.
    assert await check(b, message(3, 100)) is Verdict.PASS
    assert await check(b, message(4, 100)) is Verdict.NOTICE


async def test_buckets_untouched_past_the_horizon_are_forgotten(pg_open):
    clock = ManualClock(START)
    [a, _] = await two_workers(pg_open, clock)
    await check(a, message(1, 100))
    clock.set(START + dt.timedelta(hours=1))
    await check(a, message(2, 200))
    flood = a.services.flood
    assert await a.repo.prune(clock.now().timestamp() - flood.horizon) == 1
    rows = await a.repo.db.read(lambda conn: conn.execute("SELECT user_id FROM flood_buckets").fetchall())
    assert [r[0] for r in rows] == [200]
