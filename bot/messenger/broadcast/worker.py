"""The broadcast worker: one per process, sending only while it holds the database lease.

Each pass starts the broadcasts whose time has come, sends on every messenger at once (on one
messenger, one broadcast after another, so the configured rate is never exceeded), and closes
the ones with nobody left to try. A separate loop edits the staff's progress messages.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import secrets
import socket
from collections.abc import Callable

from telegram import Bot
from telegram.error import TelegramError

from bot.campaign.services import Services
from bot.messenger.broadcast import report
from bot.messenger.broadcast.content import Content
from bot.messenger.broadcast.sender import PlatformSender
from bot.messenger.shared_rate import SharedBudget, budget_name
from domain import CANCELLED, SENDING, Broadcast, Watcher
from storage.engine import shared_by_processes
from storage.rate_budget import RateBudgetRepository

log = logging.getLogger(__name__)

LEASE = "broadcast-sender"
LEASE_TTL = dt.timedelta(seconds=30)
RENEW_EVERY = 5.0
IDLE_POLL = 2.0  # seconds between looks for scheduled broadcasts
BUSY_POLL = 0.5  # while postponed recipients wait for their retry
PROGRESS_EVERY = 4.0
SLICE = 5.0  # seconds of sending between two looks at what has become due


def _dead_here(holder: str) -> bool:
    """Whether a lease holder ("host:pid:token") was a process on this machine that no longer runs."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


class BroadcastWorker:
    def __init__(self, services: Services, bots: dict[str, Bot], notifier) -> None:
        """``bots`` send the broadcasts; the notifier's bots edit the staff's progress messages."""
        self.services = services
        self.repo = services.repos.broadcasts
        self.bots = bots
        self.notifier = notifier
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.holding = False
        self._senders: dict[str, PlatformSender] = {}
        # Per messenger: a counter of the API calls made for citizens (see PlatformSender).
        self.replies_made: dict[str, Callable[[], int]] = {}
        self._contents: dict[int, Content] = {}
        self._seen_sending: set[int] = set()
        self._shown: dict[tuple[int, str, int], str] = {}  # last progress text per message
        self._wake = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task] = []

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        self._tasks = [asyncio.create_task(self._main_loop(), name="broadcast-worker"),
                       asyncio.create_task(self._progress_loop(), name="broadcast-progress"),
                       asyncio.create_task(self._lease_loop(), name="broadcast-lease")]

    async def stop(self) -> None:
        """Stops sending; requests in flight finish and their outcomes are written."""
        self._stopping = True
        self._wake.set()
        if self._tasks:
            main, *helpers = self._tasks
            for task in helpers:  # an edit or a lease renewal cut short loses nothing
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await main
        self._tasks = []
        await self._drain()
        if self.holding:
            await self.services.repos.leases.release(LEASE, self.holder)
            self.holding = False

    def wake(self) -> None:
        """Something is due now (a confirmed broadcast, an announcement)."""
        self._wake.set()

    async def _main_loop(self) -> None:
        await self._safely(self.hold_lease)
        busy = False
        loop = asyncio.get_running_loop()
        while not self._stopping:
            started = loop.time()
            if self.holding:
                busy = await self._safely(self.pass_once, lambda: not self._stopping and self.holding, SLICE)
            if busy and loop.time() - started >= SLICE:
                continue  # a long broadcast between two looks at what is due: no pause
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), BUSY_POLL if busy else IDLE_POLL)
            self._wake.clear()

    async def _lease_loop(self) -> None:
        """Renews the lease beside the sending, so a long broadcast is never cut to renew it."""
        while True:
            await asyncio.sleep(RENEW_EVERY)
            await self._safely(self.hold_lease)

    @staticmethod
    async def _safely(step, *args):
        try:
            return await step(*args)
        except Exception:  # noqa: BLE001 — the worker must outlive one failed step (a locked database)
            log.exception("broadcast worker: %s failed; trying again shortly", getattr(step, "__name__", step))
            return False

    async def _progress_loop(self) -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            try:
                await self.update_progress()
            except Exception:
                log.exception("progress update failed")

    # -- the lease ------------------------------------------------------------------------------

    async def hold_lease(self) -> bool:
        """Take or renew the lease. Taking it over means the last holder died: what it had in
        flight is uncertain, and is counted so rather than sent again."""
        had = self.holding
        leases, now = self.services.repos.leases, self.services.clock.now()
        self.holding = await leases.acquire(LEASE, self.holder, now, LEASE_TTL)
        if not self.holding and (current := await leases.holder(LEASE)):
            holder, expires = current
            # A process of this machine that is gone (SIGKILL, a crash) and has missed two renewals:
            # no need to wait out the rest of its lease. (Two renewals, because a container with
            # the same host name cannot see our process ids, and would take it over at once.)
            if expires - now <= LEASE_TTL - 2 * dt.timedelta(seconds=RENEW_EVERY) and _dead_here(holder):
                self.holding = await leases.acquire(LEASE, self.holder, now, LEASE_TTL, take_over=holder)
        if self.holding and not had:
            uncertain = await self.repo.mark_in_flight_uncertain()
            log.info("broadcast sender: this process sends (lease %s)%s", self.holder,
                     f"; {uncertain} message(s) in flight at the last stop are uncertain" if uncertain else "")
        elif had and not self.holding:
            log.warning("broadcast sender: lost the lease to another process; not sending")
        return self.holding

    # -- one pass ---------------------------------------------------------------------------

    async def pass_once(self, keep_going=lambda: True, slice_seconds: float | None = None) -> bool:
        """Returns True while some broadcast is still sending (postponed recipients left).
        Without the lease it does nothing: another process sends.

        ``slice_seconds``: come back after that long even in the middle of a long broadcast, so
        that one which has just become due (09:00 on 5 Azar) does not wait for it to end."""
        if not self.holding:
            return False
        now = self.services.clock.now()
        for broadcast_id in await self.repo.due(now):
            if await self.repo.start(broadcast_id, now) is not None:
                await self._started(broadcast_id)
        active = await self.repo.in_status(SENDING)
        if not active or {b.id for b in active} != self._seen_sending:
            # A broadcast ended (or was stopped) with requests of the last slice still in flight:
            # its report counts their outcomes.
            await self._drain()
        await self._close_cancelled({b.id for b in active})
        if not active:
            return False
        # The calendar's announcements go first, then the oldest staff broadcast.
        active.sort(key=lambda b: (b.announcement is None, b.id))
        until = None if slice_seconds is None else asyncio.get_running_loop().time() + slice_seconds
        await asyncio.gather(*(self._send_on(name, active, keep_going, until) for name in self.bots))
        still = False
        for broadcast in active:
            progress = await self.repo.progress(broadcast.id)
            if any(p.pending or p.sending for p in progress.values()):
                still = True
            elif await self.repo.finish(broadcast.id, self.services.clock.now()):
                self._contents.pop(broadcast.id, None)
                await self._finished(broadcast.id)
        return still

    async def _close_cancelled(self, sending_now: set[int]) -> None:
        """Broadcasts this worker was sending that are sending no more: those stopped by staff
        get their final report here, once their last messages in flight are written."""
        gone, self._seen_sending = self._seen_sending - sending_now, sending_now
        for broadcast_id in sorted(gone):
            broadcast = await self.repo.get(broadcast_id)
            if broadcast is not None and broadcast.status == CANCELLED:
                self._contents.pop(broadcast_id, None)
                await self.close_watchers(broadcast)

    def sender(self, platform: str) -> PlatformSender:
        """One per messenger for the worker's life: pacing and 429 pauses carry across passes."""
        if platform not in self._senders:
            config = self.services.config.platforms[platform]
            budget = None
            if shared_by_processes(db := self.services.repos.db):
                # Every process's replies and this broadcast take from one budget per bot.
                budget = SharedBudget(RateBudgetRepository(db), budget_name(platform, config.token),
                                      config.broadcast_rate, bulk=True)
            self._senders[platform] = PlatformSender(platform, self.bots[platform], self.repo, self.services.clock,
                                                     config.broadcast_rate, self.replies_made.get(platform), budget,
                                                     ceiling=config.broadcast_rate_ceiling)
        return self._senders[platform]

    async def _send_on(self, platform: str, active: list[Broadcast], keep_going, until: float | None) -> None:
        sender = self.sender(platform)
        loop = asyncio.get_running_loop()
        for broadcast in active:
            if not keep_going() or (until is not None and loop.time() >= until):
                return
            await sender.run(broadcast.id, self._content(broadcast), keep_going, until)

    async def _drain(self) -> None:
        """Outcomes of every request a sliced run() left in flight, written."""
        for sender in self._senders.values():
            await sender.drain()

    def _content(self, broadcast: Broadcast) -> Content:
        if broadcast.id not in self._contents:
            source_bot = self.bots.get(broadcast.source_platform) if broadcast.source_platform else None
            self._contents[broadcast.id] = Content(broadcast, self.repo, source_bot)
        return self._contents[broadcast.id]

    # -- what staff see -------------------------------------------------------------------------

    async def _started(self, broadcast_id: int) -> None:
        broadcast = await self.repo.get(broadcast_id)
        log.info("broadcast %d started: %d recipient(s)", broadcast_id, broadcast.total or 0)
        watchers = await self.repo.watchers(broadcast_id)
        if broadcast.announcement and not watchers:
            # Announcements have no sender to watch them: the staff chats (or admins) do.
            watchers = [Watcher(broadcast_id, name, chat_id, None)
                        for name in self.notifier.bots for chat_id in self.notifier.staff_targets(name)]
        for watcher in watchers:
            if watcher.message_id is None:
                await self._post_progress(broadcast, watcher)

    async def _post_progress(self, broadcast: Broadcast, watcher: Watcher) -> None:
        bot = self.notifier.bots.get(watcher.platform)
        if bot is None:
            return
        text, markup = await report.progress_message(self.services, broadcast, watcher.platform)
        try:
            message = await bot.send_message(watcher.chat_id, text, reply_markup=markup)
        except TelegramError as exc:
            log.warning("broadcast %d: progress message not posted on %s: %s", broadcast.id, watcher.platform,
                        exc.__class__.__name__)
            return
        await self.repo.add_watcher(Watcher(broadcast.id, watcher.platform, watcher.chat_id, message.message_id))
        self._shown[(broadcast.id, watcher.platform, watcher.chat_id)] = text

    async def update_progress(self) -> None:
        """Edits every running broadcast's progress messages whose text has changed."""
        for broadcast in await self.repo.in_status(SENDING):
            for watcher in await self.repo.watchers(broadcast.id):
                await self._edit(broadcast, watcher)

    async def _edit(self, broadcast: Broadcast, watcher: Watcher, final: bool = False) -> None:
        bot = self.notifier.bots.get(watcher.platform)
        if bot is None or watcher.message_id is None:
            return
        text, markup = await report.progress_message(self.services, broadcast, watcher.platform, final=final)
        key = (broadcast.id, watcher.platform, watcher.chat_id)
        if self._shown.get(key) == text:
            return
        try:
            await bot.edit_message_text(text, chat_id=watcher.chat_id, message_id=watcher.message_id, reply_markup=markup)
            self._shown[key] = text
        except TelegramError as exc:
            log.info("broadcast %d: progress not edited on %s: %s", broadcast.id, watcher.platform, exc.__class__.__name__)

    async def _finished(self, broadcast_id: int) -> None:
        broadcast = await self.repo.get(broadcast_id)
        counts = report.total(await self.repo.progress(broadcast_id))
        log.info("broadcast %d finished: %d sent, %d unreachable, %d failed, %d uncertain", broadcast_id,
                 counts.sent, counts.unreachable, counts.failed, counts.uncertain)
        await self.close_watchers(broadcast)

    async def close_watchers(self, broadcast: Broadcast) -> None:
        """Final state on every progress message (no cancel button), and the report as a new message."""
        # The rate each messenger's sender settled on (it carries over from one broadcast to the next).
        rates = {name: (sender.adaptive.start, sender.rate) for name, sender in self._senders.items()}
        text = await report.final_report(self.services, broadcast, rates)
        for watcher in await self.repo.watchers(broadcast.id):
            await self._edit(broadcast, watcher, final=True)
            bot = self.notifier.bots.get(watcher.platform)
            if bot is None:
                continue
            try:
                await bot.send_message(watcher.chat_id, text)
            except TelegramError as exc:
                log.info("broadcast %d: report not sent on %s: %s", broadcast.id, watcher.platform, exc.__class__.__name__)
