"""The playground's command line: numbers and letters press buttons, ``:commands``, the input loop."""
from __future__ import annotations

import re

from bot.campaign.calendar import phase_at
from bot.campaign.config import PLATFORMS
from bot.devtools.localapi.users import DEFAULT_LOCATION
from bot.messenger import render
from messages_fa import samples
from messages_fa.dates import jalali_datetime
from messages_fa.normalize import to_ascii_digits

from .constants import ADMIN_ID
from .display import label
from .session import Session
from .terminal import LineReader

_LETTER = re.compile(r"^\(?([a-zA-Z])\)?$")


class Playground(Session):
    """The session driven by input lines: what you type is sent, pressed or run as a command."""

    # --- the command line ------------------------------------------------------------------

    def help(self) -> None:
        rows = (
            ("TEXT", "anything else is sent to the bot as a message (/start, /help, a title…)"),
            ("N", "press inline button [N] of the latest message that has buttons"),
            ("a  or  (a)", "press reply-keyboard button (a); typing its exact label works too"),
            (":user [N]", "be simulated user N, with their own chat (no N: the citizen you were before)"),
            (":staff", f"be the admin (user {ADMIN_ID}), who gets the moderation cards"),
            (":platform telegram|bale", "talk to the bot on the other messenger (same user id)"),
            (":contact [PHONE]", "share your own contact (default: +98912000… from your user id)"),
            (":contact-other PHONE", "share someone else's contact card"),
            (":location [LAT LON]", "share a location (default: Tajrish)"),
            (":photo [CAPTION]", "send a photo"),
            (":voice [SECONDS]", "send a voice note (42 seconds unless given)"),
            (":sticker", "send a sticker"),
            (":say TEXT", "send TEXT as it is, even a lone number or letter"),
            (":phase", "the bot's clock and the campaign phase"),
            (":help", "this list"),
            (":quit", "leave (end of input and Ctrl-C work too)"),
        )
        self.say("Playground commands:")
        for left, right in rows:
            self.say(f"  {left:<26}{right}")

    def phase(self) -> None:
        now = self.clock.now()
        # The running bot's calendar, with any boundary an admin moved (/schedule).
        info = self.calendar.phase() if self.calendar is not None else phase_at(self.config.calendar, now)
        self.say(f"Bot clock: {jalali_datetime(now, self.config.timezone)} (Tehran) — phase: {info.phase.value}")
        self.say(render.phase_line(self.config, info, now))

    async def handle(self, line: str) -> bool:
        """One input line; False to stop."""
        text = line.strip()
        if not text:
            return True
        if text.startswith(":") and len(text) > 1 and not text[1:2].isspace():
            return await self.command(text)
        ascii_text = to_ascii_digits(text)
        if ascii_text.isdigit() and len(ascii_text) <= 3:
            if await self.press_number(int(ascii_text)):
                return True
            self.note(f"no message with buttons in this chat: sending «{text}» as a message")
        buttons = self.reply_buttons()
        letter = _LETTER.match(text)
        if letter and buttons:
            index = ord(letter.group(1).lower()) - ord("a")
            if index < len(buttons):
                await self.press_reply_button(buttons[index])
            else:
                self.fail("the keyboard has only button (a)" if len(buttons) == 1
                          else f"the keyboard has buttons (a)–({chr(ord('a') + len(buttons) - 1)})")
            return True
        for button in buttons:
            if label(button) == text:
                await self.press_reply_button(button)
                return True
        await self.send_text(line.rstrip("\r\n").strip())
        return True

    async def command(self, text: str) -> bool:
        name, _, rest = text[1:].partition(" ")
        name, rest = name.lower(), rest.strip()
        args = rest.split()
        state = self.state
        if name in ("quit", "q", "exit"):
            return False
        if name in ("help", "h", "?"):
            self.help()
        elif name == "phase":
            self.phase()
        elif name == "staff":
            self.switch(user=ADMIN_ID)
        elif name == "user":
            if not args:
                others = [u for u in self.recent_citizens if u != self.user]
                if others:
                    self.switch(user=others[-1])
                else:
                    self.fail("you are the only citizen so far; :user N switches to user N")
            elif to_ascii_digits(args[0]).isdigit() and int(to_ascii_digits(args[0])) > 0:
                self.switch(user=int(to_ascii_digits(args[0])))
            else:
                self.fail("usage: :user N (a positive number)")
        elif name == "platform":
            if args and args[0].lower() in PLATFORMS:
                self.switch(platform=args[0].lower())
            else:
                self.fail("usage: :platform telegram|bale")
        elif name == "contact":
            await self.share_contact(rest or None)
        elif name == "contact-other":
            if not rest:
                self.fail("usage: :contact-other PHONE")
            else:
                await self.act(lambda: state.send_contact(self.token, self.user, phone_number=rest,
                                                          contact_user_id=None, first_name=samples.CONTACT_FIRST_NAME),
                               f"you shared someone else's contact card: {rest}")
        elif name == "location":
            try:
                lat, lon = (float(to_ascii_digits(a)) for a in args) if args else DEFAULT_LOCATION
            except ValueError:
                self.fail("usage: :location LAT LON (e.g. :location 35.8027 51.4347)")
            else:
                await self.share_location(lat, lon)
        elif name == "photo":
            await self.act(lambda: state.send_photo(self.token, self.user, caption=rest or None),
                           "you sent a photo" + (f" with the caption «{rest}»" if rest else ""))
        elif name == "voice":
            seconds = to_ascii_digits(rest.strip()) or "42"
            if not seconds.isdigit():
                self.fail("usage: :voice [SECONDS] (e.g. :voice 90)")
            else:
                await self.act(lambda: state.send_voice(self.token, self.user, duration=int(seconds)),
                               f"you sent a voice note of {seconds} seconds")
        elif name == "sticker":
            await self.act(lambda: state.send_sticker(self.token, self.user), "you sent a sticker 👍")
        elif name == "say":
            if rest:
                await self.send_text(rest)
            else:
                self.fail("usage: :say TEXT")
        else:
            self.fail(f"unknown command :{name} — :help lists them (a message to the bot never starts with ':')")
        return True

    async def loop(self, reader: LineReader) -> None:
        while True:
            if self.show_prompt:
                self.write(self.prompt_text())
            if self.out_closed:
                return
            line = await reader.readline()
            if line is None:
                if self.show_prompt:
                    self.say()
                return
            if self.echo_input and line.strip():
                self.say()
                self.say(self.style.bold(f"> {line}"))
            if not await self.handle(line):
                return
