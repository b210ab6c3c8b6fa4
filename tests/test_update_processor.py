"""PerUserUpdateProcessor: concurrent across users, FIFO per user.

Updates are dispatched the way Application.__update_fetcher does it: one task
per update, created in arrival order, each calling processor.process_update.
No wall-clock sleeps: progress is observed with events, counters and yields.
"""

import asyncio
import inspect
import random

import pytest
from telegram import Bot, Update
from telegram.ext import (
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.messenger.update_processor import PerUserUpdateProcessor
from tests.support import RecordingRequest, UpdateFactory, application_builder, collect_errors


@pytest.fixture
def updates() -> UpdateFactory:
    return UpdateFactory(Bot("1:x", request=RecordingRequest()))


def dispatch(processor, update, coroutine) -> asyncio.Task:
    return asyncio.create_task(processor.process_update(update, coroutine))


async def settle(rounds: int = 20) -> None:
    """Let every runnable task advance as far as it can."""
    for _ in range(rounds):
        await asyncio.sleep(0)


async def test_each_users_updates_run_in_arrival_order(updates):
    rng = random.Random(7)
    processor = PerUserUpdateProcessor(16)
    seen: dict[int, list[int]] = {1: [], 2: [], 3: []}
    sent: dict[int, list[int]] = {1: [], 2: [], 3: []}
    running = peak = 0

    async def handle(user: int, seq: int, yields: int) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        for _ in range(yields):  # random small awaits reorder tasks across users
            await asyncio.sleep(0)
        seen[user].append(seq)
        running -= 1

    tasks = []
    for seq in range(300):
        user = rng.choice([1, 2, 3])
        sent[user].append(seq)
        update = updates.text(user, f"m{seq}")
        tasks.append(dispatch(processor, update, handle(user, seq, rng.randint(0, 5))))
    await asyncio.gather(*tasks)

    assert seen == sent
    assert peak > 1  # users really overlapped
    assert processor.active_keys == 0


async def test_fifty_users_in_flight_at_once(updates):
    processor = PerUserUpdateProcessor(128)
    all_in, release = asyncio.Event(), asyncio.Event()
    in_flight = 0

    async def handle() -> None:
        nonlocal in_flight
        in_flight += 1
        if in_flight == 50:
            all_in.set()  # only reachable if all 50 are running concurrently
        await release.wait()

    tasks = [dispatch(processor, updates.text(u, "hi"), handle()) for u in range(1, 51)]
    await asyncio.wait_for(all_in.wait(), timeout=5)
    assert processor.current_concurrent_updates == 50
    release.set()
    await asyncio.gather(*tasks)
    assert processor.current_concurrent_updates == 0
    assert processor.active_keys == 0


async def test_global_limit_applies_across_users(updates):
    processor = PerUserUpdateProcessor(8)
    release = asyncio.Event()
    started = 0

    async def handle() -> None:
        nonlocal started
        started += 1
        await release.wait()

    tasks = [dispatch(processor, updates.text(u, "hi"), handle()) for u in range(1, 21)]
    await settle()
    assert started == 8
    assert processor.current_concurrent_updates == 8
    release.set()
    await asyncio.gather(*tasks)
    assert started == 20


async def test_flooding_user_does_not_starve_others(updates):
    # Limit 4 < 1000: were the limit taken before the per-user lock, the
    # flood's queued updates would own every slot and user 2 would wait.
    processor = PerUserUpdateProcessor(4)
    flood_gate = asyncio.Event()
    flood_done: list[int] = []
    other_ran, other_release = asyncio.Event(), asyncio.Event()

    async def flood(seq: int) -> None:
        await flood_gate.wait()
        flood_done.append(seq)

    async def other() -> None:
        other_ran.set()
        await other_release.wait()

    flood_tasks = [dispatch(processor, updates.text(1, str(i)), flood(i)) for i in range(1000)]
    await settle()
    other_task = dispatch(processor, updates.text(2, "me too"), other())
    await asyncio.wait_for(other_ran.wait(), timeout=5)

    assert flood_done == []  # the whole flood is still queued behind its first update
    assert processor.active_keys == 2
    assert processor.current_concurrent_updates == 2  # flood's first + user 2
    other_release.set()
    await other_task
    flood_gate.set()
    await asyncio.gather(*flood_tasks)
    assert flood_done == list(range(1000))
    assert processor.active_keys == 0


async def test_errors_and_cancellation_release_keys(updates):
    processor = PerUserUpdateProcessor(2)
    hold = asyncio.Event()

    async def boom() -> None:
        raise ValueError("handler failed")

    async def blocker() -> None:
        await hold.wait()

    async def never() -> None:  # pragma: no cover - cancelled before it starts
        raise AssertionError("must not run")

    with pytest.raises(ValueError):
        await processor.process_update(updates.text(1, "x"), boom())
    assert processor.active_keys == 0

    first = dispatch(processor, updates.text(5, "a"), blocker())
    queued_coroutine = never()
    queued = dispatch(processor, updates.text(5, "b"), queued_coroutine)
    await settle()
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    # Closed instead of leaking a "coroutine was never awaited" warning.
    assert inspect.getcoroutinestate(queued_coroutine) == inspect.CORO_CLOSED
    hold.set()
    await first
    assert processor.active_keys == 0


class Around:
    """A stand-in for the journal's run: records every update it is given, and runs it."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def __call__(self, update, coroutine) -> None:
        await coroutine
        self.seen.append(update.effective_message.text if update.effective_message else update.update_id)


async def test_a_full_queue_drops_on_arrival_and_what_is_dropped_is_still_marked(updates):
    around = Around()
    processor = PerUserUpdateProcessor(4, around=around, max_waiting=3)
    hold = asyncio.Event()
    ran: list[str] = []

    async def handle(text: str) -> None:
        if text == "0":
            await hold.wait()
        ran.append(text)

    coroutines = [handle(str(i)) for i in range(10)]
    tasks = [dispatch(processor, updates.text(1, str(i)), c) for i, c in enumerate(coroutines)]
    other = dispatch(processor, updates.text(2, "other"), handle("other"))
    await settle()
    assert sum(not task.done() for task in tasks) == 4  # the held one and 3 waiting: nothing more is kept
    assert processor.dropped == 6 and ran == ["other"]  # somebody else is not held up
    assert all(inspect.getcoroutinestate(c) == inspect.CORO_CLOSED for c in coroutines[4:])
    assert sorted(around.seen) == ["4", "5", "6", "7", "8", "9", "other"]  # the dropped ones are marked at once

    hold.set()
    await asyncio.gather(*tasks, other)
    assert ran == ["other", "0", "1", "2", "3"]  # in order
    assert sorted(around.seen) == sorted([*map(str, range(10)), "other"])
    assert processor.active_keys == 0
    # Served, the queue takes updates again.
    await processor.process_update(updates.text(1, "10"), handle("10"))
    assert ran[-1] == "10" and processor.dropped == 6
    with pytest.raises(ValueError):
        PerUserUpdateProcessor(4, max_waiting=0)


async def test_the_flood_verdict_is_taken_as_updates_arrive(updates):
    from bot.campaign.flood import Verdict
    from bot.messenger.flood_door import DECIDED, DroppedUnread

    script = iter([Verdict.PASS, Verdict.PASS, Verdict.NOTICE, Verdict.DROP, Verdict.DROP, Verdict.PASS, None])
    asked: list[int] = []

    def flood(update) -> Verdict | None:
        asked.append(update.update_id)
        return next(script)

    around = Around()
    processor = PerUserUpdateProcessor(4, around=around, flood=flood)
    hold = asyncio.Event()
    ran: list[tuple[str, Verdict | None]] = []

    async def handle(text: str) -> None:
        if text == "0":
            await hold.wait()
        ran.append((text, DECIDED.get()))  # what the guard in handlers/flood.py reads

    sent = [updates.text(1, str(i)) for i in range(7)]
    coroutines = [handle(str(i)) for i in range(7)]
    tasks = [dispatch(processor, u, c) for u, c in zip(sent, coroutines, strict=True)]
    await settle()
    assert asked == [u.update_id for u in sent] and ran == []  # all decided while the first still runs
    assert [inspect.getcoroutinestate(c) for c in coroutines[3:5]] == [inspect.CORO_CLOSED] * 2
    assert around.seen == ["3", "4"] and processor.dropped == 2  # dropped ones marked at once
    hold.set()
    await asyncio.gather(*tasks)
    assert ran == [("0", Verdict.PASS), ("1", Verdict.PASS), ("2", Verdict.NOTICE), ("5", Verdict.PASS),
                   ("6", None)]
    assert DECIDED.get() is None  # nothing leaks past an update's turn

    # An update dropped before it was built: nothing to run, no flood verdict asked, still marked.
    never = handle("never")
    await processor.process_update(DroppedUnread(update_id=99), never)
    assert inspect.getcoroutinestate(never) == inspect.CORO_CLOSED
    assert len(asked) == 7 and processor.dropped == 3 and processor.active_keys == 0


async def test_keys(updates):
    key = PerUserUpdateProcessor.key_for
    assert key(updates.text(7, "hi", chat_id=-100)) == 7  # the user, even in a group
    channel_post = updates.raw(
        {"channel_post": {"message_id": 1, "date": 0, "chat": {"id": -1009, "type": "channel"}}}
    )
    assert key(channel_post) == -1009
    assert key(Update(update_id=1)) is None  # e.g. polls: neither user nor chat
    assert key(object()) is None
    with pytest.raises(ValueError):
        PerUserUpdateProcessor(0)


# -- end to end through a real Application ---------------------------------------

NAME, AGE = range(2)


async def conv_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await update.message.reply_text("نام؟")
    return NAME


async def conv_name(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    context.user_data["name"] = update.message.text
    await update.message.reply_text("سن؟")
    return AGE


async def conv_age(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await update.message.reply_text(f"{context.user_data['name']}:{update.message.text}")
    return ConversationHandler.END


async def test_application_end_to_end():
    request = RecordingRequest()
    processor = PerUserUpdateProcessor(8)
    application = application_builder(request).concurrent_updates(processor).build()
    application.add_handler(
        ConversationHandler(
            entry_points=[CommandHandler("start", conv_start)],
            states={
                NAME: [MessageHandler(filters.TEXT & ~filters.COMMAND, conv_name)],
                AGE: [MessageHandler(filters.TEXT & ~filters.COMMAND, conv_age)],
            },
            fallbacks=[],
        )
    )
    errors = collect_errors(application)
    assert application.update_processor is processor
    assert application.concurrent_updates == 8

    users = range(1, 31)
    async with application:
        updates = UpdateFactory(application.bot)
        # Only updates going through update_queue use the processor
        # (Application.process_update called directly bypasses it).
        await application.start()
        for step in ("/start", "name{u}", "{u}"):  # users interleaved step by step
            for u in users:
                await application.update_queue.put(updates.text(u, step.format(u=u)))
        await asyncio.wait_for(application.update_queue.join(), timeout=10)
        await application.stop()

    assert errors == []
    for u in users:
        assert request.texts(u) == ["نام؟", "سن؟", f"name{u}:{u}"]
    assert processor.active_keys == 0
