"""A scripted campaign written through the repositories, and a bot whose staff may ask for /stats:
shared by the statistics tests (tests/test_stats.py) and the export tests (tests/test_export.py)."""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

from telegram.ext import CommandHandler

from bot.campaign.clock import ManualClock
from bot.campaign.services.stats import StatsService
from domain import APPROVED, FEASIBLE, NOT_FEASIBLE
from handlers import stats as stats_handlers
from storage.db import Database
from storage.repositories import Repositories
from tests.conftest import ROOT, Bot, make_config, phase_moments

TEHRAN = dt.timezone(dt.timedelta(hours=3, minutes=30))
# 5 Azar 1405, 09:00 Tehran: registration opens (config.example.toml).
DAY1 = dt.datetime(2026, 11, 26, 9, 0, tzinfo=TEHRAN)
STAFF = "telegram:900"
MODERATOR, REVIEWER, STRANGER = 910, 920, 930


# -- a scripted campaign, written through the repositories ------------------------------------------

@dataclass
class Seeded:
    citizens: dict[str, int]  # label → citizen id
    proposals: dict[str, int]  # label → proposal id
    codes: dict[str, str]
    user_ids: list[int]
    phone_hashes: list[str]


async def add_citizen(repos: Repositories, platform: str, user_id: int, at: dt.datetime, hood: str | None,
                      phone_hash: str | None = None) -> int:
    citizen, _ = await repos.citizens.get_or_create(platform, user_id, user_id, at)
    if hood:
        assert await repos.citizens.set_neighbourhood(citizen.id, hood)
    if phone_hash:
        assert await repos.citizens.set_phone_hash(citizen.id, phone_hash, at + dt.timedelta(minutes=5))
    return citizen.id


async def add_proposal(repos: Repositories, citizen_id: int, hood: str, platform: str, at: dt.datetime,
                       title: str, code: str, category: str = "green") -> int:
    await repos.drafts.update(citizen_id, at, category_id=category, title=title, description=f"شرح {title}")
    proposal = await repos.proposals.submit_draft(citizen_id, hood, platform, lambda: code, 3, at)
    return proposal.id


async def seed_small(repos: Repositories) -> Seeded:
    """Day 1 (5 Azar): five citizens in Tajrish (four verified), two in Darband, one without a
    neighbourhood; Tajrish gets three proposals (one approved, feasible, costed; one rejected as its
    duplicate; one pending), Darband one (approved, not feasible). Day 3 (7 Azar): three Tajrish
    citizens vote for the ballot's proposal, one of them on Bale."""
    c: dict[str, int] = {}
    hashes = [f"{n:064x}" for n in range(1, 9)]
    users = []
    for n in range(5):
        platform = "bale" if n == 4 else "telegram"
        users.append(100 + n)
        # Everyone in Tajrish but t3 verifies a phone.
        c[f"t{n}"] = await add_citizen(repos, platform, 100 + n, DAY1 + dt.timedelta(minutes=n), "tajrish",
                                       hashes[n] if n != 3 else None)
    for n in range(2):
        users.append(200 + n)
        c[f"d{n}"] = await add_citizen(repos, "telegram", 200 + n, DAY1 + dt.timedelta(hours=1), "darband")
    users.append(300)
    c["none"] = await add_citizen(repos, "telegram", 300, DAY1 + dt.timedelta(hours=2), None)

    p = {
        "ballot": await add_proposal(repos, c["t0"], "tajrish", "telegram", DAY1 + dt.timedelta(hours=3),
                                     "پارک محله", "1000001"),
        "dup": await add_proposal(repos, c["t1"], "tajrish", "telegram", DAY1 + dt.timedelta(hours=4),
                                  "پارک محلهٔ ما", "1000002"),
        "pending": await add_proposal(repos, c["t2"], "tajrish", "telegram", DAY1 + dt.timedelta(hours=5),
                                      "نیمکت ایستگاه", "1000003", "transport"),
        "infeasible": await add_proposal(repos, c["d0"], "darband", "telegram", DAY1 + dt.timedelta(hours=6),
                                         "پل تازه", "1000004"),
    }
    later = DAY1 + dt.timedelta(days=1)
    await repos.proposals.decide(p["ballot"], APPROVED, STAFF, later)
    await repos.proposals.decide(p["infeasible"], APPROVED, STAFF, later)
    assert await repos.proposals.mark_duplicate(p["dup"], p["ballot"], "تکراری", STAFF, later)
    assert await repos.proposals.set_feasibility(p["ballot"], FEASIBLE, "شدنی است", STAFF, later)
    assert await repos.proposals.set_cost(p["ballot"], 1_250_000_000, STAFF, later)
    assert await repos.proposals.set_feasibility(p["infeasible"], NOT_FEASIBLE, "زمین ندارد", STAFF, later)

    vote_day = DAY1 + dt.timedelta(days=2)
    for label in ("t0", "t1", "t4"):
        outcome, _ = await repos.votes.cast(c[label], p["ballot"], "tajrish", 3, vote_day)
        assert outcome == "voted"
    codes = {label: (await repos.proposals.get(pid)).code for label, pid in p.items()}
    return Seeded(c, p, codes, users, [h for n, h in enumerate(hashes[:5]) if n != 3])


@contextlib.asynccontextmanager
async def opened(path) -> AsyncIterator[Database]:
    """The database at ``path``, migrated and open (a module's ``db`` fixture)."""
    database = Database(path)
    await database.open()
    try:
        yield database
    finally:
        await database.close()


def stats_service(config, db, now: dt.datetime) -> StatsService:
    return StatsService(config, ManualClock(now.astimezone(dt.UTC)), Repositories(db))


# -- /stats in the messenger ------------------------------------------------------------------------

def install(bot) -> None:
    """handlers/stats.py's commands, ahead of the catch-alls, unless handlers/__init__.py already
    registers them."""
    for messenger in bot.messengers.values():
        group = messenger.app.handlers[0]
        if any(isinstance(h, CommandHandler) and "stats" in h.commands
               for handlers in messenger.app.handlers.values() for h in handlers):
            continue
        for handler in reversed(stats_handlers.command_handlers()):
            group.insert(0, handler)


def staffed_config(tmp_path):
    """conftest's config with a moderator and a reviewer on Telegram."""
    config = make_config(tmp_path)
    telegram = dataclasses.replace(config.platforms["telegram"], moderators=frozenset({MODERATOR}),
                                   reviewers=frozenset({REVIEWER}))
    return dataclasses.replace(config, platforms={**config.platforms, "telegram": telegram})


@contextlib.asynccontextmanager
async def running_staff_bot(config) -> AsyncIterator[Bot]:
    """The bot on ``config`` with /stats installed, during registration (a module's ``staff_bot``)."""
    running = await Bot(config, ManualClock(phase_moments(config)["proposals"])).start()
    install(running)
    yield running
    await running.stop()
    assert not running.errors, running.errors


# -- the command line -------------------------------------------------------------------------------

def write_config(tmp_path, database) -> str:
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    text = text.replace('database = "data/manshahrdaram.sqlite3"', f'database = "{database}"')
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


async def seed_file(tmp_path) -> str:
    """seed_small in a database file of its own; the path of a config.toml that names it."""
    async with opened(tmp_path / "cli.sqlite3") as database:
        await seed_small(Repositories(database))
    return write_config(tmp_path, tmp_path / "cli.sqlite3")


async def in_thread(fn, *args):
    """main() runs its own event loop (asyncio.run): give it a thread of its own."""
    return await asyncio.to_thread(fn, *args)
