"""Journeys through the running bot and the loopback Bot API server (tests/support/e2e.py's
Harness), shared by the end-to-end test modules."""
from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from messages_fa import buttons as b
from messages_fa import texts
from messages_fa.markup import PlainMarkup
from tests.conftest import STAFF_CHAT
from tests.support import journeys
from tests.support.e2e import Harness, Person, containing, inline_labels, leaked_tokens, text_of

TG = "telegram"
GREEN = "فضای سبز و محیط زیست"
WELCOME = "به «من شهردارم» خوش آمدید"
# What a person reads through the server: the HTML of a Telegram message is parsed into plain text.
PLAIN = PlainMarkup()


@contextlib.asynccontextmanager
async def running(tmp_path, caplog) -> AsyncIterator[Harness]:
    """The whole bot, started, against the loopback server (a module's ``e2e`` fixture)."""
    caplog.set_level(logging.INFO)
    async with Harness(tmp_path, latency=0.002) as harness:
        await harness.start()
        yield harness


def assert_clean_logs(caplog, allowed_errors: tuple[str, ...] = ()) -> None:
    """No handler failure, no ERROR line except the allowed loggers', no token anywhere."""
    unexpected = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name not in allowed_errors]
    assert not unexpected, [f"{r.name}: {r.getMessage()}" for r in unexpected]
    assert not leaked_tokens(caplog)


def the_ballot(msgs: list[dict]) -> dict | None:
    return next((m for m in reversed(msgs) if text_of(m).startswith("پیشنهادهای محلهٔ")), None)


def ballot_shows(used: str, button: str):
    def check(msgs):
        ballot = the_ballot(msgs)
        return ballot is not None and f"رأی‌های شما: {used} از ۳ رأی" in text_of(ballot) \
            and inline_labels(ballot) == [button, b.details_button("۱")]
    return check


async def choose_neighbourhood(person: Person, hood: str, retries: int = 0) -> None:
    [welcome] = await person.send("/start")
    assert WELCOME in text_of(welcome)
    assert hood in inline_labels(welcome)
    await person.press(hood, until=containing(texts.neighbourhood_set(PLAIN, hood)), retries=retries)


async def write_proposal(person: Person, title: str, description: str, category: str = GREEN,
                         retries: int = 0) -> str:
    """From the main menu to the tracking code; returns the confirmation text."""
    [ask] = await person.tap(b.SEND_PROPOSAL)
    assert "گام ۱ از ۴" in text_of(ask)
    await person.press(category, until=containing("گام ۲ از ۴"), retries=retries)
    [ask] = await person.send(title)
    assert "گام ۳ از ۴" in text_of(ask)
    [ask] = await person.send(description)
    assert "گام ۴ از ۴" in text_of(ask)
    [preview] = await person.tap(b.CONTINUE)
    assert "پیش‌نمایش پیشنهاد شما" in text_of(preview)
    await person.press(b.CONFIRM, until=containing("کد پیگیری"))
    return text_of(person.last())


async def approved_proposal(e2e, title: str = "نیمکت برای ایستگاه اتوبوس") -> int:
    author = e2e.person(TG, 1501)
    await choose_neighbourhood(author, "تجریش")
    await write_proposal(author, title, "کنار ایستگاه اتوبوس میدان تجریش چند نیمکت گذاشته شود.")
    staff = e2e.staff(TG)
    await staff.wait(lambda msgs: inline_labels(msgs[-1]) if msgs else None, chat_id=STAFF_CHAT)
    await staff.press(b.APPROVE, chat_id=STAFF_CHAT, until=lambda msgs: "✅ تأیید شد" in text_of(msgs[-1]))
    await make_votable(e2e)
    [(proposal_id,)] = await e2e.query("SELECT id FROM proposals WHERE title = ?", title)
    return proposal_id


async def make_votable(e2e) -> None:
    """The reviewer's step, through the running bot's services."""
    await journeys.make_votable(e2e.runtime)
