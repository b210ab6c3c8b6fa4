"""The playground session: the simulated user and chat, acting for them and printing what changed."""
from __future__ import annotations

import asyncio
from typing import Any, Callable, TextIO

from bot.campaign.clock import Clock
from bot.campaign.config import TELEGRAM, Config
from bot.devtools.localapi import ControlError, LocalBotApi
from bot.devtools.localapi.users import DEFAULT_LOCATION
from messages_fa import samples
from messages_fa.numbers import fa_digits

from .constants import (
    ADMIN_ID,
    FIRST_ANSWER_TIMEOUT,
    FIRST_CITIZEN,
    QUIET,
    SETTLE_LIMIT,
    TOKENS,
)
from .demo import demo_phone
from .display import content, inline_rows, keyboard_line, label, message_lines
from .terminal import Style, write


class Session:
    """One simulated messenger client: who you are, what you have seen, acting and watching."""

    def __init__(self, config: Config, clock: Clock, server: LocalBotApi, out: TextIO,
                 echo_input: bool, style: Style, prompt: bool) -> None:
        self.config, self.clock, self.server, self.out = config, clock, server, out
        self.calendar = None  # the running bot's CampaignCalendar, once it is up
        self.state = server.state
        self.echo_input, self.style, self.show_prompt = echo_input, style, prompt
        self.platform = TELEGRAM
        self.user = FIRST_CITIZEN
        self.recent_citizens = [FIRST_CITIZEN]  # most recent last, for «:user» alone
        # (platform, chat id) → {message id: (edit count, deleted, text)} as last printed.
        self.seen: dict[tuple[str, int], dict[int, tuple[int, bool, str]]] = {}
        # (platform, chat id) → (new, edited) messages already announced while elsewhere.
        self.hinted: dict[tuple[str, int], tuple[int, int]] = {}
        self.users: set[int] = set()
        self.out_closed = False  # the reader of our output went away (| head): stop quietly

    # --- small helpers -------------------------------------------------------------------

    @property
    def token(self) -> str:
        return TOKENS[self.platform]

    def say(self, text: str = "") -> None:
        self.write(text + "\n")

    def write(self, text: str) -> None:
        if not self.out_closed:
            self.out_closed = not write(self.out, text)

    def note(self, text: str) -> None:
        self.say(self.style.dim(f"({text})"))

    def fail(self, text: str) -> None:
        self.say(self.style.error(f"(!) {text}"))

    def who(self, user_id: int) -> str:
        return f"user {user_id} (admin)" if user_id == ADMIN_ID else f"user {user_id}"

    def register(self, user_id: int) -> None:
        """The loopback server lets the bot write only to users it knows, as Telegram does."""
        if user_id in self.users:
            return
        if user_id == ADMIN_ID:
            self.state.add_user(user_id, first_name=samples.ADMIN_FIRST_NAME, last_name=samples.ADMIN_LAST_NAME,
                                username="playground_admin")
        else:
            self.state.add_user(user_id, first_name=samples.citizen_name(fa_digits(user_id)))
        self.users.add(user_id)

    def prompt_text(self) -> str:
        return self.style.prompt(f"{self.platform} · {self.who(self.user)} › ")

    # --- watching the bot ----------------------------------------------------------------

    async def settle(self, after_seq: int) -> bool:
        """Wait for the bot's first call touching this chat, then until it has gone quiet.

        True when the bot reacted in the chat. Staff cards and notices to other users (sent
        from background tasks) are caught by the quiet period.
        """
        state = self.state
        snap = await state.watch(self.token, self.user, after_seq, FIRST_ANSWER_TIMEOUT)
        answered = not snap["timed_out"]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_LIMIT
        mark, quiet_since = after_seq, loop.time()
        while loop.time() < deadline and not state.closed:
            busy = any(c["method"] != "getUpdates" for c in state.calls(since=mark))
            mark = state.call_seq
            now = loop.time()
            if busy:
                quiet_since = now
            elif now - quiet_since >= QUIET:
                break
            await asyncio.sleep(0.05)
        return answered

    def changes(self, platform: str, chat_id: int) -> list[tuple[dict, str]]:
        """Bot messages changed since they were last printed: (view, kind), where kind is
        "new", "deleted", "edited" or "buttons" (an edit of the keyboard alone)."""
        seen = self.seen.get((platform, chat_id), {})
        out = []
        for view in self.state.messages(TOKENS[platform], chat_id):
            mid, edits, deleted = view["message_id"], view.get("edit_count", 0), view.get("deleted", False)
            before = seen.get(mid)
            if before is None:
                if not deleted:
                    out.append((view, "new"))
            elif deleted and not before[1]:
                out.append((view, "deleted"))
            elif not deleted and edits != before[0]:
                out.append((view, "buttons" if content(view) == before[2] else "edited"))
        return out

    def mark_seen(self, platform: str, chat_id: int) -> None:
        self.seen[(platform, chat_id)] = {
            v["message_id"]: (v.get("edit_count", 0), v.get("deleted", False), content(v))
            for v in self.state.messages(TOKENS[platform], chat_id)
        }
        self.hinted.pop((platform, chat_id), None)

    def show_changes(self) -> int:
        """Print what changed in the current chat; one line for each other chat that changed."""
        shown = 0
        for view, kind in self.changes(self.platform, self.user):
            self.print_message(self.platform, view, kind)
            shown += 1
        self.mark_seen(self.platform, self.user)
        for platform, token in TOKENS.items():
            for info in self.state.chats(token):
                key = (platform, info["id"])
                if key == (self.platform, self.user) or info.get("type") != "private":
                    continue
                kinds = [kind for _, kind in self.changes(*key) if kind != "deleted"]
                counts = (kinds.count("new"), len(kinds) - kinds.count("new"))
                if any(counts) and counts != self.hinted.get(key):
                    self.hinted[key] = counts
                    self.note(self.hint(platform, info["id"], *counts))
        return shown

    def hint(self, platform: str, user_id: int, new: int, edited: int) -> str:
        parts = [f"{n} {word} message{'s' if n > 1 else ''}" for n, word in ((new, "new"), (edited, "edited")) if n]
        steps = []
        if user_id != self.user:
            steps.append(":staff" if user_id == ADMIN_ID else f":user {user_id}")
        if platform != self.platform:
            steps.append(f":platform {platform}")
        return f"📨 {self.who(user_id)} has {' and '.join(parts)} on {platform} — to read: {' then '.join(steps)}"
    def print_message(self, platform: str, view: dict, kind: str) -> None:
        for line in message_lines(platform, view, kind, self.style):
            self.say(line)

    # --- acting ----------------------------------------------------------------------------

    async def act(self, action: Callable[[], dict | None], done: str | None = None) -> None:
        """Do one user action, wait for the bot, print what changed."""
        self.register(self.user)
        before = self.state.call_seq
        try:
            result = action()
        except ControlError as exc:
            self.fail(str(exc))
            return
        if done:
            self.note(done)
        if result is None or result.get("update_id") is None:
            return  # nothing reached the bot (a URL button)
        answered = await self.settle(before)
        cq_id = result.get("callback_query_id")
        if cq_id:
            answer = self.state.callback_answer(self.token, cq_id)
            if answer is None:
                self.fail("the bot did not answer the button press (the client would show a spinner)")
            elif answer.get("text"):
                kind = "alert" if answer.get("show_alert") else "notice"
                self.say(self.style.notice(f"({kind}) {answer['text']}"))
        shown = self.show_changes()
        if not answered:
            self.fail(f"no answer from the bot within {FIRST_ANSWER_TIMEOUT:.0f} s")
        elif not shown and not cq_id:
            self.note("the bot answered, but changed no message in this chat")

    def latest_with_buttons(self) -> dict | None:
        for view in reversed(self.state.messages(self.token, self.user, include_deleted=False)):
            if inline_rows(view):
                return view
        return None

    async def press_number(self, number: int) -> bool:
        """Press inline button [number] of the latest message that has buttons; False if none."""
        view = self.latest_with_buttons()
        if view is None:
            return False
        buttons = [b for row in inline_rows(view) for b in row]
        if not 1 <= number <= len(buttons):
            self.fail("the latest message with buttons has only button [1]" if len(buttons) == 1
                      else f"the latest message with buttons has buttons [1]–[{len(buttons)}]")
            return True
        button = buttons[number - 1]
        latest = self.state.last_message(self.token, self.user)
        where = ""
        if latest is not None and latest["message_id"] != view["message_id"]:
            first = content(view).strip().split("\n", 1)[0]
            where = f" on an earlier message «{first if len(first) <= 40 else first[:39] + '…'}»"
        if "callback_data" in button:
            await self.act(lambda: self.state.press(self.token, self.user, view["message_id"],
                                                    button["callback_data"]),
                           f"you pressed «{label(button)}»{where}")
        elif "url" in button:
            self.note(f"the button opens {button['url']} (outside the chat; the bot sees nothing)")
        else:
            self.fail(f"button {label(button)!r} is neither a callback nor a link button")
        return True

    def reply_buttons(self) -> list[Any]:
        markup = self.state.reply_keyboard(self.token, self.user) or {}
        return [b for row in markup.get("keyboard", []) for b in row]

    async def press_reply_button(self, button: Any) -> None:
        if isinstance(button, dict) and button.get("request_contact"):
            await self.share_contact(None)
        elif isinstance(button, dict) and button.get("request_location"):
            await self.share_location(*DEFAULT_LOCATION)
        else:
            await self.send_text(label(button))

    async def send_text(self, text: str) -> None:
        await self.act(lambda: self.state.send_text(self.token, self.user, text))

    async def share_contact(self, phone: str | None) -> None:
        phone = phone or demo_phone(self.user)
        await self.act(lambda: self.state.send_contact(self.token, self.user, phone_number=phone),
                       f"you shared your own contact: {phone}")

    async def share_location(self, latitude: float, longitude: float) -> None:
        await self.act(lambda: self.state.send_location(self.token, self.user, latitude, longitude),
                       f"you shared a location: {latitude:.5f}, {longitude:.5f}")

    # --- switching -------------------------------------------------------------------------

    def switch(self, platform: str | None = None, user: int | None = None) -> None:
        if platform is not None:
            self.platform = platform
        if user is not None:
            self.user = user
            if user != ADMIN_ID:
                if user in self.recent_citizens:
                    self.recent_citizens.remove(user)
                self.recent_citizens.append(user)
        self.register(self.user)
        role = "the admin, who receives the moderation cards" if self.user == ADMIN_ID else "a citizen"
        self.note(f"now {self.who(self.user)} on {self.platform} — {role}")
        pending = self.changes(self.platform, self.user)
        if pending:
            for view, kind in pending:
                self.print_message(self.platform, view, kind)
            self.mark_seen(self.platform, self.user)
            return
        messages = self.state.messages(self.token, self.user, include_deleted=False)
        if not messages:
            self.note("no messages in this chat yet; /start begins")
            return
        self.note("nothing new here; the chat's latest message:")
        self.print_message(self.platform, messages[-1], "new")
        keyboard = self.state.reply_keyboard(self.token, self.user)
        if keyboard and "keyboard" not in (messages[-1].get("reply_markup") or {}):
            self.say(self.style.dim("keyboard: ") + keyboard_line(keyboard, self.style))
