"""The bot as its own process, for the benchmark: the driver measures this process alone.

    python -m bench.run_bot --api http://127.0.0.1:PORT --db PATH [--concurrency 256] [--transport aiohttp]
                            [--broadcast-rate 1000] [--clock-epoch UNIX_TIME] [--echo | --skeleton]

Builds the config from config.example.toml (Telegram token and base_url pointed at the loopback
server, Bale off; ``--broadcast-rate`` replaces Telegram's broadcast_rate), starts ``Runtime``
with a ShiftedClock an hour into the voting phase (at ``--clock-epoch``, so that a restarted bot's
clock goes on from the first one's), prints ``ready`` on stdout once polling, and stops gracefully
on SIGTERM/SIGINT.

With ``BENCH_PROFILE=FILE`` in the environment the event-loop thread runs under cProfile and the
stats are dumped to FILE at exit (``python -m pstats FILE``); aiosqlite's worker thread is not
profiled. With ``BENCH_DB_PROBE=FILE`` the calls of ``Database.read``/``Database.write`` are
counted and timed per update, and aiosqlite's thread round trips counted (from ``ready`` on),
written to FILE as JSON at exit — an investigation aid that patches storage.db, aiosqlite and
PTB's Application.process_update inside this process only.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
from pathlib import Path

from bench.common import bench_config, voting_clock
from bot.app import CONCURRENT_UPDATES
from bot.runtime import Runtime


class _DbProbe:
    """Counts and times storage.db.Database.read/write per update (investigation aid).

    Per call: the time the caller awaited it, split into the wait for aiosqlite's thread (queued
    behind other operations), the function running there, and the hop back until the event loop
    resumes the caller (event-loop lag: the loop is busy with other updates). Calls are
    attributed to the update being processed through a context variable set around
    Application.process_update (tasks a handler starts inherit it); calls outside any update —
    the journal's commits of update markers with conversation states (bot/messenger/update_journal.py), a few
    updates' worth each — are counted as background. aiosqlite thread round trips
    (Connection._execute) are counted too: with one hop per repository operation they should equal
    the read/write calls.
    """

    def __init__(self) -> None:
        self.armed = False
        self.round_trips = 0
        self.calls = {"read": 0, "write": 0}
        self.background_calls = 0
        self.await_s = 0.0  # caller-side time in read/write, all calls
        self.exec_s = 0.0  # time functions ran on aiosqlite's thread, all round trips
        self.queue_s = 0.0  # from _execute to the thread starting the function (queued behind others)
        self.resume_s = 0.0  # from the function's end to the caller running again (event-loop lag)
        self.first = self.last = None
        self.by_kind: dict[str, list[int]] = {}  # kind -> [updates, calls, writes]
        self.per_update_calls: list[int] = []
        self.per_update_wait: list[float] = []
        self.per_update_exec: list[float] = []
        self.per_update_wall: list[float] = []
        self.by_function: dict[str, int] = {}

    @staticmethod
    def kind(update) -> str:
        """Which journey step an update is, cheaply."""
        query = getattr(update, "callback_query", None)
        if query is not None:
            return "callback:" + (query.data or "").split(":", 1)[0]
        message = getattr(update, "message", None)
        if message is None:
            return "other"
        if message.contact is not None:
            return "message:contact"
        text = message.text or ""
        return "message:" + (text.split()[0] if text.startswith("/") else "text")

    def install(self) -> None:
        import contextvars

        import aiosqlite.core
        from telegram.ext import Application

        import storage.db

        probe = self
        current: contextvars.ContextVar = contextvars.ContextVar("bench_db_update", default=None)
        in_write: contextvars.ContextVar = contextvars.ContextVar("bench_db_in_write", default=False)
        Database = storage.db.Database
        original_read, original_write = Database.read, Database.write

        async def measure(op: str, fn, call):
            if not probe.armed:
                return await call(fn)
            t0 = time.perf_counter()
            try:
                return await call(fn)
            finally:
                t1 = time.perf_counter()
                probe.first = probe.first or t0
                probe.last = t1
                probe.calls[op] += 1
                probe.await_s += t1 - t0
                name = f"{op}:{getattr(fn, '__qualname__', repr(fn))}"
                probe.by_function[name] = probe.by_function.get(name, 0) + 1
                stats = current.get()
                if stats is None:
                    probe.background_calls += 1
                else:
                    stats[0] += 1
                    stats[1] += op == "write"
                    stats[2] += t1 - t0

        async def read(db, fn, *args):
            if in_write.get():  # write() runs its transaction through read(): counted once, as a write
                return await original_read(db, fn, *args)
            return await measure("read", fn, lambda f: original_read(db, f, *args))

        async def write(db, fn, *args):
            async def call(f):
                token = in_write.set(True)
                try:
                    return await original_write(db, f, *args)
                finally:
                    in_write.reset(token)
            return await measure("write", fn, call)

        Database.read, Database.write = read, write

        original_process = Application.process_update

        async def process_update(app, update):
            if not probe.armed:
                return await original_process(app, update)
            stats = [0, 0, 0.0, 0.0]  # calls, writes, awaited s, on-thread s
            token = current.set(stats)
            t0 = time.perf_counter()
            try:
                return await original_process(app, update)
            finally:
                current.reset(token)
                probe.per_update_calls.append(stats[0])
                probe.per_update_wait.append(stats[2])
                probe.per_update_exec.append(stats[3])
                probe.per_update_wall.append(time.perf_counter() - t0)
                row = probe.by_kind.setdefault(probe.kind(update), [0, 0, 0])
                row[0] += 1
                row[1] += stats[0]
                row[2] += stats[1]

        Application.process_update = process_update
        original_execute = aiosqlite.core.Connection._execute

        async def execute(conn, fn, *args, **kwargs):
            if not probe.armed:
                return await original_execute(conn, fn, *args, **kwargs)
            probe.round_trips += 1
            stats = current.get()
            called = time.perf_counter()
            ended = []

            def timed(*a, **kw):  # runs on aiosqlite's thread; only that one thread adds here
                t0 = time.perf_counter()
                probe.queue_s += t0 - called
                try:
                    return fn(*a, **kw)
                finally:
                    t1 = time.perf_counter()
                    ended.append(t1)
                    probe.exec_s += t1 - t0
                    if stats is not None:
                        stats[3] += t1 - t0

            try:
                return await original_execute(conn, timed, *args, **kwargs)
            finally:
                if ended:
                    probe.resume_s += time.perf_counter() - ended[0]

        aiosqlite.core.Connection._execute = execute

    def dump(self, path: str) -> None:
        import json

        span = (self.last - self.first) if self.first and self.last else 0.0
        Path(path).write_text(json.dumps({
            "updates": len(self.per_update_calls), "calls": self.calls, "background_calls": self.background_calls,
            "round_trips": self.round_trips, "await_s": self.await_s, "exec_s": self.exec_s,
            "queue_s": self.queue_s, "resume_s": self.resume_s, "span_s": span,
            "by_kind": self.by_kind, "per_update_calls": self.per_update_calls,
            "per_update_wait_s": self.per_update_wait,
            "per_update_exec_s": self.per_update_exec, "per_update_wall_s": self.per_update_wall,
            "by_function": dict(sorted(self.by_function.items(), key=lambda kv: -kv[1])),
        }))


PROBE = _DbProbe()


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.run_bot", description=__doc__.splitlines()[0])
    ap.add_argument("--api", required=True, help="loopback server URL, e.g. http://127.0.0.1:8081")
    ap.add_argument("--db", required=True, type=Path, help="SQLite file (seeded beforehand)")
    ap.add_argument("--concurrency", type=int, default=CONCURRENT_UPDATES,
                    help="concurrent updates; 1 is PTB's one-at-a-time processing")
    ap.add_argument("--transport", choices=("aiohttp", "httpx"), default="aiohttp")
    ap.add_argument("--poll-timeout", type=int, default=25)
    ap.add_argument("--broadcast-rate", type=float, default=None,
                    help="Telegram's broadcast messages per second (default: config.example.toml's)")
    ap.add_argument("--clock-epoch", type=float, default=None,
                    help="wall time (time.time()) at which the bot's clock reads an hour into voting (default: now)")
    ap.add_argument("--log-level", default="WARNING")
    ap.add_argument("--echo", action="store_true",
                    help="run a bare PTB echo bot instead (bench.journey's echo run); --db is not used")
    ap.add_argument("--skeleton", nargs="?", const="ptb", choices=("ptb", "bot-io"), default=None,
                    help="run the journey's I/O with PTB alone instead (bench.journey's skeleton run; bot-io: "
                         "with the bot's Bot object and keyboards, its skeleton_io run); --db is read once for the "
                         "ballots")
    return ap.parse_args(argv)


async def _echo(args: argparse.Namespace) -> None:
    """The yardstick for the bot's CPU per update: python-telegram-bot with nothing of ours but the
    transport and the concurrency (the bot's, so both pay the same for HTTP and scheduling), one
    handler that sends the text back."""
    from telegram import Update
    from telegram.ext import ApplicationBuilder, MessageHandler, filters

    from bot.app import CONNECTION_POOL
    from bot.messenger.transport import AiohttpRequest

    config = bench_config(args.api, args.db)
    telegram = config.platforms["telegram"]

    async def echo(update: Update, _context) -> None:
        await update.message.reply_text(update.message.text)

    application = (ApplicationBuilder().token(telegram.token).base_url(telegram.base_url)
                   .base_file_url(telegram.base_file_url)
                   .request(AiohttpRequest(connection_pool_size=CONNECTION_POOL))
                   .get_updates_request(AiohttpRequest(connection_pool_size=2))
                   .concurrent_updates(args.concurrency).build())
    application.add_handler(MessageHandler(filters.TEXT, echo))
    await _run_until_stopped(application, args)


async def _skeleton(args: argparse.Namespace) -> None:
    """The journey's I/O with python-telegram-bot alone (bench.journey's skeleton run): the same
    updates answered with the same calls, texts and keyboards as the bot's (12 calls a journey), but
    what the bot keeps in its database (the neighbourhood, the verified phone, the votes) kept in
    this process's memory, and nothing else of ours on the path: no update journal, conversation
    persistence, flood control, rate limiter or database. PTB's objects as a bare PTB bot uses
    them (keyboards built per message, answers decoded into Messages), the bot's transport and
    concurrency as the echo bot. What it costs above the echo bot is the journey's shape (more
    calls, bigger updates); what the bot costs above it is the project's own work.

    ``--skeleton bot-io`` (the skeleton_io run): the same, but with the bot's own I/O layer — its
    MessengerBot (presses read without the pressed keyboard, answers built only when read, calls
    of JSON values sent as they are) and its keyboards (made once, the ballot as JSON) — so what is
    left between it and the bot is the project's state work alone: database, journal, conversation
    persistence, flood control, rate limiter."""
    from telegram import (
        InlineKeyboardButton,
        InlineKeyboardMarkup,
        KeyboardButton,
        LinkPreviewOptions,
        ReplyKeyboardMarkup,
        Update,
    )
    from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, MessageHandler, filters

    from bench.common import voting_moment
    from bot.app import CONNECTION_POOL
    from bot.campaign.calendar import phase_at
    from bot.campaign.services.voting import PAGE_SIZE, BallotView
    from bot.messenger import keyboards
    from bot.messenger.markup_dicts import NO_LINK_PREVIEW
    from bot.messenger.messenger_bot import MessengerBot
    from bot.messenger.platforms import PLATFORMS
    from bot.messenger.render import ballot as render_ballot
    from bot.messenger.render import phase_line
    from bot.messenger.transport import AiohttpRequest
    from domain import Phase
    from messages_fa import buttons as b
    from messages_fa import texts
    from messages_fa.numbers import fa_digits
    from storage.db import Database
    from storage.repositories import Repositories

    config = bench_config(args.api, args.db)
    telegram = config.platforms["telegram"]
    platform = PLATFORMS["telegram"]
    moment = voting_moment(config)
    markup = platform.markup  # as the bot's replies: HTML on Telegram, no link previews
    sent = {"parse_mode": markup.parse_mode}
    welcome = texts.welcome(markup, phase_line(config, phase_at(config.calendar, moment), moment), None)
    limit = config.limits.votes_per_citizen
    db = Database(config.database)
    await db.open()
    try:  # each neighbourhood's first ballot page, read once before the drive
        repos = Repositories(db)
        pages = {hood.id: (await repos.votes.ballot_page(0, hood.id, 0, PAGE_SIZE, False))
                 for hood in config.neighbourhoods}
    finally:
        await db.close()
    hood_of: dict[int, str] = {}
    votes_of: dict[int, set[int]] = {}
    bot_io = args.skeleton == "bot-io"

    def ballot(user_id: int):
        page, mine = pages[hood_of[user_id]], votes_of.setdefault(user_id, set())
        view = BallotView(page=0, pages=max(1, -(-page.total // PAGE_SIZE)), proposals=page.proposals,
                          vote_counts=None, my_votes=mine, used=len(mine), limit=limit)
        text = render_ballot(platform, config, hood_of[user_id], view)
        if bot_io:
            return text, keyboards.ballot(view)
        rows = [[InlineKeyboardButton(b.vote_button(fa_digits(view.number_of(p)), p.id in mine),
                                      callback_data=f"{'w' if p.id in mine else 'v'}:{p.id}:0")]
                for p in view.proposals]
        return text, InlineKeyboardMarkup(rows)

    def no_preview() -> LinkPreviewOptions:
        return NO_LINK_PREVIEW if bot_io else LinkPreviewOptions(is_disabled=True)

    def menu() -> ReplyKeyboardMarkup:
        if bot_io:
            return keyboards.main_menu(Phase.VOTING, True, True)
        return ReplyKeyboardMarkup([[b.VOTE], [b.MY_PROPOSALS], [b.CHANGE_NEIGHBOURHOOD, b.HELP], [b.AMBASSADOR]],
                                   resize_keyboard=True, is_persistent=True)

    def neighbourhoods() -> InlineKeyboardMarkup:
        if bot_io:
            return keyboards.neighbourhoods(config.neighbourhoods)
        buttons = [InlineKeyboardButton(n.name, callback_data=f"n:{n.id}") for n in config.neighbourhoods]
        return InlineKeyboardMarkup([buttons[i:i + 3] for i in range(0, len(buttons), 3)])

    def share_phone() -> ReplyKeyboardMarkup:
        if bot_io:
            return keyboards.share_phone()
        return ReplyKeyboardMarkup([[KeyboardButton(b.SHARE_PHONE, request_contact=True)], [b.BACK]],
                                   resize_keyboard=True, one_time_keyboard=True)

    async def send(update: Update, context, text: str, keyboard) -> None:
        await context.bot.send_message(update.effective_chat.id, text, reply_markup=keyboard, **sent,
                                       link_preview_options=no_preview())

    async def on_start(update: Update, context) -> None:
        await send(update, context, welcome, neighbourhoods())

    async def on_hood(update: Update, context) -> None:
        query = update.callback_query
        hood = config.neighbourhood(query.data[2:])
        hood_of[query.from_user.id] = hood.id
        await asyncio.gather(query.answer(), send(update, context, texts.neighbourhood_set(markup, hood.name), menu()))
        # Then the list shows the choice and loses its buttons, as the bot's does (issue 16).
        await query.edit_message_text(f"{welcome}\n\n{texts.neighbourhood_picked(hood.name)}", **sent,
                                      link_preview_options=no_preview())

    async def on_vote_menu(update: Update, context) -> None:
        await send(update, context, texts.ask_phone(), share_phone())

    async def on_contact(update: Update, context) -> None:
        await send(update, context, texts.phone_verified(), menu())
        await send(update, context, *ballot(update.effective_user.id))

    async def on_vote(update: Update, _context) -> None:
        query = update.callback_query
        user_id = query.from_user.id
        votes_of.setdefault(user_id, set()).add(int(query.data.split(":")[1]))
        used = len(votes_of[user_id])
        text, keyboard = ballot(user_id)
        await asyncio.gather(query.answer(texts.vote_recorded(used, limit)),
                             query.edit_message_text(text, reply_markup=keyboard, **sent,
                                                     link_preview_options=no_preview()))

    builder = ApplicationBuilder()
    if bot_io:  # the bot's own Bot object (bot/messenger/messenger_bot.py), as bot/app.py builds it
        builder.bot(MessengerBot(telegram.token, base_url=telegram.base_url, base_file_url=telegram.base_file_url,
                                 request=AiohttpRequest(connection_pool_size=CONNECTION_POOL),
                                 get_updates_request=AiohttpRequest(connection_pool_size=2), platform="telegram"))
    else:
        builder.token(telegram.token).base_url(telegram.base_url).base_file_url(telegram.base_file_url) \
            .request(AiohttpRequest(connection_pool_size=CONNECTION_POOL)) \
            .get_updates_request(AiohttpRequest(connection_pool_size=2))
    application = builder.concurrent_updates(args.concurrency).build()
    application.add_handlers([
        CallbackQueryHandler(on_vote, pattern=r"^v:"), CallbackQueryHandler(on_hood, pattern=r"^n:"),
        CommandHandler("start", on_start), MessageHandler(filters.CONTACT, on_contact),
        MessageHandler(filters.Text([b.VOTE]), on_vote_menu),
    ])
    await _run_until_stopped(application, args)


async def _run_until_stopped(application, args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with application:
        await application.start()
        await application.updater.start_polling(timeout=args.poll_timeout)
        print("ready", flush=True)
        await stop.wait()
        await application.updater.stop()
        await application.stop()


async def _serve(args: argparse.Namespace) -> None:
    if args.echo:
        await _echo(args)
        return
    if args.skeleton:
        await _skeleton(args)
        return
    config = bench_config(args.api, args.db, args.broadcast_rate)
    runtime = Runtime(config, voting_clock(config, args.clock_epoch), poll_timeout=args.poll_timeout,
                      concurrent_updates=args.concurrency, transport=args.transport)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await runtime.start()
        PROBE.armed = True
        print("ready", flush=True)  # the driver waits for this line
        await stop.wait()
        PROBE.armed = False  # shutdown is not part of the measurement
    finally:
        await runtime.stop()


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "aiohttp.access", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    probe_path = os.environ.get("BENCH_DB_PROBE")
    profile_path = os.environ.get("BENCH_PROFILE")
    if probe_path:
        PROBE.install()
    profiler = None
    if profile_path:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    try:
        asyncio.run(_serve(args))
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile_path)
        if probe_path:
            PROBE.dump(probe_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
