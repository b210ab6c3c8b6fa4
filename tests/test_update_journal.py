"""Handled-update markers (storage/processed_updates.py) and the journal around each polled update
(bot/messenger/update_journal.py): states saved with their update, re-deliveries skipped, markers pruned."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3

import pytest
from telegram import Update

from bot.campaign.clock import ManualClock
from bot.messenger import update_journal
from bot.messenger.update_journal import UpdateJournal
from storage.db import Database
from storage.repositories import Repositories
from tests.support.e2e import TOKENS, Harness, text_of

T0 = dt.datetime(2026, 12, 1, 6, 30, tzinfo=dt.UTC)
TG = "telegram"
CITIZEN = "telegram:citizen"


@pytest.fixture
async def repos(tmp_path):
    db = Database(tmp_path / "journal.sqlite3")
    await db.open()
    yield Repositories(db)
    await db.close()


def update(update_id: int) -> Update:
    return Update(update_id=update_id)


class Handler:
    """A stand-in for PTB's process_update coroutine: records which updates ran."""

    def __init__(self) -> None:
        self.ran: list[int] = []

    async def __call__(self, update_id: int) -> None:
        self.ran.append(update_id)


# -- the repository ----------------------------------------------------------------------------

async def test_states_and_markers_are_written_in_one_transaction(repos):
    markers = repos.processed_updates
    await repos.conversations.save(CITIZEN, "[2, 2]", '"title"')
    await markers.record(TG, [5, 6], {(CITIZEN, "[1, 1]"): '"hood"', (CITIZEN, "[2, 2]"): None}, T0)

    assert await repos.conversations.load(CITIZEN) == {"[1, 1]": '"hood"'}  # [2, 2] ended
    assert await markers.contains(TG, 5) and await markers.contains(TG, 6)
    assert not await markers.contains(TG, 7) and not await markers.contains("bale", 5)
    assert await markers.among(TG, range(1, 1200)) == {5, 6}  # in chunks under SQLite's limit

    # A state that cannot be written takes the markers with it.
    with pytest.raises(sqlite3.IntegrityError):
        await markers.record(TG, [7], {(CITIZEN, "[3, 3]"): '"hood"', (None, "[4, 4]"): '"hood"'}, T0)
    assert not await markers.contains(TG, 7)
    assert await repos.conversations.load(CITIZEN) == {"[1, 1]": '"hood"'}


async def test_an_update_recorded_twice_keeps_its_first_moment(repos):
    markers = repos.processed_updates
    await markers.record(TG, [5], {}, T0)
    await markers.record(TG, [5], {}, T0 + dt.timedelta(hours=2))
    assert await markers.count(TG) == 1
    assert await markers.newest(TG, since=T0 - dt.timedelta(minutes=1)) == 5
    assert await markers.newest(TG, since=T0 + dt.timedelta(hours=1)) is None


async def test_newest_is_per_messenger_and_within_the_window(repos):
    markers = repos.processed_updates
    await markers.record(TG, [900], {}, T0 - dt.timedelta(days=2))
    await markers.record(TG, [40, 41], {}, T0)
    await markers.record("bale", [7000], {}, T0)
    assert await markers.newest(TG, since=T0 - dt.timedelta(days=1)) == 41
    assert await markers.newest(TG, since=T0 - dt.timedelta(days=3)) == 900
    assert await markers.newest("bale", since=T0 - dt.timedelta(days=1)) == 7000


async def test_prune_forgets_old_markers_but_keeps_the_newest(repos):
    markers = repos.processed_updates
    two_days_ago = T0 - dt.timedelta(days=2)
    for n in range(1, 11):  # ids 1..10, a minute apart, two days ago
        await markers.record(TG, [n], {}, two_days_ago + dt.timedelta(minutes=n))
    await markers.record(TG, [11, 12, 13, 14, 15], {}, T0 - dt.timedelta(hours=1))
    await markers.record("bale", [1, 2], {}, two_days_ago)
    day_ago = T0 - dt.timedelta(days=1)

    assert await markers.prune(TG, day_ago, keep_last=12) == 3
    assert await markers.among(TG, range(1, 16)) == set(range(4, 16))
    # Young markers stay whatever keep_last says; old ones go once enough newer ones exist.
    assert await markers.prune(TG, day_ago, keep_last=2) == 7
    assert await markers.among(TG, range(1, 16)) == set(range(11, 16))
    # Fewer markers than keep_last: nothing goes.
    assert await markers.prune(TG, T0, keep_last=10) == 0
    assert await markers.prune(TG, T0, keep_last=1) == 0  # ties at the newest moment all stay
    assert await markers.count(TG) == 5
    assert await markers.among("bale", [1, 2]) == {1, 2}


# -- the journal -----------------------------------------------------------------------------

async def test_an_update_is_marked_with_the_states_it_changed(repos):
    journal = UpdateJournal(repos.processed_updates, TG, ManualClock(T0))
    handler = Handler()

    async def handle() -> None:
        await handler(10)
        journal.stage(CITIZEN, "[1, 1]", '"hood"')  # what PTB's persistence does for the update

    await journal.run(update(10), handle())
    await journal.flush()
    assert handler.ran == [10]
    assert await repos.processed_updates.contains(TG, 10)
    assert await repos.conversations.load(CITIZEN) == {"[1, 1]": '"hood"'}


async def test_after_a_restart_a_redelivered_update_is_skipped_and_others_handled(repos, caplog):
    caplog.set_level(logging.INFO, logger="bot.messenger.update_journal")
    first = UpdateJournal(repos.processed_updates, TG, ManualClock(T0))
    handler = Handler()
    for n in (10, 11):
        await first.run(update(n), handler(n))
    await first.flush()

    # A new process: 11 comes again (its batch was never confirmed), 9 was confirmed but died in
    # flight before (no marker), 12 is new.
    second = UpdateJournal(repos.processed_updates, TG, ManualClock(T0 + dt.timedelta(seconds=5)))
    for n in (9, 11, 12):
        await second.run(update(n), handler(n))
    await second.flush()
    assert handler.ran == [10, 11, 9, 12]  # 11 once; its coroutine was closed, never awaited
    assert second.skipped == 1
    assert "update 11 was handled before the restart; skipped" in caplog.text
    assert await repos.processed_updates.among(TG, range(8, 14)) == {9, 10, 11, 12}
    # Markers are per messenger: Bale's update 11 is another update.
    bale = UpdateJournal(repos.processed_updates, "bale", ManualClock(T0))
    await bale.run(update(11), handler(11))
    assert handler.ran[-1] == 11 and bale.skipped == 0


async def test_only_updates_up_to_the_newest_marker_at_start_are_looked_up(repos):
    await repos.processed_updates.record(TG, [50], {}, T0)
    journal = UpdateJournal(repos.processed_updates, TG, ManualClock(T0))
    looked_up = []
    contains = journal.repo.contains

    async def counting(platform, update_id):
        looked_up.append(update_id)
        return await contains(platform, update_id)

    journal.repo.contains = counting
    handler = Handler()
    for n in (49, 50, 51, 52, 60):
        await journal.run(update(n), handler(n))
    assert looked_up == [49, 50]
    assert handler.ran == [49, 51, 52, 60]


async def test_markers_older_than_telegrams_memory_do_not_skip_anything(repos):
    # Telegram forgets unconfirmed updates after a day (and may restart ids after a quiet week).
    await repos.processed_updates.record(TG, [50], {}, T0 - dt.timedelta(days=8))
    journal = UpdateJournal(repos.processed_updates, TG, ManualClock(T0))
    handler = Handler()
    await journal.run(update(50), handler(50))
    assert handler.ran == [50] and journal.skipped == 0


async def test_concurrent_updates_share_commits(repos):
    journal = UpdateJournal(repos.processed_updates, TG, ManualClock(T0))
    commits = []
    record = journal.repo.record

    async def counting(platform, update_ids, states, now):
        commits.append(list(update_ids))
        await record(platform, update_ids, states, now)

    journal.repo.record = counting
    handler = Handler()

    async def handle(n: int) -> None:
        await handler(n)
        journal.stage(CITIZEN, f"[{n}, {n}]", '"hood"')

    await asyncio.gather(*(journal.run(update(n), handle(n)) for n in range(100, 150)))
    await journal.flush()
    assert sorted(n for batch in commits for n in batch) == list(range(100, 150))
    assert len(commits) <= 3, [len(batch) for batch in commits]
    assert len(await repos.conversations.load(CITIZEN)) == 50


async def test_a_failed_commit_keeps_its_markers_and_states_for_the_next(repos, caplog):
    journal = UpdateJournal(repos.processed_updates, TG, ManualClock(T0))
    record = journal.repo.record

    async def failing(platform, update_ids, states, now):
        raise sqlite3.OperationalError("database or disk is full")

    journal.repo.record = failing
    handler = Handler()

    async def handle() -> None:
        await handler(7)
        journal.stage(CITIZEN, "[1, 1]", '"hood"')

    await journal.run(update(7), handle())
    await journal.flush()  # tries once more, and fails again
    assert "saving 1 update marker(s) and 1 conversation state(s) failed: OperationalError" in caplog.text
    journal.repo.record = record
    await journal.run(update(8), handler(8))
    await journal.flush()
    assert await repos.conversations.load(CITIZEN) == {"[1, 1]": '"hood"'}
    assert await repos.processed_updates.among(TG, [7, 8]) == {7, 8}


async def test_the_journal_prunes_at_its_first_commit_then_hourly(repos, monkeypatch):
    monkeypatch.setattr(update_journal, "KEEP_LAST", 3)
    markers = repos.processed_updates
    for n in range(1, 6):  # ids 1..5, two days old
        await markers.record(TG, [n], {}, T0 - dt.timedelta(days=2, minutes=10 - n))
    clock = ManualClock(T0)
    journal = UpdateJournal(markers, TG, clock)
    handler = Handler()
    await journal.run(update(100), handler(100))
    await journal.flush()
    assert await markers.among(TG, [1, 2, 3, 4, 5, 100]) == {4, 5, 100}

    await markers.record(TG, [6], {}, T0 - dt.timedelta(days=2))  # old, and older than 4 and 5
    clock.set(T0 + dt.timedelta(minutes=30))
    await journal.run(update(101), handler(101))
    await journal.flush()
    assert await markers.among(TG, [4, 5, 6]) == {4, 5, 6}  # not yet an hour since the last pruning
    clock.set(T0 + update_journal.PRUNE_EVERY)
    await journal.run(update(102), handler(102))
    await journal.flush()
    assert await markers.among(TG, [4, 5, 6, 100, 101, 102]) == {100, 101, 102}


# -- through the real polling loop -----------------------------------------------------------

@pytest.mark.slow  # the loopback Bot API server and the real polling loop
async def test_an_update_delivered_again_after_a_restart_is_answered_once(tmp_path, caplog):
    """A re-delivery made on purpose: the batch with /start is handled, but getUpdates answers 502
    from then on, so it is never confirmed; the bot stops (its farewell getUpdates, which would
    confirm it, fails too) and the next one gets it again."""
    caplog.set_level(logging.INFO, logger="bot.messenger.update_journal")
    token = TOKENS[TG]
    async with Harness(tmp_path, latency=0.002, phase="voting") as h:
        await h.start()
        ali = h.person(TG, 3301)
        await h.state.wait_polling(token)
        sent = h.state.send_text(token, ali.id, "/start")
        # Added before the parked getUpdates answers: the next one, which would confirm, fails.
        h.state.add_fault(method="getUpdates", kind="502", token=token)
        [welcome] = await ali.new_messages()
        assert "به «من شهردارم» خوش آمدید" in text_of(welcome)
        await h.until(lambda: h.state.update_deliveries(token)["unconfirmed"] == [sent["update_id"]],
                      what="/start delivered and not confirmed")
        await h.stop()
        assert await h.query("SELECT update_id FROM processed_updates") == [(sent["update_id"],)]
        assert await h.query("SELECT state FROM conversations") == [('"hood"',)]

        h.state.clear_faults()
        await h.start()
        await h.until(lambda: h.state.update_deliveries(token)["redelivered"] == {str(sent["update_id"]): 2}
                      and not h.state.pending_updates(token), what="/start delivered again and confirmed")
        # The citizen goes on from the step the first run saved; the welcome came once.
        [done] = await ali.send("تجریش")
        assert "محلهٔ شما: تجریش" in text_of(done)
        assert len([t for t in ali.texts() if "خوش آمدید" in t]) == 1
        assert f"update {sent['update_id']} was handled before the restart; skipped" in caplog.text


@pytest.mark.slow  # the loopback Bot API server and the real polling loop
async def test_a_fresh_server_on_the_same_database_is_answered_from_its_first_update(tmp_path):
    """The playground restarts its loopback server with the same database: the new server's first
    updates must not be taken for the ones the journal marked in the previous run."""
    for run in range(2):
        async with Harness(tmp_path) as h:
            await h.start()
            answers = await h.person(TG, 3301).send("/start")
            assert answers and text_of(answers[-1]), f"run {run}: /start got no answer"
            await h.stop()
            # Markers are kept per bot (messenger and the token's bot id), not per messenger.
            assert await h.query("SELECT DISTINCT platform FROM processed_updates") == [
                (f"{TG}:{TOKENS[TG].split(':')[0]}",)]


async def test_markers_stay_bounded_under_a_flood_within_the_hour(repos, monkeypatch):
    """A flood's dropped updates are marked too: the table is pruned by count, not only hourly,
    and young markers go as well once enough newer ones exist."""
    monkeypatch.setattr(update_journal, "KEEP_LAST", 5)
    markers = repos.processed_updates
    clock = ManualClock(T0)
    journal = UpdateJournal(markers, TG, clock)
    handler = Handler()
    for n in range(1, 41):
        clock.set(T0 + dt.timedelta(seconds=n))  # all within a minute
        await journal.run(update(n), handler(n))
        await journal.flush()
        assert len(await markers.among(TG, range(1, 41))) <= 2 * update_journal.KEEP_LAST
    # The newest are kept: a re-delivery of the last batch is still recognised.
    assert set(range(36, 41)) <= await markers.among(TG, range(1, 41))
