"""A bot with a moderator and a reviewer on Telegram, and proposals waiting for them: shared by the
staff console's tests (tests/test_review.py) and the input-size tests (tests/test_flood.py)."""
from __future__ import annotations

import dataclasses

from messages_fa import staff as t
from tests.conftest import TELEGRAM_ADMIN, make_config
from tests.support.journeys import choose_tajrish, submit_proposal

MODERATOR, REVIEWER = 910, 920


def staffed_config(tmp_path):
    """conftest's config with moderators (MODERATOR, 911) and a reviewer: a module's ``config``
    fixture returns it to give that module's ``bot`` these staff."""
    config = make_config(tmp_path)
    telegram = dataclasses.replace(config.platforms["telegram"], moderators=frozenset({MODERATOR, 911}),
                                   reviewers=frozenset({REVIEWER}))
    return dataclasses.replace(config, platforms={**config.platforms, "telegram": telegram})


async def pending(bot, n=2):
    """``n`` Tajrish citizens (1601, …) each send a proposal; they wait in the moderators' queue."""
    for user in range(1601, 1601 + n):
        await choose_tajrish(bot, user)
        await submit_proposal(bot, user=user, title=f"پیشنهاد شمارهٔ {user}")
    await bot.settle()


async def approved(bot, n=1):
    """``n`` proposals sent and approved by the admin from /review: they wait for a reviewer."""
    await pending(bot, n)
    m = bot.telegram
    await m.send(TELEGRAM_ADMIN, "/review")
    for _ in range(n):
        await m.press(TELEGRAM_ADMIN, t.APPROVE)
    await bot.settle()
