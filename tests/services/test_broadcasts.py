"""BroadcastService, the staff side: a draft per author, who it would reach, sending now or at a
typed time, cancelling; what one message can carry."""
from __future__ import annotations

import datetime as dt

import pytest

from bot.campaign.roles import Actor
from bot.campaign.services.broadcasts import ScheduleResult, too_long
from domain import (
    AMBASSADORS,
    CANCELLED,
    DRAFT,
    EVERYONE,
    NEIGHBOURHOODS,
    NON_VOTERS,
    SCHEDULED,
    SUBSCRIBERS,
    Audience,
)
from messages_fa.fit import CAPTION_LIMIT, TEXT_LIMIT
from tests.conftest import BALE_ADMIN, TELEGRAM_ADMIN
from tests.support.services import ADMIN, at, citizen

NOTICE = "آب منطقه فردا از ساعت ۸ تا ۱۲ قطع است."


async def draft(services, text: str = NOTICE, platform: str = "telegram", user_id: int = TELEGRAM_ADMIN):
    return await services.broadcasts.draft(Actor.person(platform, user_id), "text", text, None, None)


def test_one_message_carries_a_text_or_a_caption_up_to_its_limit():
    assert too_long("text", "ب" * TEXT_LIMIT) is None
    assert too_long("text", "ب" * (TEXT_LIMIT + 1)) == (TEXT_LIMIT, TEXT_LIMIT + 1)
    assert too_long("photo", "😀" * (CAPTION_LIMIT // 2 + 1)) == (CAPTION_LIMIT, CAPTION_LIMIT + 2)  # UTF-16 units
    assert too_long("photo", None) is None


async def test_a_draft_is_its_authors_and_a_new_one_retires_the_older(services, repos):
    older = await draft(services)
    assert (older.status, older.created_by, older.text) == (DRAFT, f"telegram:{TELEGRAM_ADMIN}", NOTICE)
    assert services.broadcasts.may_shape(older, f"telegram:{TELEGRAM_ADMIN}")
    assert not services.broadcasts.may_shape(older, f"bale:{BALE_ADMIN}")
    newer = await draft(services, "جلسهٔ محله پنجشنبه")
    assert (await repos.broadcasts.get(older.id)).status == CANCELLED
    assert (await repos.broadcasts.get(newer.id)).status == DRAFT
    # Another admin's draft is theirs to keep.
    on_bale = await draft(services, platform="bale", user_id=BALE_ADMIN)
    assert (await repos.broadcasts.get(newer.id)).status == DRAFT and on_bale.status == DRAFT


async def test_what_no_message_can_carry_is_refused_before_a_draft_exists(services, repos):
    with pytest.raises(ValueError):
        await draft(services, "ب" * (TEXT_LIMIT + 1))
    with pytest.raises(ValueError):
        await services.broadcasts.draft(ADMIN, "sticker", None, None, "file")
    assert await repos.broadcasts.in_status(DRAFT) == []


async def test_audiences_are_counted_as_of_now(services):
    for user_id in (1, 2, 3):
        await citizen(services, user_id, "tajrish")
    await citizen(services, 4, "darband", platform="bale")
    at(services, "before")
    await services.citizens.remind_me(await citizen(services, 5, "darband"))
    counts = await services.broadcasts.menu_counts(None)
    assert (counts[EVERYONE], counts[SUBSCRIBERS], counts[AMBASSADORS], counts[NON_VOTERS]) == (5, 1, 0, 5)
    assert (await services.broadcasts.menu_counts("bale"))[EVERYONE] == 1
    assert await services.broadcasts.neighbourhood_counts(None) == {"tajrish": 3, "darband": 2}
    chosen = await services.broadcasts.count(Audience(NEIGHBOURHOODS, ("darband",)))
    assert sum(chosen.values()) == 2


async def test_sent_now_or_at_a_typed_time_once_and_audited(services, repos):
    broadcast = await draft(services)
    assert await services.broadcasts.choose(ADMIN, broadcast.id, Audience(EVERYONE))
    schedule = services.broadcasts.schedule
    assert await schedule(ADMIN, broadcast.id, "فردا صبح", "telegram", TELEGRAM_ADMIN) == (ScheduleResult.INVALID, None)
    result, moment = await schedule(ADMIN, broadcast.id, "1400/1/1 9:00", "telegram", TELEGRAM_ADMIN)
    assert result is ScheduleResult.PAST and moment < services.clock.now()
    assert (await repos.broadcasts.get(broadcast.id)).status == DRAFT

    later = services.clock.now() + dt.timedelta(days=2)
    typed = services.calendar.example_time()  # an hour from now, as staff would type it
    result, moment = await schedule(ADMIN, broadcast.id, typed, "telegram", TELEGRAM_ADMIN)
    assert result is ScheduleResult.OK and services.clock.now() < moment < later
    stored = await repos.broadcasts.get(broadcast.id)
    assert (stored.status, stored.send_at, stored.audience) == (SCHEDULED, moment, Audience(EVERYONE))
    # No longer a draft: neither a second time nor "send now" changes it.
    assert (await schedule(ADMIN, broadcast.id, typed, "telegram", TELEGRAM_ADMIN))[0] is ScheduleResult.NOT_DRAFT
    assert not await services.broadcasts.send_now(ADMIN, broadcast.id, "telegram", TELEGRAM_ADMIN)
    assert not await services.broadcasts.choose(ADMIN, broadcast.id, Audience(SUBSCRIBERS))
    [entry] = await repos.audit.recent(10)
    assert (entry.action, entry.before) == ("broadcast", "draft") and entry.after.startswith("scheduled for ")


async def test_cancel_says_what_it_was_and_only_a_real_broadcast_is_audited(services, repos):
    kept = await draft(services)
    assert await services.broadcasts.cancel(ADMIN, kept.id) == DRAFT
    assert await repos.audit.recent(10) == []  # a draft thrown away is nobody's business
    scheduled = await draft(services)
    await services.broadcasts.choose(ADMIN, scheduled.id, Audience(EVERYONE))
    assert await services.broadcasts.send_now(ADMIN, scheduled.id, "telegram", TELEGRAM_ADMIN)
    assert await services.broadcasts.cancel(Actor.person("bale", BALE_ADMIN), scheduled.id) == SCHEDULED
    stored = await repos.broadcasts.get(scheduled.id)
    assert (stored.status, stored.cancelled_by) == (CANCELLED, f"bale:{BALE_ADMIN}")
    assert (await repos.audit.recent(1))[0].after == "cancelled"
