"""``manshahrdaram worker``: handles updates taken from the inbox, beside other workers.

Each worker process builds the same Applications as the single-process bot (bot/runtime.py), without
an Updater, and feeds them updates it claims from the inbox (storage/inbox.py):

- the inbox hands out, for each person, only their oldest update not done, and only when no live
  claim holds it: one person's updates run one at a time and in arrival order, whichever worker
  takes them; different people's run in parallel here (up to ``concurrency`` at once) and in every
  other worker;
- an update runs through the application's update processor and update journal exactly as a polled
  one does (flood control, the per-person order, the handlers); the journal then commits, in one
  transaction, its processed-updates marker, the conversation states it left and its inbox row as
  done (storage/inbox.InboxJournalRepository). Only after that commit can the person's next update
  be claimed, by any worker;
- conversation state comes from the database: before an update runs, its person's states are read
  again (bot/messenger/persistence.reload_states), since PTB's ConversationHandler would otherwise
  go on with what this process remembered — stale when another worker served the person's last step;
- flood control counts each person once across the workers: their buckets are kept in PostgreSQL
  (storage/flood_buckets.py, flood_door.SharedFlood), read before the update reaches the processor,
  which takes that verdict as its own, and written with the update done (a worker's memory alone gave
  a person N workers' allowance);
- claims last ``claim_seconds`` and are renewed every third of that while the worker lives (from a
  thread with a connection of its own: storage/inbox.ClaimKeeper); a
  killed worker's claims expire and another worker takes its updates over. An update taken over was
  not marked (the marker and the "done" are one commit), so it runs again. Its replies are not sent
  twice: the calls the first attempt made were recorded with the messenger's answers, and the re-run
  gets those answers instead of sending (bot/cluster/reply_ledger.py, which says what window remains).
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field

from bot.cluster.reply_ledger import ReplyLedger
from bot.messenger.context import KEY
from bot.messenger.flood_door import FloodDoor, SharedFlood
from bot.messenger.update_decoding import decode_updates
from bot.messenger.update_journal import TAKEN_OVER
from bot.runtime import Runtime
from storage.engine import shared_by_processes
from storage.flood_buckets import FloodBucketRepository
from storage.inbox import Claimed, ClaimKeeper, InboxJournalRepository, InboxListener, InboxRepository

log = logging.getLogger(__name__)

# How long a claim holds an update for its worker (renewed every third of it while the worker lives):
# a killed worker's updates wait this long at most before another worker takes them.
CLAIM_SECONDS = 30.0
# Updates claimed in one statement at most.
CLAIM_BATCH = 64
# An idle worker looks at the inbox again after this long, doubling up to POLL_MAX while it stays empty;
# a receiver's commit wakes it before that (storage/inbox.InboxListener), where LISTEN works.
POLL_MIN, POLL_MAX = 0.005, 0.25
# An update claimed this many times was started that often by workers that died on it: given up on,
# so the person's later updates are not held behind it forever.
MAX_ATTEMPTS = 5
# How often a worker forgets inbox rows done more than a day ago.
PRUNE_EVERY = 3600.0


def worker_name() -> str:
    """Unique per process, readable in the inbox: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class InboxWorker:
    runtime: Runtime
    inbox: InboxRepository
    name: str = field(default_factory=worker_name)
    concurrency: int = 256
    claim_seconds: float = CLAIM_SECONDS
    # Records the replies, so an update taken over is not answered twice (None: not recorded).
    ledger: ReplyLedger | None = None
    handled: int = 0
    given_up: int = 0
    _held: dict[tuple[str, int], Claimed] = field(default_factory=dict)
    _tasks: set[asyncio.Task] = field(default_factory=set)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _loops: list[asyncio.Task] = field(default_factory=list)
    # Per platform: the flood buckets the workers share, and the door that takes their verdicts.
    _floods: dict[str, tuple[SharedFlood, FloodDoor]] = field(default_factory=dict)
    _keeper: ClaimKeeper | None = None
    _stopping: bool = False

    async def start(self) -> None:
        shared_flood = shared_by_processes(self.runtime.db)
        for platform, application in self.runtime.applications.items():
            journal = application.persistence.journal
            repo = InboxJournalRepository(self.runtime.db, platform, on_done=self._done)
            journal.take_from_inbox(repo)
            context = application.bot_data[KEY]
            if shared_flood and context.flood_door is not None:
                # One allowance per person across the workers (the single process keeps it in memory);
                # the buckets an update leaves are written with it done.
                shared = SharedFlood(FloodBucketRepository(self.runtime.db), context.services, platform, repo.flood)
                self._floods[platform] = (shared, context.flood_door)
        if self.ledger is not None and self.ledger.repo is None:
            self.ledger.attach(self.runtime.db)
        loop = asyncio.get_running_loop()
        self._keep_claims()
        self._loops = [loop.create_task(self._claim_loop(), name="inbox:claim"),
                       loop.create_task(self._renew_loop(), name="inbox:renew")]
        url = getattr(self.runtime.db, "url", None)
        if url is not None:  # a receiver's commit wakes an idle worker at once
            self._loops.append(loop.create_task(InboxListener(url, self._wake.set).run(), name="inbox:listen"))
        log.info("worker %s: taking updates from the inbox (%d at once, claims for %g s)",
                 self.name, self.concurrency, self.claim_seconds)

    async def stop(self, within: float = 20.0) -> None:
        """Stops claiming, lets the updates in hand finish and be committed, gives back the rest."""
        self._stopping = True
        self._wake.set()
        if self._loops:
            claim, renew, *listen = self._loops
            for task in (claim, *listen):
                task.cancel()
            await asyncio.gather(claim, *listen, return_exceptions=True)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=within)
        for application in self.runtime.applications.values():
            await application.persistence.journal.flush()
        if self.ledger is not None:
            await self.ledger.close()
            log.info("worker %s: reply ledger: %s", self.name, self.ledger.figures())
        if self._loops:
            renew.cancel()
            await asyncio.gather(renew, return_exceptions=True)
            self._loops = []
        if self._keeper is not None:
            keeper, self._keeper = self._keeper, None
            await asyncio.to_thread(keeper.stop)
        # Everything this worker still holds unfinished, by its name: also what a claim cut short by
        # the stop took without this worker ever seeing it.
        try:
            if given := await self.inbox.release(self.name):
                log.info("worker %s: gave back %d update(s) it had not finished", self.name, given)
        except Exception as exc:  # noqa: BLE001 — they expire by themselves
            log.warning("worker %s: could not give back its claims (%s); they expire in %g s",
                        self.name, exc.__class__.__name__, self.claim_seconds)

    # -- claiming ---------------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        platforms = list(self.runtime.applications)
        # Their states come with each claimed update (storage/inbox.InboxRepository.claim).
        conversations = sorted({name for application in self.runtime.applications.values()
                                for name in application.persistence.conversation_names()})
        wait = POLL_MIN
        failing = False
        while not self._stopping:
            free = self.concurrency - len(self._held)
            if free <= 0:
                self._wake.clear()
                await self._wake.wait()
                continue
            want = min(free, CLAIM_BATCH)
            self._wake.clear()
            try:
                claimed = await self.inbox.claim(platforms, want, self.name, self.claim_seconds, conversations)
            except Exception as exc:  # noqa: BLE001 — the database may come back
                if not failing:  # once per outage
                    log.error("worker %s: claiming from the inbox failed (%s); trying again every %g s",
                              self.name, exc.__class__.__name__, POLL_MAX * 10)
                failing = True
                await asyncio.sleep(POLL_MAX * 10)
                continue
            if failing:
                failing = False
                log.info("worker %s: claiming from the inbox again", self.name)
            for update in claimed:
                self._held[(update.platform, update.update_id)] = update
                task = asyncio.get_running_loop().create_task(self._handle(update))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            if len(claimed) == want:
                wait = POLL_MIN
                continue
            # Drained: wait for a finished update (its person's next may be claimable now) or a while.
            try:
                await asyncio.wait_for(self._wake.wait(), wait)
                wait = POLL_MIN
            except TimeoutError:
                wait = min(wait * 2, POLL_MAX)

    async def _handle(self, claimed: Claimed) -> None:
        application = self.runtime.applications[claimed.platform]
        if claimed.attempts > MAX_ATTEMPTS:
            log.error("%s: update %d was taken %d times by workers that did not finish it; given up",
                      claimed.platform, claimed.update_id, claimed.attempts - 1,
                      extra={"update_id": claimed.update_id, "platform": claimed.platform})
            try:
                await self.inbox.finish(claimed.platform, [claimed.update_id])
                self.given_up += 1
                self._done(claimed.platform, [claimed.update_id])
            except Exception:  # noqa: BLE001 — it expires and is tried again
                pass
            return
        try:
            [update] = decode_updates([claimed.body], application.bot, claimed.platform)
            if (flood := self._floods.get(claimed.platform)) is not None:
                shared, door = flood
                if (verdict := await shared.verdict(update)) is not None:
                    door.decided(update.update_id, verdict)
            application.persistence.claimed_with(claimed.update_id, claimed.person, claimed.states)
            ledger = self.ledger
            # Taken over: what the earlier attempt sent is answered from the ledger, not sent again.
            handling = nullcontext() if ledger is None else ledger.handling(
                await ledger.calls_for(claimed.platform, claimed.update_id, claimed.attempts))
            # Taken over: run from the conversation states the earlier attempt started from.
            taken_over = TAKEN_OVER.set(claimed.attempts > 1)
            try:
                with handling:
                    # As PTB's own dispatch does: the processor (per-person order, flood verdict, the
                    # journal) around process_update.
                    await application.update_processor.process_update(update, application.process_update(update))
            finally:
                TAKEN_OVER.reset(taken_over)
            self.handled += 1
        except Exception as exc:  # noqa: BLE001 — e.g. the states could not be read: given back, tried again
            log.warning("%s: update %d not handled (%s); given back to the inbox", claimed.platform,
                        claimed.update_id, exc.__class__.__name__,
                        extra={"update_id": claimed.update_id, "platform": claimed.platform})
            self._held.pop((claimed.platform, claimed.update_id), None)
            if (flood := self._floods.get(claimed.platform)) is not None:
                flood[0].pending.pop(claimed.update_id, None)  # counted again when it is
            try:
                await self.inbox.release(self.name, [claimed.id])
            except Exception:  # noqa: BLE001 — it expires instead
                pass
            self._wake.set()

    def _done(self, platform: str, update_ids: list[int]) -> None:
        """The journal committed these as done: their persons' next updates are claimable."""
        for update_id in update_ids:
            self._held.pop((platform, update_id), None)
        self._wake.set()

    # -- claims kept alive ------------------------------------------------------------------------

    def _keep_claims(self) -> None:
        """Claims renewed from a thread of their own where the database has a URL (PostgreSQL):
        storage/inbox.ClaimKeeper says why; otherwise by _renew_loop, through the pool."""
        url = getattr(self.runtime.db, "url", None)
        if url is not None and self._keeper is None:
            self._keeper = ClaimKeeper(url, self.name, self.claim_seconds, self.claim_seconds / 3,
                                       holding=lambda: bool(self._held))
            self._keeper.start()

    async def _renew_loop(self) -> None:
        """Renews the claims every third of their life, and awaits nothing else: a loop that also
        awaited the journal's commits (flush) waited, under a steady stream of updates, for a
        committer that never ran dry, and a live worker's claims expired under it — other workers
        then took its updates over while it was still handling them (answered twice, out of order)."""
        loop = asyncio.get_running_loop()
        pruned_at = loop.time()
        while True:
            await asyncio.sleep(self.claim_seconds / 3)
            try:
                if self._held and self._keeper is None:
                    await self.inbox.renew(self.name, self.claim_seconds)
            except Exception as exc:  # noqa: BLE001 — next round; the claims last three rounds
                log.warning("worker %s: renewing claims failed (%s)", self.name, exc.__class__.__name__)
            # A commit that failed (database away) is tried again here, not only at the next update.
            for application in self.runtime.applications.values():
                application.persistence.journal.retry()
            if loop.time() - pruned_at > PRUNE_EVERY:
                pruned_at = loop.time()
                self._background(self.inbox.prune(), "inbox:prune")
                for shared, _ in self._floods.values():
                    flood = shared.services.flood
                    self._background(shared.repo.prune(flood.clock.now().timestamp() - flood.horizon),
                                     "flood:prune")

    def _background(self, work, name: str) -> None:
        async def run() -> None:
            try:
                await work
            except Exception as exc:  # noqa: BLE001 — tried again at the next round
                log.warning("worker %s: %s failed (%s)", self.name, name, exc.__class__.__name__)
        task = asyncio.get_running_loop().create_task(run(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def serve_worker(runtime: Runtime, *, concurrency: int, claim_seconds: float = CLAIM_SECONDS,
                       ready=None) -> None:
    """Starts the runtime (no Updater) and a worker on it; runs until SIGTERM/SIGINT. ``ready`` is
    called once it takes updates."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    worker = None
    ledger = ReplyLedger()
    if runtime.db is None:  # its applications are built at start, around the ledger's transport
        runtime.wrap_request = ledger.wrap
    try:
        await runtime.start(polling=False)
        worker = InboxWorker(runtime, InboxRepository(runtime.db), concurrency=concurrency, claim_seconds=claim_seconds,
                             ledger=ledger if runtime.wrap_request is not None else None)
        await worker.start()
        if ready is not None:
            ready()
        await stop.wait()
    finally:
        log.info("stopping")
        if worker is not None:
            await worker.stop()
        await runtime.stop()
