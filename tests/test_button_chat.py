"""Every press must come from the chat the bot sent its message to (issue 14): a press whose message
belongs to another person's private chat is refused, is not answered into that chat and changes
nothing — not even the presser's stored chat id. In a group (the staff chat) the message's chat is
the group and the presser a member: that is how moderation cards are pressed, and it stays so."""
from __future__ import annotations

from messages_fa import buttons as b
from messages_fa import texts
from tests.conftest import STAFF_CHAT, TELEGRAM_ADMIN
from tests.support.journeys import USER, choose_tajrish, submit_proposal

OTHER = 1002


async def test_a_press_on_another_persons_private_message_is_refused(bot):
    tg = bot.telegram
    await tg.send(USER, "/start")
    await tg.send(OTHER, "/start")
    welcome = tg.last_with_buttons(USER)
    sent_to_user = len(tg.request.messages(USER))
    # OTHER presses a neighbourhood under USER's welcome (a forged update: the message is USER's).
    await tg.update(tg.updates.callback(OTHER, welcome, "n:tajrish"))
    assert tg.alerts()[-1] == texts.press_from_another_chat()
    assert len(tg.request.messages(USER)) == sent_to_user  # nothing said into USER's chat
    other = await bot.services.repos.citizens.find("telegram", OTHER)
    assert other.chat_id == OTHER and other.neighbourhood_id is None
    assert (await bot.services.repos.citizens.find("telegram", USER)).neighbourhood_id is None


async def test_a_staff_press_on_a_citizens_private_message_is_refused(bot):
    tg = bot.telegram
    await choose_tajrish(bot)
    proposal = await _submitted(bot)
    card = tg.request.last(STAFF_CHAT)
    citizen_message = dict(tg.request.last(USER))
    citizen_message["reply_markup"] = card["reply_markup"]  # the card's buttons, forged under USER's message
    sent_to_user = len(tg.request.messages(USER))
    await tg.update(tg.updates.callback(TELEGRAM_ADMIN, citizen_message, f"m:a:{proposal.id}"))
    assert tg.alerts()[-1] == texts.press_from_another_chat()
    assert len(tg.request.messages(USER)) == sent_to_user
    assert (await bot.services.proposals.get(proposal.id)).status == "pending"


async def test_staff_press_cards_in_the_staff_group(bot):
    tg = bot.telegram
    await choose_tajrish(bot)
    proposal = await _submitted(bot)
    await tg.press(TELEGRAM_ADMIN, b.APPROVE, chat_id=STAFF_CHAT)
    assert tg.alerts()[-1] == texts.decision_saved()
    assert (await bot.services.proposals.get(proposal.id)).status == "approved"


async def _submitted(bot):
    """USER's proposal, with its card in the staff chat."""
    await submit_proposal(bot)
    await bot.settle()
    (proposal,) = await bot.services.proposals.mine(await bot.services.repos.citizens.find("telegram", USER))
    return proposal


async def test_a_press_without_data_is_refused_as_expired(bot):
    """PTB gives a press without data to the first button handler whatever its pattern (the staff
    cards' one, registered first): it is refused before any handler reads it."""
    tg = bot.telegram
    await tg.send(USER, "/start")
    await tg.update(tg.updates.callback(USER, tg.last_with_buttons(USER), ""))
    assert tg.alerts()[-1] == texts.button_expired()
    assert (await bot.services.repos.citizens.find("telegram", USER)).neighbourhood_id is None
