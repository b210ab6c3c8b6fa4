"""The local playground: chat with the real bot in a terminal, as a citizen or as the admin.

``python -m bot shell [--at "1405/09/20 10:00"] [--demo]`` starts the loopback Bot API server
(bot/devtools/localapi) in this process, then the bot's real Runtime polling it over HTTP, exactly as it
polls Telegram and Bale. The terminal is a simulated messenger client: what you type is sent as
a message, numbers press inline buttons, letters press reply-keyboard buttons, and every message
the bot sends or edits is printed. Lines starting with ``:`` are playground commands (``:help``).

The playground never touches the configured database: it uses ``playground.sqlite3`` next to it,
so a campaign can be tried end to end (and ``--demo`` seeds sample proposals) on any machine.
Standard input may be a terminal or a piped script; with a script, each input line is echoed as
``> line`` so the output reads as a transcript.

Modules: ``repl`` (the command line and input loop) on top of ``session`` (the simulated user:
acting, watching the bot, printing changes), ``display`` (how messages and keyboards are shown),
``terminal`` (input lines, output, colours), ``demo`` (``--demo`` seeding), ``constants``.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import sys
from typing import TextIO

from bot.campaign.clock import Clock, ShiftedClock, SystemClock
from bot.campaign.config import PLATFORMS, Config, ConfigError, Site, parse_jalali
from bot.devtools.localapi import LocalBotApi
from bot.messenger import render
from messages_fa import texts
from messages_fa.dates import jalali_datetime

from .constants import (
    ADMIN_ID,
    BOT_USERNAME,
    DATABASE_NAME,
    FIRST_CITIZEN,
    POLL_TIMEOUT,
    SITE_DIR,
    TOKENS,
)
from .demo import DEMO_PROPOSALS, DemoProposal, SeedReport, seed_demo
from .repl import Playground
from .terminal import LineReader, Style, isatty, use_utf8, write

__all__ = ["ADMIN_ID", "DEMO_PROPOSALS", "FIRST_CITIZEN", "TOKENS", "DemoProposal", "LineReader", "Playground",
           "SeedReport", "Style", "playground_config", "run_playground", "seed_demo"]


def playground_config(config: Config, server: LocalBotApi) -> Config:
    """Both messengers on the loopback server, the playground admin, a database of its own, and
    results pages of its own (published results never overwrite the real public ones)."""
    platforms = {
        name: dataclasses.replace(
            config.platforms[name], token=TOKENS[name], base_url=server.bot_base_url,
            base_file_url=server.file_base_url, admins=frozenset({ADMIN_ID}), staff_chat_id=None,
        )
        for name in PLATFORMS
    }
    return dataclasses.replace(config, platforms=platforms, database=config.database.parent / DATABASE_NAME,
                               site=Site("", config.database.parent / SITE_DIR))


def _quiet_logs() -> None:
    """At the default INFO level the bot's start-up lines would interleave with the chat."""
    for name in ("telegram", "bot", "storage", "handlers", "aiohttp", "apscheduler"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() == logging.INFO:
            logger.setLevel(logging.WARNING)

async def run_playground(config: Config, at: str | None = None, demo: bool = False, *,
                         stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Chat with the real bot in this terminal; returns the exit code."""
    from bot.runtime import Runtime

    stdin = sys.stdin if stdin is None else stdin
    out = sys.stdout if stdout is None else stdout
    if out is sys.stdout:
        use_utf8(out)
    if at is not None:
        try:
            clock: Clock = ShiftedClock(parse_jalali("--at", at, config.timezone))
        except ConfigError as exc:
            print(str(exc), file=sys.stderr)
            return 2
    else:
        clock = SystemClock()
    _quiet_logs()

    colour = isatty(out) and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
    interactive = isatty(stdin)
    style = Style(colour)
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    interrupted = False

    def on_sigint() -> None:
        nonlocal interrupted
        interrupted = True
        loop.remove_signal_handler(signal.SIGINT)  # a second Ctrl-C stops the hard way
        if task is not None:
            task.cancel()

    server = LocalBotApi(bots={token: BOT_USERNAME for token in TOKENS.values()}, call_log_size=2000)
    runtime = None
    reader = None
    sigint = False
    try:
        try:
            loop.add_signal_handler(signal.SIGINT, on_sigint)
            sigint = True
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread, or Windows: asyncio.run's own Ctrl-C handling applies
        await server.start()
        pconfig = playground_config(config, server)
        runtime = Runtime(pconfig, clock, poll_timeout=POLL_TIMEOUT)
        await runtime.open()
        report = await seed_demo(pconfig, runtime.db, clock.now()) if demo else None
        session = Playground(pconfig, clock, server, out, echo_input=not interactive, style=style,
                             prompt=interactive)
        session.register(ADMIN_ID)
        session.register(FIRST_CITIZEN)
        await runtime.start()

        session.say(style.bold(f"{texts.PLAN} — local playground"))
        session.say(f"Bot API: {server.url} (loopback; telegram and bale as @{BOT_USERNAME})")
        session.say(f"Database: {pconfig.database}")
        when = "set with --at, then running in real time" if at is not None else "system clock"
        session.say(f"Clock: {jalali_datetime(clock.now(), pconfig.timezone)} (Tehran time; {when})")
        session.calendar = runtime.services.calendar
        session.say(f"Phase: {render.phase_line(pconfig, runtime.services.phase(), clock.now())}")
        if report is not None:
            hoods = texts.join_names(report.neighbourhoods)
            if not hoods:
                session.say("Demo: none of the demo neighbourhoods and categories is in this config; nothing seeded")
            elif report.added:
                session.say(f"Demo: {report.added} citizens with proposals added in {hoods} "
                            f"({report.approved} approved, {report.rejected} rejected)"
                            + (f"; {report.present} were already there" if report.present else ""))
            else:
                session.say(f"Demo: already seeded ({report.present} citizens with proposals in {hoods})")
        session.say(f"You are user {FIRST_CITIZEN}, a citizen on telegram; user {ADMIN_ID} is the admin (:staff). "
                    "Send /start to begin; :help lists the commands.")
        reader = LineReader(stdin, loop)
        await session.loop(reader)
    except asyncio.CancelledError:
        if not interrupted:
            raise
        if task is not None:
            task.uncancel()
        write(out, "\n(interrupted)\n")
    except KeyboardInterrupt:
        write(out, "\n(interrupted)\n")
    finally:
        if reader is not None:
            reader.close()
        if sigint and not interrupted:
            loop.remove_signal_handler(signal.SIGINT)
        if runtime is not None:
            await runtime.stop()
        await server.stop()
    write(out, style.dim("(playground stopped)") + "\n")
    return 0
