"""The worker's slice boundary (every few seconds it looks at what has become due) no longer waits
for the requests in flight: waiting for the server's answers stopped a broadcast every 5 s for
the server's latency and more (issue 13, bench.broadcast's stalls at 5.0, 10.0, 15.1 … s)."""
from __future__ import annotations

import asyncio

from bot.messenger.broadcast.content import Content
from bot.messenger.broadcast.sender import PlatformSender
from tests.support.journeys import citizens, sent_now

NOTICE = "جلسهٔ هم‌اندیشی محله: پنجشنبه ساعت ۱۸"


class _Held:
    """Stands in for a Bot: every request stays in flight until released."""

    def __init__(self) -> None:
        self.chats: list[int] = []
        self.release = asyncio.Event()

    async def send_message(self, chat_id: int, text: str, **kwargs) -> None:
        self.chats.append(chat_id)
        await self.release.wait()


async def _started(bot, chats: list[int]):
    await citizens(bot, "telegram", chats)
    services, repo = bot.services, bot.services.repos.broadcasts
    draft = await sent_now(services, NOTICE)
    await repo.start(draft.id, bot.clock.now())
    return draft.id, repo


async def _statuses(repo, broadcast_id: int) -> dict[str, int]:
    progress = (await repo.progress(broadcast_id))["telegram"]
    return {"sent": progress.sent, "sending": progress.sending, "pending": progress.pending}


async def test_a_slice_ends_without_waiting_for_requests_in_flight_and_the_next_goes_on(bot):
    chats = list(range(100, 120))
    broadcast_id, repo = await _started(bot, chats)
    held = _Held()
    sender = PlatformSender("telegram", held, repo, bot.clock, rate=100)  # a slot every 10 ms
    content = Content(await repo.get(broadcast_id), repo, None)
    loop = asyncio.get_running_loop()

    # The slice ends while every request made is still unanswered: run() returns all the same.
    await asyncio.wait_for(sender.run(broadcast_id, content, lambda: True, until=loop.time() + 0.05), 2)
    first = list(held.chats)
    statuses = await _statuses(repo, broadcast_id)
    assert 0 < len(first) < len(chats)
    assert statuses == {"sent": 0, "sending": len(first), "pending": len(chats) - len(first)}

    # The next slice goes on with the others; once nothing is due it waits for every outcome.
    held.release.set()
    await asyncio.wait_for(sender.run(broadcast_id, content, lambda: True), 5)
    assert await _statuses(repo, broadcast_id) == {"sent": len(chats), "sending": 0, "pending": 0}
    assert sorted(held.chats) == chats  # nobody twice, nobody missed


async def test_stopping_writes_the_outcomes_a_slice_left_in_flight(bot):
    chats = list(range(200, 220))
    broadcast_id, repo = await _started(bot, chats)
    held = _Held()
    sender = PlatformSender("telegram", held, repo, bot.clock, rate=100)
    content = Content(await repo.get(broadcast_id), repo, None)
    loop = asyncio.get_running_loop()
    await asyncio.wait_for(sender.run(broadcast_id, content, lambda: True, until=loop.time() + 0.05), 2)

    drained = asyncio.create_task(sender.drain())
    await asyncio.sleep(0)
    assert not drained.done()  # waits for the answers: a row left 'sending' would turn uncertain
    held.release.set()
    await asyncio.wait_for(drained, 2)
    sent = len(held.chats)
    assert await _statuses(repo, broadcast_id) == {"sent": sent, "sending": 0, "pending": len(chats) - sent}


async def test_the_worker_stop_drains_its_senders(bot):
    chats = list(range(300, 2300))  # more than one slice's worth at the configured rate
    broadcast_id, repo = await _started(bot, chats)
    held = _Held()
    worker = bot.worker
    worker.bots["telegram"] = held
    worker._senders.clear()
    await worker.hold_lease()
    passing = asyncio.create_task(worker.pass_once(slice_seconds=0.05))
    assert await asyncio.wait_for(passing, 2) is True  # still sending: the answers are awaited
    requested = len(held.chats)
    assert 0 < requested < len(chats)
    assert (await _statuses(repo, broadcast_id))["sending"] == requested
    stopping = asyncio.create_task(worker.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done()  # it waits for the answers: a row left 'sending' would turn uncertain
    held.release.set()
    await asyncio.wait_for(stopping, 2)
    assert await _statuses(repo, broadcast_id) == {"sent": requested, "sending": 0, "pending": len(chats) - requested}
