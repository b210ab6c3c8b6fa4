"""bot/cluster/worker.py: two workers (two Runtimes, each with its own connections and its own PTB
ConversationHandler in memory) take turns on one citizen's ambassador form. Each step is handled by
the worker that did NOT handle the previous one, so each continues a conversation it either never saw
or remembers one step behind: only states read from the database before each update get it right."""
from __future__ import annotations

import asyncio

from bench.common import BOT_USERNAME, TOKEN, bench_config, voting_clock
from bot.cluster.receiver import Receiver, make_bots
from bot.cluster.worker import InboxWorker
from bot.devtools.localapi import LocalBotApi
from bot.runtime import Runtime
from messages_fa import ambassadors as amb
from storage.inbox import InboxJournalRepository, InboxRepository
from tests.support.waiting import until

USER = 4_200_001



async def test_the_next_worker_continues_the_conversation(pg_url, pg_open, monkeypatch):
    # Each update's states come with its claim (one round trip): in a private chat nothing reads them
    # again (storage/inbox.InboxRepository.claim, persistence.claimed_with).
    reads: list = []
    original = InboxJournalRepository.states

    async def states(self, wanted):
        reads.append(wanted)
        return await original(self, wanted)
    monkeypatch.setattr(InboxJournalRepository, "states", states)
    async with LocalBotApi(bots={TOKEN: BOT_USERNAME}) as api:
        state = api.state
        config = bench_config(api.url, pg_url)  # the database is the test's PostgreSQL schema
        clock = voting_clock(config)
        inbox = InboxRepository(await pg_open())
        runtimes = [Runtime(config, clock, updater=False), Runtime(config, clock, updater=False)]
        [bot] = make_bots(config).values()
        await bot.initialize()
        receiver = Receiver(config, inbox)
        polling = asyncio.ensure_future(receiver.poll("telegram", bot, timeout=1))
        try:
            for runtime in runtimes:
                await runtime.start(polling=False)
            handled = [0, 0]

            async def step(on: int, send) -> dict:
                """``send()`` the citizen's step, handled by worker ``on`` alone; its answer."""
                before = len(state.messages(TOKEN, USER))
                worker = InboxWorker(runtimes[on], InboxRepository(runtimes[on].db), name=f"w{on}",
                                     concurrency=8)
                await worker.start()
                try:
                    send()
                    await until(lambda: len(state.messages(TOKEN, USER)) > before, "the answer")
                    # Done (marker, states, inbox row: one commit) before the other worker may look.
                    await until(lambda: not worker._held, "the update marked done")
                finally:
                    await worker.stop()
                handled[on] += worker.handled
                assert worker.handled == 1
                return state.messages(TOKEN, USER)[-1]

            await step(0, lambda: state.send_text(TOKEN, USER, "/start"))
            asked = await step(0, lambda: state.send_text(TOKEN, USER, "/ambassador"))
            assert asked["text"] == amb.ask_name()
            # Worker 1 has never seen this citizen: in its memory there is no conversation.
            asked = await step(1, lambda: state.send_text(TOKEN, USER, "شهروند آزمایشی"))
            assert asked["text"] == amb.ask_neighbourhood()
            hood = config.neighbourhoods[3].id
            # Worker 0 remembers "name asked"; the database says "neighbourhood asked".
            asked = await step(0, lambda: state.press(TOKEN, USER, asked["message_id"], f"an:{hood}"))
            assert asked["text"] == amb.ask_groups()
            asked = await step(1, lambda: state.send_text(TOKEN, USER, "گروه همسایگان کوچهٔ ما"))
            assert asked["text"] == amb.ask_phone()
            asked = await step(0, lambda: state.send_contact(TOKEN, USER))
            assert asked["text"] == amb.submitted()
            assert handled == [4, 2]
            assert reads == []
            counts = await inbox.counts()
            assert (counts.waiting, counts.claimed) == (0, 0)
            # The form ended: no state left behind, and the application is stored.
            rows = await inbox.db.read(lambda conn: conn.execute(
                "SELECT count(*) FROM conversations").fetchone()[0])
            assert rows == 0
            applied = await inbox.db.read(lambda conn: conn.execute(
                "SELECT a.status FROM ambassadors a JOIN citizens c ON c.id = a.citizen_id WHERE c.user_id = ?",
                (USER,)).fetchall())
            assert [r[0] for r in applied] == ["pending"]
            # Both workers counted the citizen's steps in one set of flood buckets, written with each
            # update done: the last one counted is the contact.
            [(last,)] = await inbox.db.read(lambda conn: conn.execute(
                "SELECT last_update FROM flood_buckets WHERE user_id = ?", (USER,)).fetchall())
            done = await inbox.db.read(lambda conn: conn.execute(
                "SELECT max(update_id) FROM inbox WHERE person = ?", (USER,)).fetchone()[0])
            assert last == done
        finally:
            polling.cancel()
            await asyncio.gather(polling, return_exceptions=True)
            await bot.shutdown()
            for runtime in runtimes:
                await runtime.stop()


async def test_an_update_that_killed_its_workers_is_given_up_and_the_person_goes_on(pg_open):
    """Taken MAX_ATTEMPTS times by workers that died on it: finished unhandled (logged), so the
    person's later updates are not held behind it forever."""
    from types import SimpleNamespace

    from bot.cluster.worker import MAX_ATTEMPTS
    from tests.cluster.test_inbox import message

    inbox = InboxRepository(await pg_open())
    await inbox.add("telegram", [message(1, 100), message(2, 100)])
    for _ in range(MAX_ATTEMPTS):  # each worker died: its claim ran out (ttl 0)
        [claimed] = await inbox.claim(["telegram"], 10, "dead", 0)
        assert claimed.update_id == 1
    [claimed] = await inbox.claim(["telegram"], 10, "w", 60)
    assert claimed.attempts == MAX_ATTEMPTS + 1
    worker = InboxWorker(SimpleNamespace(applications={"telegram": None}), inbox, name="w")
    worker._held[("telegram", 1)] = claimed
    await worker._handle(claimed)  # never reaches an application
    assert worker.given_up == 1 and not worker._held
    assert [c.update_id for c in await inbox.claim(["telegram"], 10, "w", 60)] == [2]


async def test_a_stopping_worker_gives_back_what_it_could_not_finish(pg_open):
    """SIGTERM: the claims a worker still holds unfinished are given back at once, not left to expire."""
    from types import SimpleNamespace

    from tests.cluster.test_inbox import message

    inbox = InboxRepository(await pg_open())
    await inbox.add("telegram", [message(1, 100), message(2, 200)])
    worker = InboxWorker(SimpleNamespace(applications={}), inbox, name="w1", claim_seconds=600)
    for claimed in await inbox.claim(["telegram"], 10, "w1", 600):
        worker._held[("telegram", claimed.update_id)] = claimed  # as if its handling had failed to commit
    assert await inbox.claim(["telegram"], 10, "w2", 60) == []
    await worker.stop()
    assert sorted(c.update_id for c in await inbox.claim(["telegram"], 10, "w2", 60)) == [1, 2]


async def test_an_update_taken_over_runs_from_the_state_its_first_attempt_found(pg_url, pg_open):
    """The stall of tests/cluster/test_e2e_cluster.py (about one run in five): a worker killed after the
    ambassador form's last step (the shared phone) had committed the form's end (save_now) and replied,
    but before the update was done. The worker that took it over read "no conversation", so it took the
    contact for the voter's phone: verified it and sent a ballot, its first reply answered from the
    reply ledger with the form's «submitted». The citizen, never told «verified», asked for the ballot
    again and again. Taken over, the update must run from the state its first attempt found."""
    from bot.cluster.reply_ledger import ReplyLedger

    user = USER + 7
    async with LocalBotApi(bots={TOKEN: BOT_USERNAME}) as api:
        state = api.state
        config = bench_config(api.url, pg_url)
        clock = voting_clock(config)
        inbox = InboxRepository(await pg_open())
        ledgers = [ReplyLedger(), ReplyLedger()]
        runtimes = [Runtime(config, clock, updater=False), Runtime(config, clock, updater=False)]
        for runtime, ledger in zip(runtimes, ledgers, strict=True):
            runtime.wrap_request = ledger.wrap
        [bot] = make_bots(config).values()
        await bot.initialize()
        polling = asyncio.ensure_future(Receiver(config, inbox).poll("telegram", bot, timeout=1))
        first = None
        try:
            for runtime in runtimes:
                await runtime.start(polling=False)

            async def step(send) -> dict:
                before = len(state.messages(TOKEN, user))
                worker = InboxWorker(runtimes[0], InboxRepository(runtimes[0].db), name="w0", concurrency=8)
                await worker.start()
                try:
                    send()
                    await until(lambda: len(state.messages(TOKEN, user)) > before, "the answer")
                    await until(lambda: not worker._held, "the update marked done")
                finally:
                    await worker.stop()
                return state.messages(TOKEN, user)[-1]

            await step(lambda: state.send_text(TOKEN, user, "/start"))
            await step(lambda: state.send_text(TOKEN, user, "/ambassador"))
            asked = await step(lambda: state.send_text(TOKEN, user, "شهروند آزمایشی"))
            asked = await step(lambda: state.press(TOKEN, user, asked["message_id"], f"an:{config.neighbourhoods[3].id}"))
            asked = await step(lambda: state.send_text(TOKEN, user, "گروه همسایگان کوچهٔ ما"))
            assert asked["text"] == amb.ask_phone()

            # The last step, on a worker that dies after replying and before the update is done: its
            # done-commit never returns, and its claims stop being renewed.
            first = InboxWorker(runtimes[0], InboxRepository(runtimes[0].db), name="w-killed", concurrency=8,
                                claim_seconds=1.0, ledger=ledgers[0])
            await first.start()
            journal = runtimes[0].applications["telegram"].persistence.journal
            dying = asyncio.Event()

            async def never_done(key, update_ids, states, now):
                await dying.wait()
            journal.repo.record = never_done
            before = len(state.messages(TOKEN, user))
            state.send_contact(TOKEN, user)
            await until(lambda: len(state.messages(TOKEN, user)) > before, "the first attempt's answer")
            await asyncio.to_thread(ledgers[0].writer.wait_written, 5.0)
            for task in first._loops:
                task.cancel()
            await asyncio.gather(*first._loops, return_exceptions=True)
            await asyncio.to_thread(first._keeper.stop)  # its claims' renewal dies with it

            second = InboxWorker(runtimes[1], InboxRepository(runtimes[1].db), name="w1", concurrency=8,
                                 ledger=ledgers[1])
            await second.start()
            try:
                await until(lambda: second.handled == 1 and not second._held, "the update taken over and done")
            finally:
                await second.stop()
            [(attempts,)] = await inbox.db.read(lambda conn: conn.execute(
                "SELECT attempts FROM inbox WHERE body LIKE '%contact%'").fetchall())
            assert attempts == 2
            # Told once that the application is in, and nothing else; the phone was not taken for a vote.
            answers = [m["text"] for m in state.messages(TOKEN, user)[before:]]
            assert answers == [amb.submitted()], answers
            [(verified,)] = await inbox.db.read(lambda conn: conn.execute(
                "SELECT verified_at FROM citizens WHERE user_id = ?", (user,)).fetchall())
            assert verified is None
        finally:
            if first is not None:
                for task in (*first._tasks, *([journal._committer] if journal._committer else [])):
                    task.cancel()
            polling.cancel()
            await asyncio.gather(polling, return_exceptions=True)
            await bot.shutdown()
            for ledger in ledgers:
                await ledger.close()
            for runtime in runtimes:
                await runtime.stop()


async def test_a_live_worker_keeps_its_claims_while_its_journal_commits_without_pause(pg_open):
    """The renewals must not wait for the journal: under a steady stream of updates its committer never
    runs dry, and a renewal loop that awaited it (flush) let a live worker's claims expire — other
    workers took its updates over while it was still handling them (tests/cluster/test_e2e_cluster.py's
    steps answered twice outside any kill, votes' ballots sent again)."""
    from types import SimpleNamespace

    from tests.cluster.test_inbox import message

    inbox = InboxRepository(await pg_open())
    await inbox.add("telegram", [message(1, 100)])
    busy = asyncio.Event()  # a committer that keeps committing: never set

    class Journal:
        _committer = asyncio.ensure_future(busy.wait())
        _states: dict = {}
        _markers = [1]

        async def flush(self):
            await asyncio.shield(self._committer)

        def retry(self):
            pass

    journal = Journal()
    runtime = SimpleNamespace(applications={"telegram": SimpleNamespace(persistence=SimpleNamespace(journal=journal))})
    worker = InboxWorker(runtime, inbox, name="w1", claim_seconds=0.3)
    [claimed] = await inbox.claim(["telegram"], 10, "w1", 0.3)
    worker._held[("telegram", 1)] = claimed  # being handled
    renewing = asyncio.ensure_future(worker._renew_loop())
    try:
        await asyncio.sleep(1.0)  # three claim lifetimes
        assert await inbox.claim(["telegram"], 10, "w2", 60) == [], "a live worker's claim was taken over"
    finally:
        renewing.cancel()
        journal._committer.cancel()
        await asyncio.gather(renewing, journal._committer, return_exceptions=True)


async def test_a_worker_keeps_its_claims_while_its_pool_waits_on_a_lock(pg_open):
    """Every pool thread of a worker waiting (on a hot row's lock, measured at seconds under the e2e's
    load): its claims are renewed all the same, from their own thread and connection
    (storage/inbox.ClaimKeeper); through the pool they expired and live workers' updates were taken over."""
    from types import SimpleNamespace

    from tests.cluster.test_inbox import message

    db = await pg_open(1)  # the worker's pool: one thread
    inbox = InboxRepository(db)
    await inbox.add("telegram", [message(1, 100)])
    worker = InboxWorker(SimpleNamespace(applications={}, db=db), inbox, name="w1", claim_seconds=0.3)
    [claimed] = await inbox.claim(["telegram"], 10, "w1", 0.3)
    worker._held[("telegram", 1)] = claimed  # being handled
    worker._keep_claims()
    renewing = asyncio.ensure_future(worker._renew_loop())
    busy = asyncio.ensure_future(db.write(lambda conn: conn.execute("SELECT pg_sleep(1.2)").fetchone()))
    other = InboxRepository(await pg_open(1))
    try:
        await asyncio.sleep(1.0)  # three claim lifetimes, the pool busy throughout
        assert await other.claim(["telegram"], 10, "w2", 60) == [], "a live worker's claim was taken over"
    finally:
        renewing.cancel()
        await asyncio.gather(renewing, busy, return_exceptions=True)
        if worker._keeper is not None:
            await asyncio.to_thread(worker._keeper.stop)
