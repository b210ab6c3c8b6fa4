"""Starting and stopping the whole bot: database, services, one Application per messenger."""
from __future__ import annotations

import asyncio
import datetime as dt
import gc
import logging
import os
import secrets
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from telegram import Bot, Update
from telegram.error import InvalidToken, NetworkError
from telegram.ext import Application
from telegram.request import BaseRequest

from bot import logs
from bot.app import CONCURRENT_UPDATES, CONNECTION_POOL, build_application, make_request
from bot.campaign.clock import Clock
from bot.campaign.config import Config, ConfigError
from bot.campaign.services import Services
from bot.messenger.broadcast.worker import BroadcastWorker
from bot.messenger.notices import Notifier
from bot.messenger.notices.ambassador_watch import CHECK_EVERY, report_suspicious
from bot.messenger.notices.announcements import Announcer
from storage.db import Database
from storage.engine import open_database, shared_by_processes
from storage.repositories import Repositories

log = logging.getLogger(__name__)

# Telegram holds a long poll up to this many seconds when nothing happens.
POLL_TIMEOUT = 25
# Broadcasts have their own connections, so citizens' replies never queue behind them.
BROADCAST_POOL = 128
# The scheduled duties (start-up catch-up, the calendar's announcements, the ambassador watch) run
# in one process at a time when several share a PostgreSQL database: the holder of this lease,
# renewed every DUTIES_RENEW seconds; when the holder dies another takes over once it expires.
DUTIES_LEASE = "scheduled-duties"
DUTIES_TTL = dt.timedelta(seconds=30)
DUTIES_RENEW = 5.0


AMBASSADOR_JOB = "ambassadors:bursts"


class StartupError(Exception):
    """The bot cannot start; str() is one line for the operator, naming what is at fault."""


@dataclass
class Runtime:
    config: Config
    clock: Clock
    poll_timeout: int = POLL_TIMEOUT
    # Benchmarks compare against PTB's defaults: one update at a time, httpx.
    concurrent_updates: int = CONCURRENT_UPDATES
    transport: str = "aiohttp"
    # False: the applications have no Updater (a worker: updates come from the inbox, bot/cluster/worker.py).
    updater: bool = True
    # Wraps each application's transport (not the long poll's, not the broadcasts'): a worker records
    # its replies through it (bot/cluster/reply_ledger.py).
    wrap_request: Callable[[str, BaseRequest], BaseRequest] | None = None
    db: Database | None = None
    services: Services | None = None
    notifier: Notifier | None = None
    worker: BroadcastWorker | None = None
    announcer: Announcer | None = None
    applications: dict[str, Application] = field(default_factory=dict)
    _requests: list[BaseRequest] = field(default_factory=list)
    _froze: bool = False
    # Whether this process runs the scheduled duties (see DUTIES_LEASE), and its name as their holder.
    duties_held: bool = False
    holder: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}")

    async def open(self) -> None:
        """Database and applications, without fetching updates (tests drive process_update)."""
        self.db = open_database(self.config.database_address)
        await self.db.open()
        self.services = Services.build(self.config, self.clock, Repositories(self.db))
        await self.services.calendar.load()
        self.notifier = Notifier(self.services)
        self.worker = BroadcastWorker(self.services, {}, self.notifier)
        for platform_config in self.config.enabled_platforms:
            # Kept here so stop() can close them even when initialize() failed half-way (PTB's
            # shutdown() skips an application that never finished initializing).
            request = make_request(self.transport, CONNECTION_POOL)
            if self.wrap_request is not None:  # a worker's reply ledger (bot/cluster/reply_ledger.py)
                request = self.wrap_request(platform_config.name, request)
            poll_request = make_request(self.transport, 2)
            self._requests += [request, poll_request]
            self.applications[platform_config.name] = build_application(
                self.services, self.notifier, platform_config, request=request, get_updates_request=poll_request,
                concurrent_updates=self.concurrent_updates, worker=self.worker, updater=self.updater,
            )
            if hasattr(request, "calls_made"):
                self.worker.replies_made[platform_config.name] = lambda r=request: r.calls_made
            broadcast_request = make_request(self.transport, BROADCAST_POOL)
            self._requests.append(broadcast_request)
            self.worker.bots[platform_config.name] = Bot(
                platform_config.token, base_url=platform_config.base_url,
                base_file_url=platform_config.base_file_url, request=broadcast_request)

    async def start(self, polling: bool = True) -> None:
        if self.db is None:
            await self.open()
        for name, application in self.applications.items():
            try:
                await application.initialize()
            except InvalidToken:
                raise ConfigError(f"{name}.token", "was rejected by the server (check it, or ask BotFather for a new one)") from None
            except NetworkError as exc:
                url = self.config.platforms[name].base_url
                raise StartupError(f"{name}: the Bot API at {url} cannot be reached ({logs.exception_line(exc)}); "
                                   f"check {name}.base_url and this machine's network") from None
            # post_init only runs inside PTB's run_polling(); we start applications ourselves.
            if application.post_init:
                await application.post_init(application)
            await application.start()
            if polling and application.updater is not None:
                await application.updater.start_polling(
                    timeout=self.poll_timeout, allowed_updates=Update.ALL_TYPES, drop_pending_updates=False,
                )
            log.info("%s: serving as @%s", name, application.bot.username)
        self.duties_held = await self._hold_duties()
        if self.duties_held:
            await self._catch_up()
        if self.applications:
            for bot in self.worker.bots.values():
                await bot.initialize()
            self.worker.start()
            if self.duties_held:
                await self._start_duties()
            if self._shared():
                self._job_queue().run_repeating(self.renew_duties, interval=DUTIES_RENEW, first=DUTIES_RENEW,
                                                name="duties:lease")
        # What start-up built (PTB, the handlers, the config, imported modules) lives as long as the
        # process. Every full collection would walk all of it again — tens of milliseconds that hold
        # the event loop, and a broadcast sends a message a millisecond, each one's objects pushing
        # the collector to a full collection every second or two. Frozen, it is never walked again;
        # start-up's garbage is collected first so that none of it is kept.
        gc.collect()
        gc.freeze()
        self._froze = True

    def _job_queue(self):
        # The calendar needs one scheduler; any messenger's JobQueue will do.
        return next(iter(self.applications.values())).job_queue

    def _shared(self) -> bool:
        """Several processes may run on this database (PostgreSQL); SQLite has one."""
        return shared_by_processes(self.db)

    async def _hold_duties(self) -> bool:
        """Takes or renews the duties' lease: always ours on SQLite, as before."""
        if not self._shared():
            return True
        return await self.services.repos.leases.acquire(DUTIES_LEASE, self.holder, self.clock.now(), DUTIES_TTL)

    async def renew_duties(self, context=None) -> None:
        """A JobQueue job: keeps the duties' lease, takes the duties over when their holder has
        stopped renewing it (catching up on what it left undone), gives them up when lost."""
        try:
            held = await self._hold_duties()
        except Exception:  # noqa: BLE001 — the database away: another process may take over meanwhile
            log.exception("scheduled duties: renewing the lease failed; pausing them here")
            held = False
        if held and not self.duties_held:
            self.duties_held = True
            log.info("scheduled duties: this process runs them now (lease %s)", self.holder)
            await self._catch_up()
            await self._start_duties()
        elif self.duties_held and not held:
            self.duties_held = False
            log.warning("scheduled duties: lost the lease; another process runs them")
            self._stop_duties()

    async def _start_duties(self) -> None:
        job_queue = self._job_queue()
        self.announcer = Announcer(self.services.calendar, self.worker, self.notifier, job_queue)
        await self.announcer.start()
        job_queue.run_repeating(self._watch_ambassadors, interval=CHECK_EVERY, first=CHECK_EVERY,
                                name=AMBASSADOR_JOB)

    def _stop_duties(self) -> None:
        if self.announcer is not None:
            self.announcer.stop()
            self.announcer = None
        for job in self._job_queue().get_jobs_by_name(AMBASSADOR_JOB):
            job.schedule_removal()

    async def _catch_up(self) -> None:
        """What the last run left undone: cards never posted, outcomes never delivered."""
        for name in self.notifier.unmoderated_platforms():
            log.warning("%s: no admins and no staff_chat_id: new proposals get no moderation card there "
                        "(send /whoami, then fill %s.admins)", name, name)
        if posted := await self.notifier.post_missing_staff_cards():
            log.info("posted %d moderation card(s) that were missing", posted)
        if told := await self.notifier.tell_untold_authors():
            log.info("told %d author(s) an outcome that had not reached them", told)
        if told := await self.notifier.tell_untold_reviews():
            log.info("told %d author(s) a feasibility decision that had not reached them", told)
        posted, told = await self.notifier.catch_up_ambassadors()
        if posted or told:
            log.info("ambassadors: %d application(s) posted to staff, %d decision(s) told, that had not gone out",
                     posted, told)

    async def _watch_ambassadors(self, context) -> None:
        await report_suspicious(self.services, self.notifier)

    async def stop(self) -> None:
        """Graceful: stop fetching, let in-flight updates finish, save conversation states."""
        if self.worker is not None:
            await self.worker.stop()
            for bot in self.worker.bots.values():
                await bot.shutdown()
            self.worker = None
        for application in self.applications.values():
            if application.updater and application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
            await application.shutdown()
        self.applications.clear()
        for request in self._requests:
            await request.shutdown()
        self._requests.clear()
        if self.db is not None:
            if self.duties_held and self._shared():
                # Another process takes the duties at its next renewal, not after the lease's expiry.
                try:
                    await self.services.repos.leases.release(DUTIES_LEASE, self.holder)
                except Exception:  # noqa: BLE001 — it expires by itself
                    log.warning("scheduled duties: the lease could not be released; it expires in %d s",
                                DUTIES_TTL.total_seconds())
            self.duties_held = False
            await self.db.close()
            self.db = None
        if self._froze:
            # Given back to the collector: a process that goes on after stop() (the tests) would
            # otherwise keep this runtime's cycles forever.
            gc.unfreeze()
            self._froze = False


async def serve_forever(runtime: Runtime) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        # Inside the try: if the second messenger fails to start, the first is stopped and the
        # database closed, or the process would linger with a live poller and no way out.
        await runtime.start()
        await stop.wait()
    finally:
        log.info("stopping")
        await runtime.stop()
