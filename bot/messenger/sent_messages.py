"""The message a send or an edit returns, built only when someone reads more than its ids.

PTB turns every sendMessage/editMessageText answer into a ``Message`` with its sender, chat, date,
entities and keyboard (27 neighbourhood buttons, a ballot's rows): about a tenth of the bot's CPU
per update in bench/journey.py, although almost every caller drops the result and the few that
keep it read ``message_id`` and ``chat_id`` (a staff card, a broadcast's progress message, a
reject-reason question). ``MessengerBot`` (bot/messenger/messenger_bot.py) therefore returns a
``SentMessage``: those two ids come straight from the answer, and any other attribute builds the
``Message`` exactly as PTB would have (once), so a reader never gets less than before.
"""
from __future__ import annotations

import contextvars
from typing import Any

from telegram import Bot, Message


class SentMessage:
    """A message the bot sent or edited, decoded on first use beyond ``message_id``/``chat_id``."""

    __slots__ = ("_bot", "_message", "_raw")

    def __init__(self, raw: dict[str, Any], bot: Bot) -> None:
        self._raw = raw
        self._bot = bot
        self._message: Message | None = None

    @property
    def message_id(self) -> int:
        return self._raw["message_id"]

    @property
    def chat_id(self) -> int:
        return self._raw["chat"]["id"]

    @property
    def message(self) -> Message:
        """The full ``Message``, as PTB's ExtBot would have returned it."""
        if self._message is None:
            message = Message.de_json(self._raw, self._bot)
            insert = getattr(self._bot, "_insert_callback_data", None)  # ExtBot's arbitrary callback data
            if insert is not None:
                insert(message)
            self._message = message
        return self._message

    def __getattr__(self, name: str) -> Any:
        # Only reached for what the slots and properties above do not have.
        return getattr(self.message, name)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SentMessage):
            other = other.message
        return self.message == other

    def __hash__(self) -> int:
        return hash(self.message)

    def __repr__(self) -> str:
        return f"SentMessage(message_id={self.message_id}, chat_id={self.chat_id})"


class _Answer:
    __slots__ = ("raw",)

    def __init__(self) -> None:
        self.raw: dict[str, Any] | None = None


# Set while a send or an edit is under way in this task: its _post keeps the answer here and hands
# PTB ``True`` (what an inline message's edit returns), so PTB builds nothing.
_PENDING: contextvars.ContextVar[_Answer | None] = contextvars.ContextVar("sent_message_answer", default=None)


def expect_answer() -> tuple[_Answer, contextvars.Token]:
    answer = _Answer()
    return answer, _PENDING.set(answer)


def done(token: contextvars.Token) -> None:
    _PENDING.reset(token)


def keep_answer(result: Any) -> Any:
    """In _post: a message answer is kept for the pending send (once), PTB sees ``True``."""
    answer = _PENDING.get()
    if answer is None or answer.raw is not None or not isinstance(result, dict):
        return result
    answer.raw = result
    return True
