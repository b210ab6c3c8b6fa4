"""Fixtures: the real bot (both messengers) in-process on a temporary database, a manual clock."""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
from pathlib import Path

import pytest

from bot.app import build_application
from bot.campaign.clock import ManualClock
from bot.campaign.config import Config, load_config
from bot.campaign.services import Services
from bot.messenger.broadcast.worker import BroadcastWorker
from bot.messenger.notices import Notifier
from bot.messenger.notices.announcements import Announcer
from storage.db import Database
from storage.engine import open_database
from storage.repositories import Repositories
from tests.support import RecordingRequest, UpdateFactory

ROOT = Path(__file__).resolve().parent.parent
TELEGRAM_ADMIN = 900
BALE_ADMIN = 901
STAFF_CHAT = -1000


# Env MANSHAHRDARAM_TEST_DATABASE=postgresql://…: every test's bot runs on an empty schema of that
# PostgreSQL server instead of its SQLite file. Schemas are emptied after each test and reused (a
# TRUNCATE instead of half a second of migrations and a drop per test); all dropped at the end.
TEST_DATABASE = os.environ.get("MANSHAHRDARAM_TEST_DATABASE")
_schemas: list[str] = []  # every schema made this session
_free: list[str] = []  # emptied, ready for the next test
_in_use: list[str] = []  # handed to the running test


def _test_database_url() -> str | None:
    if not TEST_DATABASE:
        return None
    from tests.storage import pg
    if _free:
        name = _free.pop()
    else:
        name, _ = pg.new_schema(TEST_DATABASE)
        _schemas.append(name)
    _in_use.append(name)
    return pg.with_search_path(TEST_DATABASE, name)


@pytest.fixture(autouse=True)
def _recycled_schemas():
    """Set up before, so torn down after, the test's own fixtures (its bot closes its database first)."""
    yield
    if _in_use:
        from tests.storage import pg
        for name in _in_use:
            if pg.empty_schema(name, TEST_DATABASE):
                _free.append(name)
        _in_use.clear()


# Tests that read the SQLite file itself (its dump, a copy, a command given only its path): on a
# PostgreSQL pass they are skipped with this reason; they run in the SQLite pass.
SQLITE_FILE_TESTS = (
    "tests/test_state_before_reply.py::",  # dumps the file after each step
    "tests/test_flood.py::test_a_flooder_gets_one_notice_and_the_excess_is_not_processed",  # iterdump
    "tests/test_broadcasts.py::test_a_kill_while_the_sender_waits_for_its_slot_loses_nobody",  # reopens the file
    "tests/test_results.py::test_cli_prints_results_and_writes_pb_files",  # a config.toml naming the file only
)


def pytest_collection_modifyitems(config, items) -> None:
    if not TEST_DATABASE:
        return
    skip = pytest.mark.skip(reason="reads the SQLite file itself: runs in the SQLite pass, not on "
                                   "MANSHAHRDARAM_TEST_DATABASE")
    for item in items:
        if item.nodeid.startswith(SQLITE_FILE_TESTS):
            item.add_marker(skip)


def pytest_sessionfinish(session) -> None:
    from tests.storage import pg
    while _schemas:
        pg.drop_schema(_schemas.pop(), TEST_DATABASE)


def make_config(tmp_path: Path, **limits) -> Config:
    config = load_config(ROOT / "config.example.toml")
    platforms = {
        "telegram": dataclasses.replace(config.platforms["telegram"], token="1:telegram",
                                        admins=frozenset({TELEGRAM_ADMIN}), staff_chat_id=STAFF_CHAT),
        "bale": dataclasses.replace(config.platforms["bale"], token="2:bale", admins=frozenset({BALE_ADMIN})),
    }
    return dataclasses.replace(
        config, platforms=platforms, database=tmp_path / "bot.sqlite3",
        phone_hash_secret=b"test-secret-0123456789", limits=dataclasses.replace(config.limits, **limits),
        database_url=_test_database_url(),
        site=dataclasses.replace(config.site, dir=tmp_path / "site"),  # published results' pages: not in the checkout
    )


def phase_moments(config: Config) -> dict[str, dt.datetime]:
    c = config.calendar
    return {
        "before": c.proposals_opens - dt.timedelta(days=3),
        "proposals": c.proposals_opens + dt.timedelta(hours=1),
        "review": c.proposals_closes + dt.timedelta(hours=1),
        "voting": c.voting_opens + dt.timedelta(hours=1),
        "closed": c.voting_closes + dt.timedelta(hours=1),
    }


class Messenger:
    """One platform's Application with its recorded API and an update factory."""

    def __init__(self, application, request: RecordingRequest) -> None:
        self.app = application
        self.request = request
        self.updates = UpdateFactory(application.bot)

    async def send(self, user_id: int, text: str, chat_id: int | None = None, reply_to: dict | None = None) -> None:
        await self.app.process_update(self.updates.text(user_id, text, chat_id, reply_to))

    async def update(self, update) -> None:
        await self.app.process_update(update)

    async def settle(self) -> None:
        """Wait for background tasks the handlers started (application.create_task)."""
        # PTB keeps them in a private set; only tests reach into it.
        tasks = set(self.app._Application__create_task_tasks)
        if tasks:
            await asyncio.gather(*tasks)

    async def press(self, user_id: int, label: str, chat_id: int | None = None) -> None:
        """Press the inline button with this label on the newest message that has it."""
        chat = chat_id if chat_id is not None else user_id
        for message in reversed(self.request.messages(chat)):
            for text, data in self.request.inline_buttons(message):
                if text == label:
                    await self.app.process_update(self.updates.callback(user_id, message, data))
                    return
        raise AssertionError(f"no button {label!r} in chat {chat}: {self.buttons(chat)}")

    async def press_data(self, user_id: int, data: str, chat_id: int | None = None) -> None:
        """Press forged callback data on the newest message (what a tampered client can send)."""
        chat = chat_id if chat_id is not None else user_id
        message = self.request.last(chat)
        await self.app.process_update(self.updates.callback(user_id, message, data))

    def buttons(self, chat_id: int) -> list[tuple[str, str | None]]:
        last = self.last_with_buttons(chat_id)
        return self.request.inline_buttons(last) if last else []

    def last_with_buttons(self, chat_id: int):
        for message in reversed(self.request.messages(chat_id)):
            if self.request.inline_buttons(message):
                return message
        return None

    def last_text(self, chat_id: int) -> str:
        return self.request.last(chat_id)["text"]

    def menu(self, chat_id: int) -> list[str]:
        return [label for row in self.request.reply_keyboard_texts(chat_id) for label in row]

    def alerts(self) -> list[str]:
        return [c.params.get("text") for c in self.request.calls_to("answerCallbackQuery")]


class Bot:
    """The whole bot, both messengers, sharing one database, as production runs it."""

    def __init__(self, config: Config, clock: ManualClock, prepare_request=None) -> None:
        self.config, self.clock = config, clock
        # prepare_request(platform, request): lets a test make one messenger's API misbehave.
        self.prepare_request = prepare_request or (lambda platform, request: None)
        self.errors: list[BaseException] = []

    async def start(self) -> "Bot":
        self.db = (Database(self.config.database) if self.config.database_url is None
                   else open_database(self.config.database_url))
        await self.db.open()
        self.services = Services.build(self.config, self.clock, Repositories(self.db))
        await self.services.calendar.load()
        notifier = self.notifier = Notifier(self.services)
        # No background loops in tests: a test runs the worker's passes itself (broadcast()).
        self.worker = BroadcastWorker(self.services, {}, notifier)
        self.messengers: dict[str, Messenger] = {}
        for platform_config in self.config.enabled_platforms:
            request = RecordingRequest()
            self.prepare_request(platform_config.name, request)
            application = build_application(self.services, notifier, platform_config, request=request,
                                            get_updates_request=RecordingRequest(), rate_limiter=False,
                                            worker=self.worker)
            application.error_handlers.clear()
            application.add_error_handler(self._record_error)
            await application.initialize()
            await application.post_init(application)
            await application.start()
            self.messengers[platform_config.name] = Messenger(application, request)
            # Broadcasts go through the same recorded API, so tests see them in the chats.
            self.worker.bots[platform_config.name] = application.bot
        first = next(iter(self.messengers.values())).app
        self.announcer = Announcer(self.services.calendar, self.worker, notifier, first.job_queue)
        return self

    async def broadcast(self, passes: int = 10) -> None:
        """What the worker's loop does: take the lease, send, finish. Recipients postponed to a
        later time stay postponed: the clock is the test's."""
        assert await self.worker.hold_lease()
        for _ in range(passes):
            if not await self.worker.pass_once():
                break
        await self.settle()

    async def _record_error(self, update, context) -> None:
        self.errors.append(context.error)

    @property
    def telegram(self) -> Messenger:
        return self.messengers["telegram"]

    @property
    def bale(self) -> Messenger:
        return self.messengers["bale"]

    async def settle(self) -> None:
        for messenger in self.messengers.values():
            await messenger.settle()

    def at(self, phase: str) -> None:
        self.clock.set(phase_moments(self.config)[phase])

    async def stop(self) -> None:
        for messenger in self.messengers.values():
            await messenger.app.stop()
            await messenger.app.shutdown()
        await self.db.close()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
async def bot(config: Config):
    clock = ManualClock(phase_moments(config)["proposals"])
    running = await Bot(config, clock).start()
    yield running
    await running.stop()
    assert not running.errors, running.errors


def pytest_terminal_summary(terminalreporter) -> None:
    """How many PostgreSQL tests were skipped, and why: a machine without PostgreSQL still passes
    the README's test command, and says what it did not run."""
    from tests.storage.pg import SKIP_PREFIX

    reasons = [str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
               for report in terminalreporter.stats.get("skipped", [])]
    skipped = [reason for reason in reasons if SKIP_PREFIX in reason]
    if skipped:
        reason = skipped[0].removeprefix("Skipped: ")
        terminalreporter.write_line(f"{len(skipped)} PostgreSQL tests skipped: {reason}")


@pytest.fixture
def pg_url():
    """A URL whose connections use a fresh, empty PostgreSQL schema of their own, dropped after the
    test (tests/storage/pg.py: env MANSHAHRDARAM_TEST_PG; unreachable, the test skips with the reason,
    or fails when CI=true)."""
    from tests.storage import pg
    pg.require()
    name, url = pg.new_schema()
    try:
        yield url
    finally:
        pg.drop_schema(name)
