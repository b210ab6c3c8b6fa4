"""Waiting for the bot: until it touches a chat, makes a call, or goes quiet.

The waits wake on the world's per-bot events (set when a call is recorded), never
on a fixed sleep.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from .model import Bot, World

# `watch(after, t)` returns a snapshot as produced by LocalApiState.watch.

async def wait_snapshots(watch, snap: dict, predicate, timeout: float, where: str) -> list[dict]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    if predicate is None:
        snap = await watch(snap["seq"], timeout)
        if snap["timed_out"]:
            raise TimeoutError(f"no bot call touched {where} within {timeout}s")
        return snap["messages"]
    while not predicate(snap["messages"]):
        remaining = deadline - loop.time()
        if remaining <= 0:
            last = [m.get("text") or m.get("caption") for m in snap["messages"][-3:]]
            raise TimeoutError(f"condition not met in {where} within {timeout}s; last messages: {last}")
        snap = await watch(snap["seq"], remaining)
    return snap["messages"]


async def wait_new_messages(watch, snap: dict, count: int, timeout: float, chat_id: int) -> list[dict]:
    result: list[dict] = []

    def enough(msgs: list[dict]) -> bool:
        # "New" is relative to the user's last message when the wait began.
        nonlocal result
        result = [m for m in msgs if m["message_id"] > snap["last_user_message_id"] and not m["deleted"]]
        return len(result) >= count

    await wait_snapshots(watch, snap, enough, timeout, f"chat {chat_id}")
    return result


class ChatWaits:
    """wait_for and wait_for_messages on top of a `watch` long-poll: shared by
    LocalApiState (in-process) and LocalApiClient (over HTTP; predicates run client-side)."""

    watch: Callable[..., Awaitable[dict]]

    async def wait_for(self, token: str, chat_id: int, predicate: Callable[[list[dict]], Any] | None = None,
                       timeout: float = 5.0) -> list[dict]:
        """Wait until predicate(bot messages) is truthy; without a predicate,
        until the next bot call touching the chat. Returns the messages."""
        snap = await self.watch(token, chat_id, -1, 0)
        return await wait_snapshots(lambda after, t: self.watch(token, chat_id, after, t),
                                    snap, predicate, timeout, f"chat {chat_id}")

    async def wait_for_messages(self, token: str, chat_id: int, count: int = 1,
                                timeout: float = 5.0) -> list[dict]:
        """Wait for >= count visible bot messages newer than the user's last message."""
        snap = await self.watch(token, chat_id, -1, 0)
        return await wait_new_messages(lambda after, t: self.watch(token, chat_id, after, t),
                                       snap, count, timeout, chat_id)


class Waiting(ChatWaits, World):
    """The waiting side of LocalApiState (which provides calls and call_seq)."""

    call_seq: int
    calls: Callable[..., list[dict]]

    async def _wait_key(self, bot: Bot, key: Any, timeout: float) -> None:
        if self.closed or timeout <= 0:
            return
        try:
            await asyncio.wait_for(bot.waiter(key).wait(), timeout)
        except TimeoutError:
            pass

    async def watch(self, token: str, chat_id: int, after_call: int = -1, timeout: float = 10.0) -> dict:
        """Return once a bot call newer than after_call touched the chat (or on
        timeout), with a consistent snapshot; the control long-poll uses this."""
        bot, chat_id = self.bot(token), int(chat_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(timeout)
        while bot.chat_seq.get(chat_id, 0) <= after_call and not self.closed:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await self._wait_key(bot, chat_id, remaining)
        seq = bot.chat_seq.get(chat_id, 0)
        chat = bot.chats.get(chat_id)
        return {"seq": seq, "timed_out": seq <= after_call,
                "messages": self.messages(token, chat_id),
                "last_user_message_id": chat.last_user_msg if chat else 0,
                "reply_keyboard": chat.reply_keyboard if chat else None}

    async def wait_for_call(self, token: str, method: str | None = None, chat_id: int | None = None,
                            after: int | None = None, timeout: float = 5.0) -> dict:
        """Wait for a logged call (newer than seq `after`, default now) matching method/chat."""
        bot = self.bot(token)
        after = self.call_seq if after is None else after
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = self.calls(token, method, chat_id, since=after)
            if found:
                return found[0]
            remaining = deadline - loop.time()
            if remaining <= 0 or self.closed:
                raise TimeoutError(f"no {method or 'call'} for chat {chat_id} within {timeout}s")
            await self._wait_key(bot, "calls", remaining)

    async def wait_polling(self, token: str, timeout: float = 5.0) -> None:
        """Wait until the bot has a getUpdates parked in its long poll: the next update pushed is
        handed to that call, whatever happens to later getUpdates calls (faults added now)."""
        bot = self.bot(token)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not bot.polls_parked:
            remaining = deadline - loop.time()
            if remaining <= 0 or self.closed:
                raise TimeoutError(f"no getUpdates parked within {timeout}s")
            await self._wait_key(bot, "polling", remaining)

    async def wait_quiet(self, token: str, quiet: float = 0.05, timeout: float = 5.0) -> int:
        """Wait until the bot made no call for `quiet` seconds; returns call_seq.
        For asserting that the bot did *not* answer something."""
        bot = self.bot(token)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            seq = self.call_seq
            await self._wait_key(bot, "calls", quiet)
            if self.call_seq == seq:
                return seq
        raise TimeoutError(f"bot kept calling the API for {timeout}s")
