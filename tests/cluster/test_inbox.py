"""storage/inbox.py on PostgreSQL: stored once, claimed per person in order, claims that expire, and
several workers (each its own PgDatabase, i.e. its own connections) claiming at once."""
from __future__ import annotations

import asyncio
import datetime as dt
import random

from storage.inbox import InboxJournalRepository, InboxRepository, person_of


def message(update_id: int, user: int, text: str = "x") -> dict:
    return {"update_id": update_id, "message": {"message_id": update_id, "date": 0, "text": text,
                                                "chat": {"id": user, "type": "private"},
                                                "from": {"id": user, "is_bot": False, "first_name": "a"}}}


def test_person_of():
    assert person_of(message(1, 42)) == 42
    press = {"update_id": 2, "callback_query": {"id": "q", "from": {"id": 7}, "chat_instance": "c",
                                                "message": {"message_id": 1, "chat": {"id": -100}}}}
    assert person_of(press) == 7  # the user who pressed, not the group
    assert person_of({"update_id": 3, "channel_post": {"message_id": 1, "chat": {"id": -1009}}}) == -1009
    assert person_of({"update_id": 4, "poll": {"id": "p"}}) == 0


async def test_a_redelivered_update_is_stored_once(pg_open):
    inbox = InboxRepository(await pg_open())
    assert await inbox.add("telegram", [message(10, 1)]) == 1
    assert await inbox.add("telegram", [message(10, 1), message(11, 1)]) == 1
    assert await inbox.add("bale", [message(10, 1)]) == 1  # update ids are per messenger
    counts = await inbox.counts()
    assert (counts.waiting, counts.claimed) == (3, 0)


async def test_claim_takes_each_persons_oldest_only_and_in_order(pg_open):
    one, two = InboxRepository(await pg_open()), InboxRepository(await pg_open())
    await one.add("telegram", [message(1, 100), message(2, 100), message(3, 200), message(4, 100)])
    first = await one.claim(["telegram"], 10, "w1", 60)
    assert [(c.update_id, c.person) for c in first] == [(1, 100), (3, 200)]
    assert first[0].body["message"]["text"] == "x" and first[0].attempts == 1
    # Another worker, other connections: person 100's next waits for update 1, 200 has nothing more.
    assert await two.claim(["telegram"], 10, "w2", 60) == []
    assert await one.claim(["bale"], 10, "w1", 60) == []
    # Done in the journal's transaction: the marker, the states and the inbox row together.
    journal = InboxJournalRepository(one.db, "telegram")
    await journal.record("telegram:1", [1], {("telegram:citizen", "[100, 100]"): '"title"'},
                         dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert await journal.contains("telegram:1", 1)
    assert await journal.states([("telegram:citizen", "[100, 100]"), ("telegram:citizen", "[9, 9]")]) == {
        ("telegram:citizen", "[100, 100]"): '"title"'}
    assert [c.update_id for c in await two.claim(["telegram"], 10, "w2", 60)] == [2]
    await one.finish("telegram", [2, 3])
    assert [c.update_id for c in await one.claim(["telegram"], 10, "w1", 60)] == [4]
    counts = await one.counts()
    assert (counts.waiting, counts.claimed) == (0, 1)


async def test_a_claim_brings_the_persons_conversation_states(pg_open):
    inbox = InboxRepository(await pg_open())
    journal = InboxJournalRepository(inbox.db, "telegram")
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    await journal.record("telegram:1", [], {("telegram:citizen", "[100, 100]"): '"title"',
                                            ("telegram:other", "[100, 100]"): '"x"',
                                            ("telegram:citizen", "[-5, 100]"): '"in a group"',
                                            ("bale:citizen", "[200, 200]"): '"bale"'}, now)
    await inbox.add("telegram", [message(1, 100), message(2, 200), message(3, 100)])
    claimed = await inbox.claim(["telegram"], 10, "w1", 60, ["citizen"])
    # Only the conversations asked about, in the person's private chat, on the update's messenger.
    assert [(c.update_id, c.states) for c in claimed] == [(1, {"telegram:citizen": '"title"'}), (2, {})]
    # Asked about none: no states (None), as before.
    await inbox.release("w1")
    assert [c.states for c in await inbox.claim(["telegram"], 10, "w1", 60)] == [None, None]
    # Update 1 done with the state it left: update 3, claimable only now, starts from that state.
    await journal.record("telegram:1", [1], {("telegram:citizen", "[100, 100]"): '"description"'}, now)
    await inbox.release("w1")
    claimed = await inbox.claim(["telegram"], 10, "w1", 60, ["citizen"])
    assert [(c.update_id, c.states) for c in claimed] == [(2, {}), (3, {"telegram:citizen": '"description"'})]


async def test_a_dead_workers_claims_expire_and_are_taken_over(pg_open):
    one, two = InboxRepository(await pg_open()), InboxRepository(await pg_open())
    await one.add("telegram", [message(1, 100), message(2, 200)])
    # w1 holds update 1 for a minute, update 2 with a claim that has run out already (ttl 0).
    assert [c.update_id for c in await one.claim(["telegram"], 1, "w1", 60)] == [1]
    assert [c.update_id for c in await one.claim(["telegram"], 1, "w1", 0)] == [2]
    taken = await two.claim(["telegram"], 10, "w2", 60)
    assert [(c.update_id, c.attempts) for c in taken] == [(2, 2)]
    # w2 renews what it holds; w1's renewal no longer covers update 2.
    assert await two.renew("w2", 60) == 1
    assert await one.renew("w1", 0) == 1  # update 1 only: now expired too
    assert [c.update_id for c in await two.claim(["telegram"], 10, "w2", 60)] == [1]
    # Given back: claimable again at once, by anyone; someone else's claim cannot be given back.
    assert await one.release("w1", [c.id for c in taken]) == 0
    assert await two.release("w2", [c.id for c in taken]) == 1
    assert [c.update_id for c in await one.claim(["telegram"], 10, "w1", 60)] == [2]


async def test_workers_claiming_at_once_keep_each_persons_order(pg_open):
    """Three workers, each with its own connections, claim and finish concurrently: every update is
    handled once, a person never has two updates in hand at once, and each person's run in order."""
    rng = random.Random(15)
    persons, per_person = 40, 8
    feeder = InboxRepository(await pg_open())
    order = [(p, n) for p in range(1, persons + 1) for n in range(per_person)]
    rng.shuffle(order)
    # Arrival order per person is preserved whatever the interleaving across persons.
    next_of: dict[int, int] = {}
    updates = []
    for update_id, (person, _) in enumerate(order, start=1):
        seq = next_of.get(person, 0)
        next_of[person] = seq + 1
        updates.append(message(update_id, person, text=str(seq)))
    for start in range(0, len(updates), 37):
        await feeder.add("telegram", updates[start:start + 37])

    in_hand: set[int] = set()
    seen: dict[int, list[int]] = {}
    handled: list[int] = []
    overlaps = []

    async def worker(name: str) -> None:
        inbox = InboxRepository(await pg_open(pool_size=3))
        journal = InboxJournalRepository(inbox.db, "telegram")
        idle = 0
        while idle < 5:
            claimed = await inbox.claim(["telegram"], 7, name, 60)
            if not claimed:
                idle += 1
                await asyncio.sleep(0.01)
                continue
            idle = 0

            async def handle(c):
                if c.person in in_hand:
                    overlaps.append(c.update_id)
                in_hand.add(c.person)
                await asyncio.sleep(rng.random() * 0.003)
                seen.setdefault(c.person, []).append(int(c.body["message"]["text"]))
                handled.append(c.update_id)
                in_hand.discard(c.person)
                await journal.record("telegram:1", [c.update_id], {}, dt.datetime.now(dt.UTC))
            await asyncio.gather(*(handle(c) for c in claimed))

    await asyncio.gather(*(worker(f"w{n}") for n in range(3)))
    assert not overlaps
    assert sorted(handled) == list(range(1, len(updates) + 1))
    assert all(seq == list(range(per_person)) for seq in seen.values()), seen
    counts = await feeder.counts()
    assert (counts.waiting, counts.claimed) == (0, 0)


async def test_a_commit_of_new_updates_wakes_the_listeners(pg_open, pg_url):
    from storage.inbox import InboxListener

    inbox = InboxRepository(await pg_open())
    news = asyncio.Event()
    listener = InboxListener(pg_url, news.set)
    listening = asyncio.ensure_future(listener.run())
    try:
        await asyncio.wait_for(news.wait(), 10)  # once listening: "look now"
        news.clear()
        assert listener.listening
        await inbox.add("telegram", [message(1, 100)])
        await asyncio.wait_for(news.wait(), 10)
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
