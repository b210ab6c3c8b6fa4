"""A conversation step's replies wait until the state they announce is committed.

PTB's ConversationHandler learns a step's new state only when the step's callback returns — after
the callback has sent the reply that asks the next question. Committed any later than that reply,
the state can be lost to a crash although the citizen saw the question: they answer it, and the
bot, restarted on the previous state, reads the answer as something else.

So each callback of the citizen's conversation runs under ``held_until_committed``: what it sends
through the helpers in handlers/common.py (reply, answer, set_buttons, edit) is queued, in order,
and sent only after the state the callback returned has been committed (bot/messenger/persistence.py
``save_now``). The sends return None while queued; conversation steps never use what a send
returns. Presses' answers go out alongside the message that follows them, as before.

A step whose replies then fail (the messenger timed out) has its previous state put back, as PTB
itself keeps the previous state of a step that raised: the citizen, told to try again, repeats
the step they saw last.
"""
from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import ConversationHandler

Send = Callable[[], Awaitable[Any]]

_HELD: contextvars.ContextVar[_Outbox | None] = contextvars.ContextVar("held_replies", default=None)


@dataclass
class _Outbox:
    sends: list[tuple[Send, bool]] = field(default_factory=list)
    open: bool = True

    async def flush(self) -> None:
        self.open = False
        alongside: list[asyncio.Task] = []
        try:
            for send, concurrent in self.sends:
                if concurrent:
                    alongside.append(asyncio.ensure_future(send()))
                else:
                    await send()
        finally:
            if alongside:
                await asyncio.gather(*alongside, return_exceptions=True)


async def send(make: Send, concurrent: bool = False) -> Any:
    """Send now, or, inside a conversation step, once its state is committed (returns None then).
    ``concurrent``: may go out alongside the next send (a press's answer)."""
    outbox = _HELD.get()
    # A task the step started and did not await (application.create_task) inherits the context
    # after the step has flushed: it sends on its own.
    if outbox is None or not outbox.open:
        return await make()
    outbox.sends.append((make, concurrent))
    return None


def conversation_key(update: Update) -> tuple[int, int]:
    """The key PTB's ConversationHandler uses with its defaults (per chat and per user)."""
    return update.effective_chat.id, update.effective_user.id


def held_until_committed(name: str, callback):
    """``callback`` of the conversation ``name``, its replies sent after its new state is saved."""
    @functools.wraps(callback)
    async def step(update: Update, context) -> object:
        persistence = context.application.persistence
        outbox = _Outbox()
        token = _HELD.set(outbox)
        try:
            try:
                state = await callback(update, context)
            finally:
                _HELD.reset(token)
        except BaseException:
            await outbox.flush()  # what the step said before it failed still goes out
            raise
        if state is None or persistence is None:  # None: the step keeps the current state
            await outbox.flush()
            return state
        key = conversation_key(update)
        before = persistence.state_of(name, key)
        try:
            await persistence.save_now(name, key, None if state == ConversationHandler.END else state)
            try:
                await outbox.flush()
            except BaseException:
                await persistence.save_now(name, key, before)
                raise
        finally:
            persistence.done_ahead(name, key)
        return state
    return step
