"""PTB's sets of user and chat ids to persist stay empty: our persistence keeps neither user nor
chat data, and PTB empties those sets only when it does (issue 13: +63 MB at 500,000 citizens)."""
from __future__ import annotations

from telegram.ext import Application, PersistenceInput

from bot.messenger.persistence import StatesOnlyApplication

CITIZENS = 300


def id_sets(app: Application) -> tuple[int, int]:
    # PTB's private sets: only tests reach into them.
    return len(app._user_ids_to_be_updated_in_persistence), len(app._chat_ids_to_be_updated_in_persistence)


async def test_many_citizens_leave_no_ids_behind(bot):
    tg = bot.telegram
    assert isinstance(tg.app, StatesOnlyApplication)
    for user in range(1000, 1000 + CITIZENS):
        await tg.send(user, "/start")
        await tg.press_data(user, "n:1")  # a press too: a callback query carries a user and a chat
    await bot.settle()
    await tg.app.update_persistence()  # what PTB does every second: it never empties these sets for us

    assert id_sets(tg.app) == (0, 0)
    assert len(tg.app.user_data) == len(tg.app.chat_data) == 0
    # The updates were really served, one welcome each.
    assert len(tg.request.calls_to("sendMessage")) >= CITIZENS


async def test_a_persistence_with_user_or_chat_data_still_gets_its_ids(bot):
    tg = bot.telegram
    # As if our persistence stored user data: PTB's own bookkeeping applies again.
    tg.app.persistence.store_data = PersistenceInput(bot_data=False, chat_data=False, user_data=True,
                                                     callback_data=False)
    await tg.send(4242, "/start")
    assert 4242 in tg.app._user_ids_to_be_updated_in_persistence
