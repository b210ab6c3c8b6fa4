"""Citizen and staff journeys through the in-process bot (tests/conftest.py's ``bot``), shared by
test modules: a neighbourhood chosen, a proposal written or sent, proposals put on the ballot, a
phone verified."""
from __future__ import annotations

from bot.campaign.roles import Actor
from domain import Audience
from messages_fa import buttons as b
from tests.conftest import STAFF_CHAT, TELEGRAM_ADMIN

USER = 1001
VOTER = 2001
PHONE = "+989121234567"


async def choose_tajrish(bot, user=USER, messenger=None):
    m = messenger or bot.telegram
    await m.send(user, "/start")
    await m.press(user, "تجریش")


async def write_to_preview(m, user=USER, title="کاشت درخت در خیابان", category="فضای سبز و محیط زیست",
                           description="در پیاده‌رو خیابان اصلی درخت کاشته شود تا سایه داشته باشیم."):
    """Send a proposal up to its preview (the citizen has a neighbourhood already)."""
    await m.send(user, b.SEND_PROPOSAL)
    await m.press(user, category)
    await m.send(user, title)
    await m.send(user, description)
    await m.send(user, b.CONTINUE)


async def submit_proposal(bot, user=USER, title="کاشت درخت در خیابان", messenger=None):
    m = messenger or bot.telegram
    await write_to_preview(m, user, title)
    await m.press(user, b.CONFIRM)


async def seed_approved(bot, count=4, neighbourhood_user=1500, hood_label="تجریش"):
    """Authors in one neighbourhood submit proposals; the admin approves them all."""
    bot.at("proposals")
    tg = bot.telegram
    for n in range(count):
        author = neighbourhood_user + n
        await tg.send(author, "/start")
        await tg.press(author, hood_label)
        await submit_proposal(bot, user=author, title=f"پروژهٔ {hood_label} {n + 1}")
    await put_to_the_vote(bot)


async def put_to_the_vote(bot):
    """The admin approves every card in the staff chat, a reviewer costs them, voting opens."""
    await bot.settle()
    tg = bot.telegram
    for message in list(tg.request.messages(STAFF_CHAT)):
        for _label, data in tg.request.inline_buttons(message):
            if data and data.startswith("rv:a:"):  # the card's approve (keyboards.review)
                await tg.update(tg.updates.callback(TELEGRAM_ADMIN, message, data))
    await make_votable(bot)
    bot.at("voting")


async def make_votable(bot, cost: str = "۱۲٬۵۰۰٬۰۰۰"):
    """A reviewer finds every approved proposal feasible and costs it: only then is it on the ballot."""
    proposals = bot.services.proposals
    while (proposal := await proposals.next_to_review()) is not None:
        assert (await proposals.judge(Actor.person("telegram", 900), proposal.id, True, "اجراپذیر")).proposal
        assert (await proposals.set_cost(Actor.person("telegram", 900), proposal.id, cost)).proposal


async def verify(bot, user=VOTER, phone=PHONE, messenger=None):
    m = messenger or bot.telegram
    await m.update(m.updates.contact(user, phone))


async def sent_now(services, text: str):
    """A text broadcast to everyone, sent now by the Telegram admin, as /broadcast does: the draft."""
    admin = Actor.person("telegram", TELEGRAM_ADMIN)
    draft = await services.broadcasts.draft(admin, "text", text, None, None)
    await services.broadcasts.choose(admin, draft.id, Audience())
    await services.broadcasts.send_now(admin, draft.id, "telegram", TELEGRAM_ADMIN)
    return draft


async def citizens(bot, platform: str, ids, hood: str = "tajrish", remind: bool = False) -> None:
    """Citizens who started the bot and chose ``hood``, written through the services."""
    services = bot.services
    for user_id in ids:
        citizen, _ = await services.citizens.enter(platform, user_id, user_id)
        await services.citizens.choose_neighbourhood(citizen, hood)
        if remind:
            await services.repos.citizens.set_remind_me(citizen.id, True)
