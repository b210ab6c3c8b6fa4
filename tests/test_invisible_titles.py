"""Issue 12, item 10: a title or description of characters nobody can see never reaches staff."""
from __future__ import annotations

import pytest

from messages_fa import ambassadors as amb
from messages_fa import buttons as b
from tests.support.journeys import USER, choose_tajrish

ZWSP, ZWNJ, ZWJ, WJ, BOM = "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"
HANGUL_FILLER, HALFWIDTH_FILLER, BRAILLE_BLANK = "\u3164", "\uffa0", "\u2800"

INVISIBLE = [
    ZWSP * 5,
    ZWNJ + ZWJ + WJ + BOM + ZWSP,
    HANGUL_FILLER * 5,  # Unicode calls it a letter (Lo); it shows nothing
    HALFWIDTH_FILLER * 4,
    BRAILLE_BLANK * 6,
    f"{HANGUL_FILLER} {BRAILLE_BLANK} {ZWSP}",
    "!!! ... ---",  # marks but no word
]


async def at_title_step(bot):
    tg = bot.telegram
    await choose_tajrish(bot)
    await tg.send(USER, b.SEND_PROPOSAL)
    await tg.press(USER, "ورزشی")
    return tg


async def stored_draft(bot):
    return await bot.services.proposals.draft(await bot.services.repos.citizens.find("telegram", USER))


@pytest.mark.parametrize("typed", INVISIBLE)
async def test_an_invisible_title_is_refused_in_persian(bot, typed):
    tg = await at_title_step(bot)
    await tg.send(USER, typed)
    assert "حرف یا رقم" in tg.last_text(USER)
    assert (await stored_draft(bot)).title is None
    await tg.send(USER, "زمین بازی")  # the step is kept
    assert "گام ۳" in tg.last_text(USER)


@pytest.mark.parametrize("typed", INVISIBLE)
async def test_an_invisible_description_is_refused_in_persian(bot, typed):
    tg = await at_title_step(bot)
    await tg.send(USER, "زمین بازی")
    await tg.send(USER, typed * 3)  # past the ten-character minimum
    assert "حرف یا رقم" in tg.last_text(USER)
    assert (await stored_draft(bot)).description is None


async def test_invisible_padding_does_not_make_a_title_long_enough(bot):
    tg = await at_title_step(bot)
    await tg.send(USER, "ب" + ZWSP * 2 + HANGUL_FILLER)
    assert "خیلی کوتاه" in tg.last_text(USER)
    assert (await stored_draft(bot)).title is None


async def test_visible_titles_of_every_kind_pass(bot):
    tg = await at_title_step(bot)
    await tg.send(USER, "۱۲۳")  # digits alone are a title («پلاک ۱۲۳» would be too)
    assert "گام ۳" in tg.last_text(USER)
    assert (await stored_draft(bot)).title == "۱۲۳"


@pytest.mark.parametrize("typed", INVISIBLE)
async def test_an_invisible_ambassador_name_or_group_list_is_refused(bot, typed):
    """Staff read an applicant's name and groups too: the same rule as a title's."""
    tg = bot.telegram
    await tg.send(USER, "/ambassador")
    assert tg.last_text(USER) == amb.ask_name()
    await tg.send(USER, typed)
    assert tg.last_text(USER) == amb.name_invalid(False, 80)
    await tg.send(USER, "سفیر آزمایشی")
    await tg.press(USER, "تجریش")
    assert tg.last_text(USER) == amb.ask_groups()
    await tg.send(USER, typed)
    assert tg.last_text(USER) == amb.groups_invalid(False, 1000)
