"""The staff console's queues: /review, /feasibility, /audit, and cost parsing."""
from __future__ import annotations

import asyncio

import pytest

from bot.campaign.money import parse_cost
from bot.campaign.roles import Actor
from messages_fa import staff as t
from tests.conftest import STAFF_CHAT, TELEGRAM_ADMIN
from tests.support.review import MODERATOR, REVIEWER, approved, pending, staffed_config


@pytest.fixture
def config(tmp_path):
    return staffed_config(tmp_path)


@pytest.mark.parametrize("typed, expected", [
    ("۱۲٬۵۰۰٬۰۰۰", 12_500_000), ("12,500,000", 12_500_000), ("۱۲۵۰۰۰۰۰", 12_500_000), ("12500000", 12_500_000),
    ("١٢٥٠٠٠٠٠", 12_500_000), (" 12 500 000 ", 12_500_000), ("12.500.000", 12_500_000),
    ("", None), ("صد میلیون", None), ("0", None), ("-5", None), ("12/5", None), ("۱۲۵e6", None),
    ("9" * 20, None),
])
def test_cost_parsing(typed, expected):
    assert parse_cost(typed) == expected


async def test_queue_one_at_a_time_approve_then_the_next(bot):
    await pending(bot)
    m = bot.telegram
    await m.send(MODERATOR, "/review")
    assert "پیشنهاد شمارهٔ 1601" in m.last_text(MODERATOR) or "پیشنهاد شمارهٔ ۱۶۰۱" in m.last_text(MODERATOR)
    await m.press(MODERATOR, t.APPROVE)
    await bot.settle()
    assert "۱۶۰۲" in m.last_text(MODERATOR) or "1602" in m.last_text(MODERATOR)
    first = (await bot.services.repos.proposals.by_citizen((await bot.services.repos.citizens.find("telegram", 1601)).id))[0]
    assert first.status == "approved"
    assert "تأیید شد" in m.last_text(1601)  # the author heard it


async def test_two_moderators_pressing_at_once_act_once(bot):
    await pending(bot, 1)
    m = bot.telegram
    await m.send(MODERATOR, "/review")
    await m.send(911, "/review")
    card_a, card_b = m.last_with_buttons(MODERATOR), m.last_with_buttons(911)
    proposal_id = int(next(d for _, d in m.request.inline_buttons(card_a) if d.startswith("rv:a:")).split(":")[2])
    await asyncio.gather(
        m.update(m.updates.callback(MODERATOR, card_a, f"rv:a:{proposal_id}")),
        m.update(m.updates.callback(911, card_b, f"rv:rr:{proposal_id}:0")),
    )
    await bot.settle()
    proposal = await bot.services.repos.proposals.get(proposal_id)
    entries = await bot.services.repos.audit.recent(10)
    assert len([e for e in entries if e.target == f"proposal {proposal.code}"]) == 1
    assert t.already_done() in m.alerts()


async def test_ready_and_typed_rejection_reasons_reach_the_author(bot, config):
    await pending(bot, 2)
    m = bot.telegram
    await m.send(MODERATOR, "/review")
    await m.press(MODERATOR, t.REJECT)
    await m.press(MODERATOR, config.reject_reasons[0])
    await bot.settle()
    assert config.reject_reasons[0] in m.last_text(1601)
    await m.press(MODERATOR, t.REJECT)
    await m.press(MODERATOR, t.OTHER_REASON)
    question = m.request.last(MODERATOR)
    await m.send(MODERATOR, "نشانی دقیق محل را ننوشته‌اید.", reply_to=question)
    await bot.settle()
    assert "نشانی دقیق محل را ننوشته‌اید." in m.last_text(1602)


async def test_fix_category_and_mark_duplicate(bot, config):
    await pending(bot, 2)
    m = bot.telegram
    repos = bot.services.repos
    first = (await repos.proposals.by_citizen((await repos.citizens.find("telegram", 1601)).id))[0]
    await m.send(MODERATOR, "/review")
    await m.press(MODERATOR, t.CATEGORY)
    await m.press(MODERATOR, config.categories[-1].name)
    assert (await repos.proposals.get(first.id)).category_id == config.categories[-1].id
    assert config.categories[-1].name in m.last_text(1601)
    await m.press(MODERATOR, t.NEXT)  # to the second
    await m.press(MODERATOR, t.DUPLICATE)
    await m.send(MODERATOR, "0000000")
    assert m.last_text(MODERATOR) == t.duplicate_code_unknown()
    await m.send(MODERATOR, first.code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")))
    await bot.settle()
    second = (await repos.proposals.by_citizen((await repos.citizens.find("telegram", 1602)).id))[0]
    assert second.status == "rejected" and second.duplicate_of == first.id
    assert "تکرار پیشنهاد" in m.last_text(1602) and first.title in m.last_text(1602)


async def test_feasibility_note_and_cost_then_on_the_ballot(bot, config):
    await pending(bot, 2)
    m = bot.telegram
    await m.send(TELEGRAM_ADMIN, "/review")
    await m.press(TELEGRAM_ADMIN, t.APPROVE)
    await m.press(TELEGRAM_ADMIN, t.APPROVE)
    await bot.settle()
    await m.send(REVIEWER, "/feasibility")
    assert "تجریش: ۲" in m.request.texts(REVIEWER)[-2]
    await m.press(REVIEWER, t.FEASIBLE)
    await m.send(REVIEWER, "زمین متعلق به شهرداری است و اجرا شدنی است.")
    assert "هزینهٔ برآوردی" in m.last_text(REVIEWER)
    await m.send(REVIEWER, "هزار تومان")
    assert m.last_text(REVIEWER) == t.cost_invalid(config.money_unit)
    await m.send(REVIEWER, "۱۲٬۵۰۰٬۰۰۰")
    await bot.settle()
    assert "۱۲٬۵۰۰٬۰۰۰ تومان" in m.last_text(1601) and "رأی‌گیری" in m.last_text(1601)
    await m.press(REVIEWER, t.NOT_FEASIBLE)
    await m.send(REVIEWER, "در حریم رودخانه است.")
    await bot.settle()
    assert "اجراپذیر شناخته نشد" in m.last_text(1602) and "در حریم رودخانه است." in m.last_text(1602)
    bot.at("voting")
    hood = "tajrish"
    voter, _ = await bot.services.citizens.enter("telegram", 1700, 1700)
    page = await bot.services.repos.votes.ballot_page(voter.id, hood, 0, 5, False)
    assert page.total == 1  # only the feasible one with a cost
    await m.send(REVIEWER, "/feasibility")
    assert "همهٔ پیشنهادهای تأییدشده" in m.last_text(REVIEWER)


async def test_audit_log_lists_who_did_what(bot):
    await pending(bot, 1)
    m = bot.telegram
    await m.send(MODERATOR, "/review")
    await m.press(MODERATOR, t.APPROVE)
    await m.send(TELEGRAM_ADMIN, "/audit")
    text = m.last_text(TELEGRAM_ADMIN)
    assert "User910" in text and "telegram:" not in text and "را تأیید کرد" in text  # more in tests/test_staff_screens.py
    await m.send(MODERATOR, "/audit")
    assert m.last_text(MODERATOR) == t.not_for_you()


async def test_audit_pages_fit_in_one_message_with_long_reasons(bot):
    """Fifteen rejections with reasons near the 500-character limit made an 8,700-character page,
    which the messengers refuse (found with tests/test_fuzz.py's API invariant)."""
    from tests.support.fuzz import api_refusal

    services = bot.services
    for user in range(3001, 3021):
        citizen, _ = await services.citizens.enter("telegram", user, user)
        proposal = await _submitted(bot, citizen)
        await services.proposals.decide(Actor.person("telegram", MODERATOR), proposal.id, False,
                                        f"{user} " + "دلیل " * 98)
    m = bot.telegram
    await m.send(TELEGRAM_ADMIN, "/audit")
    seen = []
    for _ in range(20):
        call = [c for c in m.request.calls if c.method in ("sendMessage", "editMessageText")][-1]  # pages edit in place
        assert api_refusal("telegram", call) is None
        seen += [u for u in range(3001, 3021) if f"{u} دلیل" in call.params["text"].translate(_ASCII)]
        if t.OLDER not in [b["text"] for row in call.params["reply_markup"]["inline_keyboard"] for b in row]:
            break
        await m.press(TELEGRAM_ADMIN, t.OLDER)
    assert sorted(seen) == list(range(3001, 3021))  # every entry once, newest first, across pages


_ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")


async def _submitted(bot, citizen):
    services = bot.services
    now = bot.clock.now()
    await services.repos.citizens.set_neighbourhood(citizen.id, "tajrish")
    await services.repos.drafts.update(citizen.id, now, category_id="sport", title="عنوان پیشنهاد",
                                       description="شرح کافی برای این پیشنهاد")
    from bot.campaign.services.proposals import new_tracking_code
    return await services.repos.proposals.submit_draft(citizen.id, "tajrish", "telegram", new_tracking_code, 3, now)


async def test_two_reviewers_never_overwrite_each_other_unknowingly(bot):
    await approved(bot)
    m = bot.telegram
    await m.send(TELEGRAM_ADMIN, "/feasibility")
    stale = m.last_with_buttons(TELEGRAM_ADMIN)  # an admin's card, still showing "not judged"
    await m.send(REVIEWER, "/feasibility")
    await m.press(REVIEWER, t.FEASIBLE)
    await m.send(REVIEWER, "شدنی است.")  # the cost is asked for at once
    await m.send(REVIEWER, "5000000")
    await bot.settle()
    data = next(d for label, d in m.request.inline_buttons(stale) if label == t.NOT_FEASIBLE)
    await m.update(m.updates.callback(TELEGRAM_ADMIN, stale, data))
    await m.send(TELEGRAM_ADMIN, "به نظرم شدنی نیست.")
    assert m.last_text(TELEGRAM_ADMIN) == t.already_done()
    proposal = (await bot.services.repos.proposals.by_citizen((await bot.services.repos.citizens.find("telegram", 1601)).id))[0]
    assert proposal.on_the_ballot and proposal.cost == 5_000_000


async def test_staff_screens_stay_out_of_other_groups_and_typing_is_private(bot):
    await pending(bot, 1)
    m = bot.telegram
    await m.send(MODERATOR, "/review", chat_id=-4242)
    assert m.last_text(-4242) == t.staff_place_only()
    await m.send(MODERATOR, "/review", chat_id=STAFF_CHAT)  # the staff group is fine
    card = m.last_with_buttons(STAFF_CHAT)
    data = next(d for label, d in m.request.inline_buttons(card) if label == t.DUPLICATE)
    # The question goes to the moderator's private chat; one who never started the bot cannot get it.
    m.request.fail("sendMessage", 403, "Forbidden: bot can't initiate conversation with a user", times=1)
    await m.update(m.updates.callback(MODERATOR, card, data))
    assert m.alerts()[-1] == t.continue_privately()
    assert await bot.services.repos.staff_inputs.expected("telegram", MODERATOR, bot.clock.now().replace(year=2000)) is None


async def test_a_feasibility_decision_the_author_did_not_hear_is_told_at_start_up(bot):
    await approved(bot)
    m = bot.telegram
    await m.send(REVIEWER, "/feasibility")
    await m.press(REVIEWER, t.NOT_FEASIBLE)
    m.request.fail("sendMessage", 502, times=1)  # the author's message fails
    await m.send(REVIEWER, "در حریم رودخانه است.")
    assert not any("اجراپذیر شناخته نشد" in (x or "") for x in m.request.texts(1601))
    assert await bot.notifier.tell_untold_reviews() == 1
    assert "اجراپذیر شناخته نشد" in m.last_text(1601)
    assert await bot.notifier.tell_untold_reviews() == 0


async def test_citizens_see_the_review_and_the_cost(bot):
    from messages_fa import buttons as b
    await approved(bot)
    m = bot.telegram
    await m.send(REVIEWER, "/feasibility")
    await m.press(REVIEWER, t.FEASIBLE)
    await m.send(REVIEWER, "شدنی است.")  # the cost is asked for at once
    await m.send(REVIEWER, "۱۲٬۵۰۰٬۰۰۰")
    await m.send(1601, b.MY_PROPOSALS)
    assert "هزینهٔ برآوردی ۱۲٬۵۰۰٬۰۰۰ تومان" in m.last_text(1601)
