"""Similar proposals in the proposal flow and in /review, through the in-process Application
(tests/conftest.py's ``bot``): what the citizen and the moderator see, and what the database holds."""
from __future__ import annotations

from domain import APPROVED
from messages_fa import buttons as b
from messages_fa import texts
from tests.conftest import TELEGRAM_ADMIN
from tests.support.journeys import USER, choose_tajrish, make_votable, submit_proposal, verify

BINS = "نصب سطل زباله در پارک نیاوران"
NEIGHBOUR = 1501


async def _approved_bins(bot) -> int:
    """A neighbour's approved proposal about bins in the park."""
    await choose_tajrish(bot, NEIGHBOUR)
    await submit_proposal(bot, user=NEIGHBOUR, title=BINS)
    await bot.settle()
    citizen = await bot.services.repos.citizens.find("telegram", NEIGHBOUR)
    [proposal] = await bot.services.proposals.mine(citizen)
    await bot.services.repos.proposals.decide(proposal.id, APPROVED, "telegram:900", bot.services.clock.now())
    return proposal.id


async def _write_title(bot, title: str) -> None:
    tg = bot.telegram
    await choose_tajrish(bot)
    await tg.send(USER, b.SEND_PROPOSAL)
    await tg.press(USER, "فضای سبز و محیط زیست")
    await tg.send(USER, title)


async def test_no_similar_proposal_costs_no_extra_message(bot):
    await _approved_bins(bot)
    tg = bot.telegram
    await _write_title(bot, "کلاس آموزش کامپیوتر برای سالمندان")
    sent = len(tg.request.calls_to("sendMessage"))
    assert "گام ۳ از ۴" in tg.last_text(USER) and "مشابه" not in tg.last_text(USER)
    await tg.send(USER, "در فرهنگسرای محله برای سالمندان کلاس کامپیوتر برگزار شود.")
    assert len(tg.request.calls_to("sendMessage")) == sent + 1  # the media question only


async def test_the_title_shows_similar_ones_with_the_description_question_and_me_too_is_counted_once(bot):
    bins = await _approved_bins(bot)
    tg = bot.telegram
    await _write_title(bot, "سطل‌های آشغال بیشتر برای بوستان نیاوران")
    shown = tg.last_with_buttons(USER)["text"]
    assert BINS in shown and "گام ۳ از ۴" in tg.last_text(USER)  # the list, then the step's question
    assert tg.request.messages(USER)[-2]["text"] == shown
    labels = [label for label, _ in tg.buttons(USER)]
    assert labels[-1] == b.SIMILAR_DIFFERENT and f"sm:s:{bins}" in [d for _, d in tg.buttons(USER)]
    await tg.press(USER, labels[0])
    assert await bot.services.similar.supporters([bins]) == {bins: 1}
    me = await bot.services.repos.citizens.find("telegram", USER)
    assert await bot.services.proposals.draft(me) is None  # «support it instead»: no proposal of their own
    assert "❤" in tg.last_text(USER) and b.SEND_PROPOSAL in tg.menu(USER)
    assert tg.last_with_buttons(USER) is None or f"sm:s:{bins}" not in [d for _, d in tg.buttons(USER)]
    # The same button again (an old message, a double tap): counted once, told so.
    await tg.press_data(USER, f"sm:s:{bins}")
    assert await bot.services.similar.supporters([bins]) == {bins: 1}
    assert "پیش‌تر" in tg.last_text(USER)


async def test_mine_is_different_keeps_the_step_and_the_description_goes_on(bot):
    await _approved_bins(bot)
    tg = bot.telegram
    await _write_title(bot, "سطل زباله برای پارک نیاوران")
    message = tg.last_with_buttons(USER)
    edits, sent = len(tg.request.calls_to("editMessageText")), len(tg.request.calls_to("sendMessage"))
    await tg.press(USER, b.SIMILAR_DIFFERENT)
    assert len(tg.request.calls_to("editMessageText")) == edits + 1  # edited in place, no new message
    assert len(tg.request.calls_to("sendMessage")) == sent
    [edited] = [m for m in tg.request.messages(USER) if m["message_id"] == message["message_id"]]
    assert texts.similar_different() in edited["text"] and tg.request.inline_buttons(edited) == []
    await tg.send(USER, "سطل‌های بزرگ‌تر کنار ورودی پارک گذاشته شود.")
    assert "گام ۴ از ۴" in tg.last_text(USER) or "عکس" in tg.last_text(USER)


async def test_another_neighbourhood_or_a_forged_id_gives_nothing_away(bot):
    bins = await _approved_bins(bot)
    tg = bot.telegram
    await tg.send(USER, "/start")
    await tg.press(USER, "دربند")
    await tg.press_data(USER, f"sm:s:{bins}")
    assert tg.alerts()[-1] == texts.similar_gone()
    await tg.press_data(USER, "sm:s:999999")
    assert tg.alerts()[-1] == texts.similar_gone()
    assert await bot.services.similar.supporters([bins]) == {}


async def test_review_card_names_likely_duplicates_and_lists_them_first(bot):
    bins = await _approved_bins(bot)
    tg = bot.telegram
    await choose_tajrish(bot)
    await submit_proposal(bot, title="سطل آشغال در بوستان نیاوران")
    await bot.settle()
    me = await bot.services.repos.citizens.find("telegram", USER)
    [mine] = await bot.services.proposals.mine(me)
    original = await bot.services.proposals.get(bins)
    await tg.send(TELEGRAM_ADMIN, "/review")
    card = tg.last_text(TELEGRAM_ADMIN)
    assert "شاید تکراری" in card and original.title in card and "٪" in card
    await tg.press_data(TELEGRAM_ADMIN, f"rv:d:{mine.id}")
    assert [d for _, d in tg.buttons(TELEGRAM_ADMIN)][0] == f"dup:{mine.id}:{bins}"
    await tg.press_data(TELEGRAM_ADMIN, f"dup:{mine.id}:{bins}")
    marked = await bot.services.proposals.get(mine.id)
    assert (marked.status, marked.duplicate_of) == ("rejected", bins)


async def test_pressed_once_voting_is_open_it_opens_the_proposal_on_the_ballot(bot):
    bins = await _approved_bins(bot)
    await make_votable(bot)
    tg = bot.telegram
    await _write_title(bot, "سطل‌های آشغال بیشتر برای بوستان نیاوران")
    shown = tg.last_with_buttons(USER)
    bot.at("voting")
    await verify(bot, USER)
    await tg.update(tg.updates.callback(USER, shown, f"sm:s:{bins}"))
    details = tg.request.messages(USER)[[m["message_id"] for m in tg.request.messages(USER)].index(shown["message_id"])]
    assert BINS in details["text"] and f"v:{bins}" in " ".join(d or "" for _, d in tg.request.inline_buttons(details))
    assert await bot.services.similar.supporters([bins]) == {}  # a vote is cast with the vote button, not here
