"""The local playground: chat with the real bot in a terminal, as a citizen or as the admin.

``python -m bot shell [--at "1405/09/20 10:00"] [--demo]`` starts the loopback Bot API server
(bot/localapi) in this process, then the bot's real Runtime polling it over HTTP, exactly as it
polls Telegram and Bale. The terminal is a simulated messenger client: what you type is sent as
a message, numbers press inline buttons, letters press reply-keyboard buttons, and every message
the bot sends or edits is printed. Lines starting with ``:`` are playground commands (``:help``).

The playground never touches the configured database: it uses ``playground.sqlite3`` next to it,
so a campaign can be tried end to end (and ``--demo`` seeds sample proposals) on any machine.
Standard input may be a terminal or a piped script; with a script, each input line is echoed as
``> line`` so the output reads as a transcript.
"""
from __future__ import annotations

import asyncio
import codecs
import dataclasses
import datetime as dt
import html
import logging
import os
import re
import signal
import sys
import threading
from dataclasses import dataclass
from typing import Any, Callable, TextIO

from bot import render
from bot.campaign import Phase, phase_at
from bot.clock import Clock, ManualClock, ShiftedClock, SystemClock
from bot.config import BALE, PLATFORMS, TELEGRAM, Config, ConfigError, parse_jalali
from bot.localapi import ControlError, LocalBotApi
from bot.localapi.state import DEFAULT_LOCATION
from messages_fa.dates import jalali_datetime
from messages_fa.numbers import fa_digits

ADMIN_ID = 1
FIRST_CITIZEN = 2
TOKENS = {TELEGRAM: "1000:playground-telegram", BALE: "2000:playground-bale"}
BOT_USERNAME = "manshahrdaram_bot"
DATABASE_NAME = "playground.sqlite3"

POLL_TIMEOUT = 1  # seconds of long poll: :quit never waits longer than this for the pollers
FIRST_ANSWER_TIMEOUT = 5.0  # how long to wait for the bot's first reaction to an action
QUIET = 0.3  # the bot has finished answering when it made no call for this long...
SETTLE_LIMIT = 10.0  # ...but never wait longer than this after the first reaction

SEPARATOR = "─" * 48
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_LETTER = re.compile(r"^\(?([a-zA-Z])\)?$")
_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)(?:\s[^<>]*)?>")

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------- demo data

@dataclass(frozen=True)
class DemoProposal:
    user_id: int
    platform: str
    neighbourhood: str
    category: str
    title: str
    description: str
    reject_reason: str | None = None  # None: approved
    location: tuple[float, float] | None = None


DEMO_PROPOSALS = (
    DemoProposal(
        9001, TELEGRAM, "tajrish", "green", "کاشت درخت چنار در خیابان شهرداری",
        "در پیاده‌روی ضلع شرقی خیابان شهرداری، از میدان تجریش تا پل رومی، درخت‌های خشک‌شده جایگزین "
        "و چنارهای تازه کاشته شود تا تابستان‌ها پیاده‌رو سایه داشته باشد.",
    ),
    DemoProposal(
        9002, TELEGRAM, "tajrish", "urban-services", "سطل‌های تفکیک زباله در بازار تجریش",
        "کنار ورودی‌های بازار تجریش سطل‌های جداگانه برای پسماند خشک و تر گذاشته شود و هر شب تخلیه شود "
        "تا بوی زباله و گربه‌های گرسنه از ورودی بازار دور شوند.",
    ),
    DemoProposal(
        9003, BALE, "tajrish", "transport", "ایستگاه دوچرخهٔ اشتراکی کنار مترو تجریش",
        "یک ایستگاه دوچرخهٔ اشتراکی با ده دوچرخه در میدان قدس، کنار خروجی مترو تجریش، راه‌اندازی شود "
        "تا رفت‌وآمدهای کوتاه محله بدون خودرو انجام شود.",
        location=(35.8046, 51.4336),
    ),
    DemoProposal(
        9004, TELEGRAM, "tajrish", "civil", "پارکینگ طبقاتی ده‌طبقه زیر میدان تجریش",
        "زیر میدان تجریش یک پارکینگ ده‌طبقه برای دو هزار خودرو ساخته شود تا مشکل جای پارک محله برای "
        "همیشه حل شود.",
        reject_reason="هزینهٔ این طرح چند برابر بودجهٔ سالانهٔ محله است؛ طرح‌های به این بزرگی در "
                      "برنامه‌های کلان شهرداری بررسی می‌شوند.",
    ),
    DemoProposal(
        9005, BALE, "darband", "civil", "روشنایی مسیر پیاده‌روی دربند",
        "از میدان دربند تا ابتدای مسیر کوهنوردی چراغ‌های کم‌مصرف نصب شود؛ شب‌ها این مسیر تاریک است "
        "و برای سالمندان و کودکان ناامن.",
    ),
    DemoProposal(
        9006, TELEGRAM, "darband", "urban-services", "سرویس بهداشتی عمومی در ابتدای مسیر کوهنوردی",
        "در ابتدای مسیر کوهنوردی دربند یک سرویس بهداشتی تمیز و دسترس‌پذیر برای افراد دارای معلولیت "
        "ساخته شود و نظافت آن به پیمانکار محله سپرده شود.",
    ),
    DemoProposal(
        9007, TELEGRAM, "niavaran", "culture", "کتابخانهٔ کوچک در پارک نیاوران",
        "در پارک نیاوران یک قفسهٔ کتاب امانی (بردار و بگذار) با سایه‌بان و چند نیمکت ساخته شود تا "
        "خانواده‌ها و کودکان در پارک کتاب بخوانند و کتاب‌هایشان را با هم عوض کنند.",
    ),
    DemoProposal(
        9008, TELEGRAM, "niavaran", "sport", "زمین بازی کودکان با کف‌پوش ایمن",
        "وسایل بازی فرسودهٔ بوستان محله تعویض و کف زمین بازی با کف‌پوش لاستیکی ایمن پوشانده شود؛ "
        "چند کودک امسال روی کف بتنی آسیب دیده‌اند.",
    ),
)


@dataclass
class SeedReport:
    added: int = 0
    present: int = 0
    approved: int = 0
    rejected: int = 0
    neighbourhoods: tuple[str, ...] = ()


async def seed_demo(config: Config, db, now: dt.datetime) -> SeedReport:
    """Demo citizens and their proposals, through the services as a citizen and the admin would.

    Runs on its own clock inside the proposals phase (the services refuse proposals at any other
    time). Citizens that already have a proposal are left alone, so seeding twice adds nothing.
    """
    from bot.services import Services
    from storage import Repositories

    calendar = config.calendar
    inside = phase_at(calendar, now).phase is Phase.PROPOSALS
    clock = ManualClock(now if inside else calendar.proposals_opens + dt.timedelta(hours=2))
    services = Services.build(config, clock, Repositories(db))
    staff_ref = f"{TELEGRAM}:{ADMIN_ID}"
    report = SeedReport()
    hoods: list[str] = []
    for demo in DEMO_PROPOSALS:
        if config.neighbourhood(demo.neighbourhood) is None or config.category(demo.category) is None:
            continue  # a config without this neighbourhood or category
        name = render.neighbourhood_name(config, demo.neighbourhood)
        if name not in hoods:
            hoods.append(name)
        existing = await services.repos.citizens.find(demo.platform, demo.user_id)
        if existing is not None and await services.proposals.mine(existing):
            report.present += 1
            continue
        clock.advance(minutes=7)
        citizen, _ = await services.citizens.enter(demo.platform, demo.user_id, demo.user_id)
        await services.citizens.choose_neighbourhood(citizen, demo.neighbourhood)
        citizen, _ = await services.citizens.enter(demo.platform, demo.user_id, demo.user_id)
        await services.proposals.start(citizen)
        await services.proposals.set_category(citizen, demo.category)
        await services.proposals.set_title(citizen, demo.title)
        await services.proposals.set_description(citizen, demo.description)
        if demo.location:
            await services.proposals.set_location(citizen, *demo.location)
        submitted = await services.proposals.submit(citizen)
        if submitted.proposal is None:
            log.warning("demo proposal %r not submitted: %s", demo.title, submitted.gate.value)
            continue
        clock.advance(minutes=30)
        approve = demo.reject_reason is None
        await services.proposals.decide(True, staff_ref, submitted.proposal.id, approve, demo.reject_reason)
        report.added += 1
        if approve:
            report.approved += 1
        else:
            report.rejected += 1
    report.neighbourhoods = tuple(hoods)
    return report


# ----------------------------------------------------------------------------- input lines

class LineReader:
    """Lines from stdin without blocking the event loop (the bot runs in the same loop).

    Terminals and pipes are watched with the loop's add_reader (no thread, so Ctrl-C stops at
    once); regular files and in-memory streams, which never block for long, are read by a
    daemon thread.
    """

    def __init__(self, stream: TextIO, loop: asyncio.AbstractEventLoop) -> None:
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._loop = loop
        self._fd: int | None = None
        self._pending = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        try:
            fd = stream.fileno()
            loop.add_reader(fd, self._on_readable)
            self._fd = fd
        except (AttributeError, OSError, ValueError, NotImplementedError, RuntimeError):
            # io.UnsupportedOperation (no fd), PermissionError (epoll refuses regular files),
            # NotImplementedError (Windows' proactor loop).
            threading.Thread(target=self._read_thread, args=(stream,), daemon=True,
                             name="playground-stdin").start()

    def _on_readable(self) -> None:
        try:
            data = os.read(self._fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._finish()
            return
        self._pending += self._decoder.decode(data)
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self.queue.put_nowait(line.rstrip("\r"))

    def _finish(self) -> None:
        self._pending += self._decoder.decode(b"", final=True)
        if self._pending:
            self.queue.put_nowait(self._pending.rstrip("\r"))
            self._pending = ""
        self.queue.put_nowait(None)
        self.close()

    def _read_thread(self, stream: TextIO) -> None:
        while True:
            try:
                line = stream.readline()
            except (OSError, ValueError):
                line = ""
            if isinstance(line, bytes):
                line = line.decode("utf-8", errors="replace")
            try:
                if not line:
                    self._loop.call_soon_threadsafe(self.queue.put_nowait, None)
                    return
                self._loop.call_soon_threadsafe(self.queue.put_nowait, line.rstrip("\n").rstrip("\r"))
            except RuntimeError:  # the loop is closed: the playground has ended
                return

    async def readline(self) -> str | None:
        """The next line without its newline; None at end of input."""
        return await self.queue.get()

    def close(self) -> None:
        if self._fd is not None:
            try:
                self._loop.remove_reader(self._fd)
            except (ValueError, RuntimeError, OSError):
                pass
            self._fd = None


# ---------------------------------------------------------------------------------- output

class Style:
    """ANSI styles, only for a terminal (and never with NO_COLOR or TERM=dumb)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def _wrap(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.enabled and text else text

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def header(self, text: str) -> str:
        return self._wrap("1;36", text)

    def button(self, text: str) -> str:
        return self._wrap("33", text)

    def notice(self, text: str) -> str:
        return self._wrap("35", text)

    def error(self, text: str) -> str:
        return self._wrap("31", text)

    def prompt(self, text: str) -> str:
        return self._wrap("1;32", text)


def _html_for_terminal(text: str, style: Style) -> str:
    """Telegram HTML as a terminal shows it: bold stays bold, other tags go, entities decode."""
    def tag(match: re.Match) -> str:
        if match.group(2).lower() in ("b", "strong") and style.enabled:
            return "\033[0m" if match.group(1) else "\033[1m"
        return ""
    return html.unescape(_TAG.sub(tag, text))


def _inline_buttons(view: dict) -> list[list[dict]]:
    markup = view.get("reply_markup") or {}
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    return rows or []


def _content(view: dict) -> str:
    return str(view.get("text") if "text" in view else view.get("caption") or "")


def _label(button: Any) -> str:
    return button if isinstance(button, str) else str(button.get("text", ""))


def demo_phone(user_id: int) -> str:
    """A valid Iranian mobile number of one's own, derived from the user id: +98912000NNNN."""
    return f"+98912{user_id % 10**7:07d}"


# ------------------------------------------------------------------------------ the session

class Playground:
    def __init__(self, config: Config, clock: Clock, server: LocalBotApi, out: TextIO,
                 echo_input: bool, style: Style, prompt: bool) -> None:
        self.config, self.clock, self.server, self.out = config, clock, server, out
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
            self.out_closed = not _write(self.out, text)

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
            self.state.add_user(user_id, first_name="کارشناس", last_name="منطقهٔ ۱", username="playground_admin")
        else:
            self.state.add_user(user_id, first_name=f"شهروند {fa_digits(user_id)}")
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
                out.append((view, "buttons" if _content(view) == before[2] else "edited"))
        return out

    def mark_seen(self, platform: str, chat_id: int) -> None:
        self.seen[(platform, chat_id)] = {
            v["message_id"]: (v.get("edit_count", 0), v.get("deleted", False), _content(v))
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
        st = self.style
        self.say(st.dim(SEPARATOR))
        if kind == "deleted":
            gone = (view.get("text") or view.get("caption") or "").split("\n", 1)[0][:60]
            self.say(st.header(f"[{platform}] bot deleted a message") + (f": «{gone}»" if gone else ""))
            return
        if kind == "buttons":
            first = _content(view).strip().split("\n", 1)[0]
            first = first if len(first) <= 50 else first[:49] + "…"
            what = "new buttons on" if _inline_buttons(view) else "buttons removed from"
            self.say(st.header(f"[{platform}] bot (edited):") + f" {what} «{first}»")
        else:
            self.say(st.header(f"[{platform}] bot{' (edited)' if kind == 'edited' else ''}:"))
            for line in self.body(view):
                self.say(line)
        number = 0
        rows = _inline_buttons(view)
        for row in rows:
            cells = []
            for button in row:
                number += 1
                cell = f"[{number}] {_label(button)}"
                if button.get("url"):
                    cell += f" → {button['url']}"
                cells.append(st.button(cell))
            self.say("  " + "   ".join(cells))
        markup = view.get("reply_markup") or {}
        if "keyboard" in markup:
            self.say(st.dim("keyboard: ") + self.keyboard_line(markup))
        elif markup.get("remove_keyboard"):
            self.say(st.dim("keyboard: (removed)"))
        elif markup.get("force_reply"):
            self.say(st.dim("(the bot asks for a reply to this message: just type it)"))

    def body(self, view: dict) -> list[str]:
        html_mode = str(view.get("parse_mode") or "").lower() == "html"
        lines: list[str] = []
        if view.get("photo"):
            lines.append("🖼 [photo]")
        if view.get("sticker"):
            lines.append(f"[sticker {view['sticker'].get('emoji', '')}]".replace(" ]", "]"))
        if view.get("document"):
            lines.append(f"📎 [file {view['document'].get('file_name', '')}]")
        if loc := view.get("location"):
            lines.append(f"📍 [location {loc['latitude']:.5f}, {loc['longitude']:.5f}]")
        if contact := view.get("contact"):
            lines.append(f"👤 [contact {contact.get('first_name', '')} {contact.get('phone_number', '')}]")
        text = view.get("text") if "text" in view else view.get("caption")
        if text:
            sent = view.get("sent_text")
            if html_mode and sent and self.style.enabled:
                text = _html_for_terminal(sent, self.style)
            lines.extend(text.split("\n"))
        return lines or ["[empty message]"]

    def keyboard_line(self, markup: dict) -> str:
        cells = []
        for index, button in enumerate(b for row in markup.get("keyboard", []) for b in row):
            cell = f"({chr(ord('a') + index)}) {_label(button)}" if index < 26 else _label(button)
            if isinstance(button, dict) and button.get("request_contact"):
                cell += " [shares your phone]"
            elif isinstance(button, dict) and button.get("request_location"):
                cell += " [shares a location]"
            cells.append(self.style.button(cell))
        return " | ".join(cells) if cells else "(empty)"

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
            if _inline_buttons(view):
                return view
        return None

    async def press_number(self, number: int) -> bool:
        """Press inline button [number] of the latest message that has buttons; False if none."""
        view = self.latest_with_buttons()
        if view is None:
            return False
        buttons = [b for row in _inline_buttons(view) for b in row]
        if not 1 <= number <= len(buttons):
            self.fail("the latest message with buttons has only button [1]" if len(buttons) == 1
                      else f"the latest message with buttons has buttons [1]–[{len(buttons)}]")
            return True
        button = buttons[number - 1]
        latest = self.state.last_message(self.token, self.user)
        where = ""
        if latest is not None and latest["message_id"] != view["message_id"]:
            first = _content(view).strip().split("\n", 1)[0]
            where = f" on an earlier message «{first if len(first) <= 40 else first[:39] + '…'}»"
        if "callback_data" in button:
            await self.act(lambda: self.state.press(self.token, self.user, view["message_id"],
                                                    button["callback_data"]),
                           f"you pressed «{_label(button)}»{where}")
        elif "url" in button:
            self.note(f"the button opens {button['url']} (outside the chat; the bot sees nothing)")
        else:
            self.fail(f"button {_label(button)!r} is neither a callback nor a link button")
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
            await self.send_text(_label(button))

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
            self.say(self.style.dim("keyboard: ") + self.keyboard_line(keyboard))

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
        info = phase_at(self.config.calendar, now)
        self.say(f"Bot clock: {jalali_datetime(now, self.config.timezone)} (Tehran) — phase: {info.phase.value}")
        self.say(render.phase_line(self.config, info, now))

    async def handle(self, line: str) -> bool:
        """One input line; False to stop."""
        text = line.strip()
        if not text:
            return True
        if text.startswith(":") and len(text) > 1 and not text[1:2].isspace():
            return await self.command(text)
        ascii_text = text.translate(_DIGITS)
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
            if _label(button) == text:
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
            elif args[0].translate(_DIGITS).isdigit() and int(args[0].translate(_DIGITS)) > 0:
                self.switch(user=int(args[0].translate(_DIGITS)))
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
                                                          contact_user_id=None, first_name="دوست"),
                               f"you shared someone else's contact card: {rest}")
        elif name == "location":
            try:
                lat, lon = (float(a.translate(_DIGITS)) for a in args) if args else DEFAULT_LOCATION
            except ValueError:
                self.fail("usage: :location LAT LON (e.g. :location 35.8027 51.4347)")
            else:
                await self.share_location(lat, lon)
        elif name == "photo":
            await self.act(lambda: state.send_photo(self.token, self.user, caption=rest or None),
                           "you sent a photo" + (f" with the caption «{rest}»" if rest else ""))
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


# ------------------------------------------------------------------------------- entry point

def playground_config(config: Config, server: LocalBotApi) -> Config:
    """Both messengers on the loopback server, the playground admin, a database of its own."""
    platforms = {
        name: dataclasses.replace(
            config.platforms[name], token=TOKENS[name], base_url=server.bot_base_url,
            base_file_url=server.file_base_url, admins=frozenset({ADMIN_ID}), staff_chat_id=None,
        )
        for name in PLATFORMS
    }
    return dataclasses.replace(config, platforms=platforms, database=config.database.parent / DATABASE_NAME)


def _quiet_logs() -> None:
    """At the default INFO level the bot's start-up lines would interleave with the chat."""
    for name in ("telegram", "bot", "storage", "handlers", "aiohttp", "apscheduler"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() == logging.INFO:
            logger.setLevel(logging.WARNING)


def _utf8(stream: TextIO) -> None:
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
    if encoding and encoding != "utf8" and hasattr(stream, "reconfigure"):
        try:
            stream.reconfigure(encoding="utf-8", errors="replace")
        except (ValueError, OSError):
            pass


def _write(stream: TextIO, text: str) -> bool:
    """Write and flush; False when the reader has gone (a closed pipe), which is not an error."""
    try:
        stream.write(text)
        stream.flush()
        return True
    except (BrokenPipeError, ValueError):  # ValueError: the stream was closed
        try:  # keep the interpreter's final flush from complaining about the same pipe
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass
        return False


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


async def run_playground(config: Config, at: str | None = None, demo: bool = False, *,
                         stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Chat with the real bot in this terminal; returns the exit code."""
    from bot.runtime import Runtime

    stdin = sys.stdin if stdin is None else stdin
    out = sys.stdout if stdout is None else stdout
    if out is sys.stdout:
        _utf8(out)
    if at is not None:
        try:
            clock: Clock = ShiftedClock(parse_jalali("--at", at, config.timezone))
        except ConfigError as exc:
            print(str(exc), file=sys.stderr)
            return 2
    else:
        clock = SystemClock()
    _quiet_logs()

    colour = _isatty(out) and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
    interactive = _isatty(stdin)
    style = Style(colour)
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    interrupted = False

    def on_sigint() -> None:
        nonlocal interrupted
        interrupted = True
        loop.remove_signal_handler(signal.SIGINT)  # a second Ctrl-C stops the hard way
        if task is not None:
            task.cancel()

    server = LocalBotApi(bots={token: BOT_USERNAME for token in TOKENS.values()}, call_log_size=2000)
    runtime = None
    reader = None
    sigint = False
    try:
        try:
            loop.add_signal_handler(signal.SIGINT, on_sigint)
            sigint = True
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread, or Windows: asyncio.run's own Ctrl-C handling applies
        await server.start()
        pconfig = playground_config(config, server)
        runtime = Runtime(pconfig, clock, poll_timeout=POLL_TIMEOUT)
        await runtime.open()
        report = await seed_demo(pconfig, runtime.db, clock.now()) if demo else None
        session = Playground(pconfig, clock, server, out, echo_input=not interactive, style=style,
                             prompt=interactive)
        session.register(ADMIN_ID)
        session.register(FIRST_CITIZEN)
        await runtime.start()

        session.say(style.bold("«من شهردارم» — local playground"))
        session.say(f"Bot API: {server.url} (loopback; telegram and bale as @{BOT_USERNAME})")
        session.say(f"Database: {pconfig.database}")
        when = "set with --at, then running in real time" if at is not None else "system clock"
        session.say(f"Clock: {jalali_datetime(clock.now(), pconfig.timezone)} (Tehran time; {when})")
        session.say(f"Phase: {render.phase_line(pconfig, phase_at(pconfig.calendar, clock.now()), clock.now())}")
        if report is not None:
            hoods = "، ".join(report.neighbourhoods)
            if not hoods:
                session.say("Demo: none of the demo neighbourhoods and categories is in this config; nothing seeded")
            elif report.added:
                session.say(f"Demo: {report.added} citizens with proposals added in {hoods} "
                            f"({report.approved} approved, {report.rejected} rejected)"
                            + (f"; {report.present} were already there" if report.present else ""))
            else:
                session.say(f"Demo: already seeded ({report.present} citizens with proposals in {hoods})")
        session.say(f"You are user {FIRST_CITIZEN}, a citizen on telegram; user {ADMIN_ID} is the admin (:staff). "
                    "Send /start to begin; :help lists the commands.")
        reader = LineReader(stdin, loop)
        await session.loop(reader)
    except asyncio.CancelledError:
        if not interrupted:
            raise
        if task is not None:
            task.uncancel()
        _write(out, "\n(interrupted)\n")
    except KeyboardInterrupt:
        _write(out, "\n(interrupted)\n")
    finally:
        if reader is not None:
            reader.close()
        if sigint and not interrupted:
            loop.remove_signal_handler(signal.SIGINT)
        if runtime is not None:
            await runtime.stop()
        await server.stop()
    _write(out, style.dim("(playground stopped)") + "\n")
    return 0
