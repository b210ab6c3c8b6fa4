"""Voting: phone verification, the limit, withdrawing, the neighbourhood lock, forged buttons."""
from __future__ import annotations

from messages_fa import buttons as b
from messages_fa import texts
from messages_fa.numbers import fa_digits
from tests.conftest import STAFF_CHAT
from tests.support.journeys import (
    PHONE,
    VOTER,
    choose_tajrish,
    seed_approved,
    submit_proposal,
    verify,
    write_to_preview,
)


async def test_vote_needs_phone_then_three_votes_and_withdraw(bot):
    await seed_approved(bot)
    tg = bot.telegram
    await choose_tajrish(bot, VOTER)
    await tg.send(VOTER, b.VOTE)
    assert "شمارهٔ تلفن همراه" in tg.last_text(VOTER)
    keyboard = tg.request.reply_keyboard(VOTER)["keyboard"]
    assert keyboard[0][0]["request_contact"] is True
    await verify(bot)
    ballot = tg.last_with_buttons(VOTER)
    assert "۰ از ۳ رأی" in ballot["text"]
    labels = [label for label, _ in tg.buttons(VOTER)]
    assert labels == [label for n in "۱۲۳۴" for label in (b.vote_button(n, False), b.details_button(n))]

    for n in (1, 2, 3):
        await tg.press(VOTER, b.vote_button(fa_digits(n), False))
    ballot = tg.request.last(VOTER)
    assert "۳ از ۳ رأی" in ballot["text"]
    await tg.press(VOTER, b.vote_button(fa_digits(4), False))
    assert tg.alerts()[-1] == texts.vote_limit(3)
    citizen = await bot.services.repos.citizens.find("telegram", VOTER)
    assert await bot.services.repos.votes.count_by_citizen(citizen.id) == 3

    await tg.press(VOTER, b.vote_button(fa_digits(2), True))
    assert "پس گرفته شد" in tg.alerts()[-1]
    await tg.press(VOTER, b.vote_button(fa_digits(4), False))
    assert await bot.services.repos.votes.count_by_citizen(citizen.id) == 3
    # The ballot was edited in place, never re-sent, for every press.
    assert len([m for m in tg.request.messages(VOTER) if "پیشنهادهای محلهٔ تجریش" in (m["text"] or "")]) == 1


async def test_neighbourhood_locked_after_first_vote(bot):
    await seed_approved(bot, count=1)
    tg = bot.telegram
    await choose_tajrish(bot, VOTER)
    await verify(bot)
    await tg.press(VOTER, b.vote_button(fa_digits(1), False))
    await tg.send(VOTER, b.CHANGE_NEIGHBOURHOOD)  # typed, or pressed on an older menu
    assert "قابل تغییر نیست" in tg.last_text(VOTER)
    assert b.CHANGE_NEIGHBOURHOOD not in tg.menu(VOTER)
    await tg.press_data(VOTER, "n:darband")
    citizen = await bot.services.repos.citizens.find("telegram", VOTER)
    assert citizen.neighbourhood_id == "tajrish"
    # withdrawing does not unlock it
    await tg.send(VOTER, b.VOTE)
    await tg.press(VOTER, b.vote_button(fa_digits(1), True))
    await tg.press_data(VOTER, "n:darband")
    assert (await bot.services.repos.citizens.find("telegram", VOTER)).neighbourhood_id == "tajrish"


async def test_someone_elses_contact_is_refused(bot):
    await seed_approved(bot, count=1)
    tg = bot.telegram
    await choose_tajrish(bot, VOTER)
    await tg.update(tg.updates.contact(VOTER, PHONE, contact_user_id=777))
    assert tg.last_text(VOTER) == texts.phone_not_yours()
    assert not (await bot.services.repos.citizens.find("telegram", VOTER)).verified


async def test_one_phone_backs_one_voter_across_messengers(bot):
    await seed_approved(bot, count=1)
    await choose_tajrish(bot, VOTER)
    await verify(bot, phone="09121234567")
    await bot.telegram.send(VOTER + 1, "/start")
    await bot.telegram.press(VOTER + 1, "تجریش")
    await verify(bot, user=VOTER + 1, phone="+98 912 123 4567")
    assert bot.telegram.last_text(VOTER + 1) == texts.phone_in_use()
    await bot.bale.send(VOTER, "/start")
    await bot.bale.press(VOTER, "تجریش")
    await verify(bot, user=VOTER, phone="۰۹۱۲۱۲۳۴۵۶۷", messenger=bot.bale)
    assert bot.bale.last_text(VOTER) == texts.phone_in_use()
    rows = await bot.db.read(lambda conn: conn.execute(
        "SELECT phone_hash FROM citizens WHERE phone_hash IS NOT NULL").fetchall())
    assert len(rows) == 1 and "9121234567" not in rows[0][0]


async def test_foreign_number_refused(bot):
    await choose_tajrish(bot, VOTER)
    await verify(bot, phone="+14155550100")
    assert "همراه ایران" in bot.telegram.last_text(VOTER)


async def test_forged_vote_for_other_neighbourhood_or_missing_proposal(bot):
    await seed_approved(bot, count=1, hood_label="دربند", neighbourhood_user=1600)
    await seed_approved(bot, count=1)
    tg = bot.telegram
    await choose_tajrish(bot, VOTER)
    await verify(bot)
    darband = [p for p in await _all_proposals(bot) if p.neighbourhood_id == "darband"][0]
    await tg.press_data(VOTER, f"v:{darband.id}:0")
    assert tg.alerts()[-1] == texts.vote_not_available()
    await tg.press_data(VOTER, "v:999999:0")
    assert tg.alerts()[-1] == texts.vote_not_available()
    await tg.press_data(VOTER, "v:abc")
    await tg.press_data(VOTER, "p:-1")
    citizen = await bot.services.repos.citizens.find("telegram", VOTER)
    assert await bot.services.repos.votes.count_by_citizen(citizen.id) == 0


async def test_voting_outside_phase_is_refused(bot):
    await seed_approved(bot, count=1)
    tg = bot.telegram
    await choose_tajrish(bot, VOTER)
    await verify(bot)
    proposal = (await _all_proposals(bot))[0]
    bot.at("closed")
    await tg.press_data(VOTER, f"v:{proposal.id}:0")
    assert tg.alerts()[-1] == texts.voting_closed_alert()
    bot.at("review")
    await tg.send(VOTER, b.VOTE)
    assert "اکنون زمان رأی‌گیری نیست" in tg.last_text(VOTER)
    citizen = await bot.services.repos.citizens.find("telegram", VOTER)
    assert await bot.services.repos.votes.count_by_citizen(citizen.id) == 0


async def test_pending_and_rejected_proposals_are_not_on_the_ballot(bot):
    await choose_tajrish(bot, 1500)
    await submit_proposal(bot, user=1500)
    bot.at("voting")
    await choose_tajrish(bot, VOTER)
    await verify(bot)
    assert "هنوز پیشنهاد تأییدشده‌ای" in bot.telegram.last_text(VOTER)
    proposal = (await _all_proposals(bot))[0]
    await bot.telegram.press_data(VOTER, f"v:{proposal.id}:0")
    assert "نیست" in bot.telegram.alerts()[-1]


async def _all_proposals(bot):
    ids = [r[0] for r in await bot.db.read(lambda conn: conn.execute("SELECT id FROM proposals ORDER BY id").fetchall())]
    return [await bot.services.proposals.get(i) for i in ids]


async def test_verified_voter_sharing_another_contact_is_told_already_verified(bot):
    await choose_tajrish(bot, VOTER)
    await verify(bot)
    await bot.telegram.update(bot.telegram.updates.contact(VOTER, "+989350000000", contact_user_id=5))
    assert bot.telegram.last_text(VOTER) == texts.phone_already_verified()


async def test_double_tap_on_vote_leaves_one_vote_and_withdraw_is_idempotent(bot):
    await seed_approved(bot, count=1)
    tg = bot.telegram
    await choose_tajrish(bot, VOTER)
    await verify(bot)
    ballot = tg.last_with_buttons(VOTER)
    [(label, data), _details] = tg.request.inline_buttons(ballot)
    assert data.startswith("v:")
    await tg.update(tg.updates.callback(VOTER, ballot, data))
    await tg.update(tg.updates.callback(VOTER, ballot, data))  # the same stale button again
    citizen = await bot.services.repos.citizens.find("telegram", VOTER)
    assert await bot.services.repos.votes.count_by_citizen(citizen.id) == 1
    assert tg.alerts()[-1] == "رأی شما ثبت شد ✅ (۱ از ۳ رأی)"
    withdraw = "w" + data[1:]
    await tg.update(tg.updates.callback(VOTER, ballot, withdraw))
    await tg.update(tg.updates.callback(VOTER, ballot, withdraw))
    assert await bot.services.repos.votes.count_by_citizen(citizen.id) == 0


async def test_failed_callback_answer_does_not_lose_the_confirmation(bot):
    tg = bot.telegram
    await choose_tajrish(bot)
    await write_to_preview(tg)
    tg.request.fail("answerCallbackQuery", 500, "Internal Server Error")
    await tg.press(1001, b.CONFIRM)
    await bot.settle()
    assert "کد پیگیری" in tg.last_text(1001)
    assert tg.last_with_buttons(STAFF_CHAT) is not None


async def test_ballot_pages_edit_in_place_and_keep_the_page_after_a_vote(bot):
    await seed_approved(bot, count=7)
    tg = bot.telegram
    await choose_tajrish(bot, VOTER)
    await verify(bot)
    first = tg.last_with_buttons(VOTER)
    assert "صفحهٔ ۱ از ۲" in first["text"]
    assert [label for label, _ in tg.buttons(VOTER)][-1] == b.NEXT_PAGE
    await tg.press(VOTER, b.NEXT_PAGE)
    page_two = tg.request.last(VOTER)
    assert page_two["message_id"] == first["message_id"] and "صفحهٔ ۲ از ۲" in page_two["text"]
    labels = [label for label, _ in tg.buttons(VOTER)]
    assert labels == [b.vote_button(fa_digits(6), False), b.details_button(fa_digits(6)),
                      b.vote_button(fa_digits(7), False), b.details_button(fa_digits(7)), b.PREVIOUS_PAGE]
    await tg.press(VOTER, b.vote_button(fa_digits(7), False))
    assert "صفحهٔ ۲ از ۲" in tg.request.last(VOTER)["text"] and "۱ از ۳ رأی" in tg.request.last(VOTER)["text"]
    await tg.press_data(VOTER, "p:99")  # a stale page beyond the end shows the last page
    assert "صفحهٔ ۲ از ۲" in tg.request.last(VOTER)["text"]
