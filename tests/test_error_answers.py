"""The error handler answers a press at most once: a press the handler had answered before it
failed gets «try again» as a message, not a second answerCallbackQuery (which the messenger refuses)."""
from __future__ import annotations

from telegram.error import TimedOut
from telegram.ext import CallbackContext

from handlers.common import answer
from handlers.errors import on_error
from messages_fa import texts

USER = 5150


async def _press(m):
    await m.send(USER, "/start")
    return m.updates.callback(USER, m.request.last(USER), "n:tajrish")


async def test_a_press_answered_before_the_failure_is_not_answered_again(bot):
    m = bot.telegram
    press = await _press(m)
    await answer(press)  # what a handler does first
    await on_error(press, CallbackContext.from_error(press, TimedOut(), m.app))
    answers = [c for c in m.request.calls_to("answerCallbackQuery")
               if c.params["callback_query_id"] == press.callback_query.id]
    assert len(answers) == 1
    assert m.last_text(USER) == texts.error_try_again()


async def test_a_press_not_yet_answered_gets_try_again_as_its_answer(bot):
    m = bot.telegram
    press = await _press(m)
    sent = len(m.request.messages(USER))
    await on_error(press, CallbackContext.from_error(press, TimedOut(), m.app))
    [alert] = [c for c in m.request.calls_to("answerCallbackQuery")
               if c.params["callback_query_id"] == press.callback_query.id]
    assert alert.params["text"] == texts.error_try_again() and alert.params["show_alert"] is True
    assert len(m.request.messages(USER)) == sent
