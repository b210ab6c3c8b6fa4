"""End-to-end harness: the real Runtime (polling loop, aiohttp transport, rate limiter,
persistence) against the loopback Bot API server, both in the test's event loop.

    async with Harness(tmp_path) as h:
        await h.start()
        ali = h.person("telegram", 1001)
        [welcome] = await ali.send("/start")
        await ali.press("تجریش", until=lambda msgs: ...)

Every wait is on the server's own wake-ups (never a fixed sleep) and bounded by WAIT seconds.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite

from bot.campaign.clock import ManualClock
from bot.campaign.config import Config
from bot.devtools.localapi import LocalBotApi
from bot.runtime import Runtime
from tests.conftest import BALE_ADMIN, STAFF_CHAT, TELEGRAM_ADMIN, make_config, phase_moments

# Real-looking tokens (conftest's "1:telegram" is too short to search the logs for).
TOKENS = {
    "telegram": "7100001:E2E-telegram-SECRET-tok3n",
    "bale": "7200002:E2E-bale-SECRET-tok3n",
}
USERNAMES = {"telegram": "manshahrdaram_bot", "bale": "manshahrdaram_bale_bot"}
WAIT = 5.0  # the longest any single wait may take

Predicate = Callable[[list[dict]], Any]


def text_of(message: dict | None) -> str:
    if not message:
        return ""
    return message.get("text") or message.get("caption") or ""


def inline_labels(message: dict | None) -> list[str]:
    markup = (message or {}).get("reply_markup") or {}
    return [button["text"] for row in markup.get("inline_keyboard", []) for button in row]


def inline_data(message: dict | None) -> list[str]:
    markup = (message or {}).get("reply_markup") or {}
    return [button.get("callback_data") for row in markup.get("inline_keyboard", []) for button in row]


def containing(needle: str, *, current: bool = True) -> Predicate:
    """A predicate: some bot message (not deleted) shows `needle` right now."""
    return lambda msgs: [m for m in msgs if needle in text_of(m) and not (current and m["deleted"])]


class Person:
    """One simulated user in their private chat with one bot."""

    def __init__(self, harness: "Harness", platform: str, user_id: int, first_name: str | None = None) -> None:
        self.harness, self.platform, self.id = harness, platform, user_id
        self.token = TOKENS[platform]
        self.state.add_user(user_id, first_name=first_name)

    @property
    def state(self):
        return self.harness.api.state

    # --- acting -------------------------------------------------------------------------------

    async def send(self, text: str, count: int = 1) -> list[dict]:
        """Type a text (or command) and wait for at least `count` new bot messages."""
        self.state.send_text(self.token, self.id, text)
        return await self.new_messages(count)

    async def send_photo(self, count: int = 1, **kwargs) -> tuple[list[dict], str]:
        sent = self.state.send_photo(self.token, self.id, **kwargs)
        return await self.new_messages(count), sent["file_id"]

    async def send_location(self, latitude: float, longitude: float, count: int = 1) -> list[dict]:
        self.state.send_location(self.token, self.id, latitude, longitude)
        return await self.new_messages(count)

    async def tap(self, label: str, count: int = 1) -> list[dict]:
        """Tap a reply-keyboard button (may send text, a contact or a location)."""
        result = self.state.press_button(self.token, self.id, label)
        assert result.get("callback_query_id") is None, f"{label!r} is an inline button: use press()"
        return await self.new_messages(count)

    async def press(self, label: str, until: Predicate, retries: int = 0, chat_id: int | None = None) -> str:
        """Press an inline button by its label; wait until `until(bot messages)` holds and the bot
        has answered the press (answerCallbackQuery). Returns the callback query id.

        With retries > 0 the person presses again, as the error alert asks, when the press failed:
        the bot's answer got a 5xx and the error handler took over (its own answer attempt is the
        second answerCallbackQuery for the same query). A bot that shrugs off a failed answer and
        carries on simply satisfies `until`."""
        for attempt in range(retries + 1):
            pressed = self.state.press_button(self.token, self.id, label, chat_id=chat_id)
            cq_id = pressed["callback_query_id"]

            def settled(msgs, cq_id=cq_id):
                answers = self.answers(cq_id)
                # The bot gave up on the press when its error handler answered it with the «try
                # again» alert; a failed answer repeated by the transport (the same plain answer)
                # is not that: the rest of the bot's answer is still on its way.
                return (answers and until(msgs)) or (self.answer_failed(cq_id) and any(
                    a["params"].get("show_alert") for a in answers))

            msgs = await self.wait(settled, chat_id=chat_id)
            if until(msgs):
                return cq_id
            assert attempt < retries, f"pressing {label!r} failed and no retries are left"
        raise AssertionError("unreachable")

    def answers(self, cq_id: str) -> list[dict]:
        """The bot's answerCallbackQuery calls for this press, failed ones included."""
        return [c for c in self.state.calls(self.token, "answerCallbackQuery")
                if c["params"].get("callback_query_id") == cq_id]

    def answer_failed(self, cq_id: str) -> bool:
        return any(c["status"] >= 500 for c in self.answers(cq_id))

    # --- looking ------------------------------------------------------------------------------

    async def new_messages(self, count: int = 1) -> list[dict]:
        return await self.state.wait_for_messages(self.token, self.id, count, timeout=WAIT)

    async def wait(self, predicate: Predicate, chat_id: int | None = None) -> list[dict]:
        """Wait until predicate(all bot messages of the chat, as they are now) is truthy."""
        return await self.state.wait_for(self.token, chat_id or self.id, predicate, timeout=WAIT)

    async def wait_text(self, needle: str, chat_id: int | None = None) -> list[dict]:
        """Wait until some bot message shows `needle`; returns those messages."""
        return containing(needle)(await self.wait(containing(needle), chat_id))

    def messages(self, chat_id: int | None = None) -> list[dict]:
        return [m for m in self.state.messages(self.token, chat_id or self.id) if not m["deleted"]]

    def texts(self) -> list[str]:
        return [text_of(m) for m in self.messages()]

    def last(self) -> dict:
        return self.state.last_message(self.token, self.id)

    def message(self, message_id: int, chat_id: int | None = None) -> dict:
        """A bot message as it is now (after edits)."""
        return next(m for m in self.messages(chat_id) if m["message_id"] == message_id)

    def last_with_buttons(self, chat_id: int | None = None) -> dict | None:
        return next((m for m in reversed(self.messages(chat_id)) if inline_labels(m)), None)

    def menu(self) -> list[str]:
        keyboard = self.state.reply_keyboard(self.token, self.id) or {}
        return [b if isinstance(b, str) else b["text"] for row in keyboard.get("keyboard", []) for b in row]

    def reply_keyboard(self) -> dict | None:
        return self.state.reply_keyboard(self.token, self.id)

    def callback_answer(self, cq_id: str) -> dict | None:
        return self.state.callback_answer(self.token, cq_id)


class Harness:
    def __init__(self, tmp_path: Path, latency: float = 0.0, phase: str = "proposals") -> None:
        self.tmp_path = tmp_path
        self.api = LocalBotApi(latency=latency, bots={TOKENS[n]: USERNAMES[n] for n in TOKENS})
        self.config: Config | None = None
        self.clock: ManualClock | None = None
        self.runtime: Runtime | None = None
        self._phase = phase

    @property
    def state(self):
        return self.api.state

    async def __aenter__(self) -> "Harness":
        await self.api.start()
        config = make_config(self.tmp_path)
        platforms = {
            name: dataclasses.replace(platform, token=TOKENS[name], base_url=self.api.bot_base_url,
                                      base_file_url=self.api.file_base_url)
            for name, platform in config.platforms.items()
        }
        self.config = dataclasses.replace(config, platforms=platforms)
        self.clock = ManualClock(phase_moments(self.config)[self._phase])
        # The server only lets the bot write to people and groups it knows.
        self.state.add_user(TELEGRAM_ADMIN, first_name="Maryam", last_name="Staff")
        self.state.add_user(BALE_ADMIN, first_name="Reza")
        self.state.add_group(STAFF_CHAT, title="کارشناسان طرح")
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.stop()
        finally:
            await self.api.stop()

    async def start(self) -> Runtime:
        """A new Runtime (new Applications, new HTTP sessions) on the same database and server."""
        assert self.runtime is None, "stop the running Runtime first"
        self.runtime = Runtime(self.config, self.clock, poll_timeout=1)
        try:
            await self.runtime.start(polling=True)
        except BaseException:
            await self.runtime.stop()
            self.runtime = None
            raise
        return self.runtime

    async def stop(self) -> None:
        if self.runtime is not None:
            runtime, self.runtime = self.runtime, None
            await runtime.stop()

    async def restart(self) -> Runtime:
        await self.stop()
        return await self.start()

    def at(self, phase: str) -> None:
        self.clock.set(phase_moments(self.config)[phase])

    def person(self, platform: str, user_id: int, first_name: str | None = None) -> Person:
        return Person(self, platform, user_id, first_name)

    def staff(self, platform: str = "telegram") -> Person:
        return Person(self, platform, TELEGRAM_ADMIN if platform == "telegram" else BALE_ADMIN)

    async def query(self, sql: str, *params: Any) -> list[tuple]:
        """Read the bot's database through a second, read-only connection (as an operator would)."""
        uri = f"file:{self.config.database}?mode=ro"
        async with aiosqlite.connect(uri, uri=True) as conn:
            async with conn.execute(sql, params) as cursor:
                return [tuple(row) for row in await cursor.fetchall()]

    async def until(self, condition: Callable[[], Any], timeout: float = WAIT, what: str = "condition") -> Any:
        """Wait until condition() is truthy, waking on every Bot API call of either bot."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            seq = self.state.call_seq
            if value := condition():
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"{what} not reached within {timeout}s")
            waits = [asyncio.ensure_future(self.state.wait_for_call(token, after=seq, timeout=remaining))
                     for token in TOKENS.values()]
            done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            await asyncio.gather(*waits, return_exceptions=True)


# --- logs ---------------------------------------------------------------------------------------

def handler_failures(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    """The error handler's «update N failed: ErrorClass» lines (handlers/errors.py)."""
    return [r for r in records if r.name == "handlers.errors" and "failed" in r.getMessage()]


def leaked_tokens(caplog) -> list[str]:
    """Tokens found anywhere in the captured log text, tracebacks included."""
    text = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    return [name for name, token in TOKENS.items() if token in text or token.split(":", 1)[1] in text]
