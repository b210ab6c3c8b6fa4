"""In-memory model of the slice of Telegram our bot talks to.

Everything here is synchronous, loop-agnostic Python (apart from the few
``async`` waiters), so tests can drive it directly and the HTTP layer in
``server.py`` stays a thin adapter.  Data is indexed by (bot, chat) because the
benchmark pushes ~1,000 updates/s through it: nothing scans all chats or all
messages on the hot path.

Objects handed to the bot (Message, Update, ...) are plain dicts shaped exactly
like Telegram's JSON, so PTB parses them with its normal ``de_json``.
"""

from __future__ import annotations

import asyncio
import html
import json
import random
import re
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

# ---------------------------------------------------------------- errors


class ApiError(Exception):
    """A Bot API failure; the server renders it byte-for-byte like Telegram."""

    def __init__(self, code: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters

    def payload(self) -> dict:
        out = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            out["parameters"] = self.parameters
        return out


class ControlError(ValueError):
    """A simulated user tried something a real Telegram client could not do."""


def _bad(description: str) -> ApiError:
    return ApiError(400, "Bad Request: " + description)


NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)

# ------------------------------------------------------- parameter typing

# Form-encoded requests (PTB's default transport) carry every value as a
# string, with non-strings JSON-encoded; JSON bodies may carry either form.
# Coercion is idempotent so in-process callers can pass real Python values.
_INT_KEYS = frozenset(
    "message_id offset limit user_id cache_time reply_to_message_id "
    "message_thread_id live_period duration width height".split()
)
_CHAT_KEYS = frozenset(("chat_id", "from_chat_id"))  # int, or "@channel" string
_FLOAT_KEYS = frozenset(("latitude", "longitude", "horizontal_accuracy", "timeout"))
_BOOL_KEYS = frozenset(
    "disable_notification protect_content show_alert drop_pending_updates "
    "disable_web_page_preview allow_sending_without_reply has_spoiler".split()
)
_JSON_KEYS = frozenset(
    "reply_markup reply_parameters entities caption_entities allowed_updates "
    "commands scope link_preview_options media message_ids menu_button".split()
)
_INT_RE = re.compile(r"-?\d+\Z")


class Upload(NamedTuple):
    """A file part from a multipart request (the server builds these)."""

    filename: str
    content_type: str
    data: bytes


def coerce_params(params: dict) -> dict:
    out = {}
    for key, value in params.items():
        if isinstance(value, str):
            try:
                if key in _CHAT_KEYS:
                    value = int(value) if _INT_RE.match(value) else value
                elif key in _INT_KEYS:
                    value = int(value)
                elif key in _FLOAT_KEYS:
                    value = float(value)
                elif key in _BOOL_KEYS:
                    value = value.lower() in ("true", "1")
                elif key in _JSON_KEYS:
                    value = json.loads(value)
            except ValueError:
                if key == "reply_markup":
                    raise _bad("can't parse reply keyboard markup JSON object") from None
                raise _bad(f"invalid {key} specified") from None
        out[key] = value
    return out


# ------------------------------------------------------------ text checks

_HTML_TAGS = frozenset(
    "b strong i em u ins s strike del span tg-spoiler a code pre blockquote tg-emoji".split()
)
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][\w-]*)(\s[^<>]*)?>")


def html_to_plain(text: str) -> str:
    """Validate Telegram-flavoured HTML and strip it, as Telegram stores it.

    Malformed HTML (a user's name containing "<", an unclosed tag) is a classic
    production failure, so we reject it the way Telegram does instead of
    passing it through.
    """
    out, stack, pos = [], [], 0
    while (i := text.find("<", pos)) >= 0:
        out.append(text[pos:i])
        offset = len(text[:i].encode())
        m = _TAG_RE.match(text, i)
        if not m:
            raise _bad(f"can't parse entities: Unexpected end of name token at byte offset {offset}")
        closing, name = m.group(1), m.group(2).lower()
        if name not in _HTML_TAGS:
            raise _bad(f'can\'t parse entities: Unsupported start tag "{name}" at byte offset {offset}')
        if not closing:
            stack.append(name)
        elif not stack or stack[-1] != name:
            expected = f'"</{stack[-1]}>"' if stack else "nothing"
            raise _bad(
                f"can't parse entities: Unmatched end tag at byte offset {offset}, "
                f'expected {expected}, found "</{name}>"'
            )
        else:
            stack.pop()
        pos = m.end()
    if stack:
        raise _bad(f'can\'t parse entities: Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    out.append(text[pos:])
    return html.unescape("".join(out))


def _tg_len(text: str) -> int:
    # Telegram's limits count UTF-16 code units, not code points.
    return len(text.encode("utf-16-le")) // 2


def _render(text: Any, parse_mode: Any, *, caption: bool = False) -> str:
    text = "" if text is None else str(text)
    if parse_mode and str(parse_mode).lower() == "html":
        text = html_to_plain(text)
    if _tg_len(text) > (1024 if caption else 4096):
        raise _bad("message caption is too long" if caption else "message is too long")
    return text


_INLINE_ACTIONS = (
    "callback_data url login_url switch_inline_query switch_inline_query_current_chat "
    "switch_inline_query_chosen_chat callback_game pay web_app copy_text"
).split()


def _check_markup(markup: Any) -> dict | None:
    """Validate reply_markup enough to catch the bugs Telegram would reject."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
        for button in (b for row in rows for b in row):
            # Exactly one action per button; a bare text button is a common slip.
            if not isinstance(button, dict) or not button.get("text") \
                    or sum(k in button for k in _INLINE_ACTIONS) != 1:
                raise _bad("can't parse inline keyboard button: "
                           "Text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise _bad("BUTTON_DATA_INVALID")
    elif "keyboard" in markup:
        if not isinstance(markup["keyboard"], list):
            raise _bad("can't parse reply keyboard markup JSON object")
    elif "remove_keyboard" not in markup and "force_reply" not in markup:
        raise _bad("can't parse reply keyboard markup JSON object")
    return markup


def _button_text(button: Any) -> str:
    return button if isinstance(button, str) else button.get("text", "")


def _inline_buttons(markup: dict | None) -> list[dict]:
    if not markup or "inline_keyboard" not in markup:
        return []
    return [b for row in markup["inline_keyboard"] for b in row]


# ----------------------------------------------------------------- model


@dataclass(slots=True)
class Msg:
    data: dict  # the Message object as the Bot API returns it
    from_bot: bool
    markup: dict | None = None  # as sent; Telegram echoes only inline keyboards
    parse_mode: str | None = None
    sent_text: str | None = None  # text/caption before parse_mode stripping
    deleted: bool = False
    edits: int = 0


@dataclass(slots=True)
class Chat:
    info: dict
    next_id: int = 1  # private chats share one message-id sequence, like Telegram
    msgs: dict[int, Msg] = field(default_factory=dict)
    bot_ids: list[int] = field(default_factory=list)
    reply_keyboard: dict | None = None
    last_user_msg: int = 0


@dataclass(slots=True)
class Bot:
    token: str
    user: dict
    chats: dict[int, Chat] = field(default_factory=dict)
    updates: deque = field(default_factory=deque)
    next_update: int = 1  # survives reset(): a running poller keeps its offset
    poll_gen: int = 0
    callbacks: dict[str, dict] = field(default_factory=dict)
    commands: dict[str, list] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    chat_seq: dict[int, int] = field(default_factory=dict)  # last call touching a chat
    # Lazily created events keyed by "updates", "calls" or a chat id; set and
    # dropped on change, so an idle key costs nothing per call.
    waiters: dict[Any, asyncio.Event] = field(default_factory=dict)


@dataclass(slots=True)
class FileRec:
    file_id: str
    unique_id: str
    path: str
    data: bytes
    sizes: list | None = None  # PhotoSize list when this id is one size of a photo


@dataclass(slots=True)
class FaultRule:
    """One fault-injection rule; see LocalApiState.add_fault."""

    method: str | None = None  # None: every method except getUpdates
    kind: str = "500"  # "429" | "403" | "500" | "502" | "timeout" | "drop"
    rate: float = 1.0
    count: int | None = None  # remaining firings; None = unlimited
    retry_after: int = 1
    chat_id: int | None = None
    perform: bool = False  # execute the call before failing (ambiguous outcome)

    KINDS = ("429", "403", "500", "502", "timeout", "drop")

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _wake(waiters: dict, key: Any) -> None:
    ev = waiters.pop(key, None)
    if ev is not None:
        ev.set()


def _bot_id(token: str) -> int:
    # Real tokens are "<bot id>:<secret>"; anything else gets a stable hash.
    head = token.split(":", 1)[0]
    return int(head) if head.isdigit() else 1_000_000_000 + zlib.crc32(token.encode()) % 10**9


_FOLDERS = {"photo": ("photos", "jpg"), "document": ("documents", "bin"), "sticker": ("stickers", "webp"),
            "video": ("videos", "mp4"), "audio": ("music", "mp3"), "voice": ("voice", "oga"),
            "animation": ("animations", "mp4")}
_FAKE_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(64)) + b"\xff\xd9"
_CONTENT_KEYS = ("text", "entities", "caption", "caption_entities", "photo", "document", "sticker",
                 "video", "audio", "voice", "animation", "location", "contact")
DEFAULT_LOCATION = (35.8027, 51.4347)  # Tajrish, District 1


class LocalApiState:
    """All bots, chats, messages, update queues, call log, faults and stats."""

    def __init__(self, bots: dict[str, str] | None = None, *, latency: float = 0.0, seed: int = 0,
                 timeout_seconds: float = 30.0, call_log_size: int = 20_000):
        self.latency = float(latency)
        self.timeout_seconds = float(timeout_seconds)  # how long a "timeout" fault stalls
        self.rng = random.Random(seed)
        self.faults: list[FaultRule] = []
        self.closed = False
        self.call_seq = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._usernames = dict(bots or {})
        self._bots: dict[str, Bot] = {}
        self._users: dict[int, dict] = {}
        self._phones: dict[int, str] = {}
        self._groups: dict[int, dict] = {}
        self._files: dict[str, FileRec] = {}
        self._paths: dict[str, FileRec] = {}
        self._seq = 0  # file ids, callback ids
        self._calls: deque[tuple] = deque(maxlen=call_log_size)
        self._stats: dict[str, dict[str, int]] = {}
        self._updates_pushed = self._updates_confirmed = 0

    # ------------------------------------------------------------ config

    def configure(self, latency: float | None = None, timeout_seconds: float | None = None,
                  seed: int | None = None) -> dict:
        if latency is not None:
            self.latency = float(latency)
        if timeout_seconds is not None:
            self.timeout_seconds = float(timeout_seconds)
        if seed is not None:
            self.rng = random.Random(seed)
        return {"latency": self.latency, "timeout_seconds": self.timeout_seconds}

    def add_fault(self, method: str | None = None, kind: str = "500", rate: float = 1.0,
                  count: int | None = None, retry_after: int = 1, chat_id: int | None = None,
                  perform: bool = False) -> dict:
        kind = str(kind)
        if kind not in FaultRule.KINDS:
            raise ControlError(f"unknown fault kind {kind!r}; expected one of {FaultRule.KINDS}")
        rule = FaultRule(method, kind, float(rate), count, int(retry_after), chat_id, bool(perform))
        self.faults.append(rule)
        return rule.as_dict()

    def set_faults(self, rules: list[dict]) -> list[dict]:
        self.faults = []
        return [self.add_fault(**r) for r in rules]

    def clear_faults(self) -> bool:
        self.faults = []
        return True

    def pick_fault(self, method: str, chat_id: Any = None) -> FaultRule | None:
        for rule in self.faults:
            if rule.method is None:
                if method == "getUpdates":
                    continue  # polling faults must be asked for explicitly
            elif rule.method.lower() != method.lower():
                continue
            if rule.chat_id is not None and rule.chat_id != chat_id:
                continue
            if rule.count is not None and rule.count <= 0:
                continue
            if rule.rate < 1.0 and self.rng.random() >= rule.rate:
                continue
            if rule.count is not None:
                rule.count -= 1
            return rule
        return None

    def block(self, token: str, chat_id: int) -> bool:
        """The user blocks the bot: every call aimed at the chat answers 403."""
        self.bot(token).blocked.add(int(chat_id))
        return True

    def unblock(self, token: str, chat_id: int) -> bool:
        self.bot(token).blocked.discard(int(chat_id))
        return True

    def reset(self) -> bool:
        """Forget chats, users, files, calls, faults and stats (not config)."""
        for bot in self._bots.values():
            # Cleared in place, and update ids keep counting: a PTB poller that
            # is mid long-poll holds this object and its confirmed offset.
            for part in (bot.chats, bot.updates, bot.callbacks, bot.commands, bot.settings, bot.blocked):
                part.clear()
        self._users.clear(); self._phones.clear(); self._groups.clear()
        self._files.clear(); self._paths.clear(); self._calls.clear()
        self.faults = []
        self.reset_stats()
        return True

    def close(self) -> None:
        """Release every long poll and waiter so the server can stop at once."""
        self.closed = True
        for bot in self._bots.values():
            for ev in bot.waiters.values():
                ev.set()
            bot.waiters.clear()

    # ------------------------------------------------------- identities

    def add_bot(self, token: str, username: str | None = None, first_name: str | None = None) -> dict:
        if username:
            self._usernames[token] = username
        bot = self.bot(token)
        if username:
            bot.user["username"] = username
        if first_name:
            bot.user["first_name"] = first_name
        return bot.user

    def bot(self, token: str) -> Bot:
        bot = self._bots.get(token)
        if bot is None:
            username = self._usernames.get(token, "test_bot")
            user = {"id": _bot_id(token), "is_bot": True,
                    "first_name": username.replace("_", " ").title(), "username": username}
            bot = self._bots[token] = Bot(token, user)
        return bot

    def add_user(self, user_id: int, first_name: str | None = None, username: str | None = None,
                 last_name: str | None = None, phone_number: str | None = None,
                 language_code: str | None = None) -> dict:
        user_id = int(user_id)
        if user_id <= 0:
            raise ControlError("user ids are positive")
        user = self._users.setdefault(user_id, {"id": user_id, "is_bot": False,
                                                "first_name": f"User {user_id}"})
        for key, value in (("first_name", first_name), ("username", username),
                           ("last_name", last_name), ("language_code", language_code)):
            if value is not None:
                user[key] = value
        if phone_number is not None:
            self._phones[user_id] = phone_number
        for bot in self._bots.values():  # keep existing private chats' names current
            if (chat := bot.chats.get(user_id)) is not None:
                chat.info = self._private_info(user)
        return user

    def add_group(self, chat_id: int, title: str | None = None, type: str | None = None) -> dict:
        chat_id = int(chat_id)
        if chat_id >= 0:
            raise ControlError("group chat ids are negative")
        kind = type or ("supergroup" if chat_id <= -1_000_000_000_000 else "group")
        info = self._groups.setdefault(chat_id, {"id": chat_id, "type": kind})
        info["type"] = kind
        info["title"] = title or info.get("title") or f"Group {-chat_id}"
        return info

    def user(self, user_id: int) -> dict:
        return self._users.get(int(user_id)) or self.add_user(user_id)

    @staticmethod
    def _private_info(user: dict) -> dict:
        info = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                info[key] = user[key]
        return info

    def _chat(self, bot: Bot, chat_id: int, *, create: bool) -> Chat | None:
        chat = bot.chats.get(chat_id)
        if chat is None and create:
            if chat_id > 0:
                info = self._private_info(self.user(chat_id))
            else:
                info = self._groups.get(chat_id) or self.add_group(chat_id)
            chat = bot.chats[chat_id] = Chat(info)
        return chat

    # ------------------------------------------------------ bookkeeping

    def method_name(self, name: str) -> str | None:
        """Canonical spelling of a Bot API method (Telegram ignores case)."""
        entry = _METHODS.get(name.lower())
        return entry[0] if entry else None

    def record(self, token: str, method: str, params: dict, status: int,
               fault: str | None = None) -> int:
        """Log a finished Bot API call and wake whoever waits on its chat."""
        self.call_seq = seq = self.call_seq + 1
        bot = self._bots.get(token)
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            chat_id = None
            if method == "answerCallbackQuery" and bot is not None:
                cq = bot.callbacks.get(str(params.get("callback_query_id")))
                chat_id = cq["chat_id"] if cq else None
        self._calls.append((seq, time.time(), token, method, params, status, chat_id, fault))
        per_method = self._stats.setdefault(method, {})
        key = str(status)
        per_method[key] = per_method.get(key, 0) + 1
        if bot is not None:
            if chat_id is not None:
                bot.chat_seq[chat_id] = seq
                _wake(bot.waiters, chat_id)
            _wake(bot.waiters, "calls")
        return seq

    def stats(self) -> dict:
        total = sum(sum(v.values()) for v in self._stats.values())
        return {"methods": {m: dict(v) for m, v in self._stats.items()}, "total": total,
                "in_flight": self.in_flight, "max_in_flight": self.max_in_flight,
                "updates_pushed": self._updates_pushed, "updates_confirmed": self._updates_confirmed,
                "pending_updates": {t: len(b.updates) for t, b in self._bots.items()}}

    def reset_stats(self) -> bool:
        self._stats = {}
        self.max_in_flight = self.in_flight
        self._updates_pushed = self._updates_confirmed = 0
        return True

    # ---------------------------------------------------------- Bot API

    def api(self, token: str, method: str, params: dict) -> Any:
        """Run one (non-getUpdates) Bot API method; raises ApiError like Telegram."""
        entry = _METHODS.get(method.lower())
        if entry is None:
            raise ApiError(404, "Not Found")
        if entry[1] is None:
            raise TypeError("getUpdates long-polls: await get_updates() instead")
        return entry[1](self, self.bot(token), coerce_params(params))

    async def get_updates(self, token: str, params: dict) -> list[dict]:
        p = coerce_params(params)
        bot = self.bot(token)
        self._confirm(bot, p.get("offset"))
        limit = max(1, min(100, int(p.get("limit") or 100)))
        timeout = float(p.get("timeout") or 0)
        if not bot.updates and timeout > 0 and not self.closed:
            # A newer poll releases older ones: their clients are usually gone
            # (PTB cancels its request on stop) and would otherwise linger.
            bot.poll_gen = gen = bot.poll_gen + 1
            _wake(bot.waiters, "updates")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while not bot.updates and gen == bot.poll_gen and not self.closed:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                ev = bot.waiters.get("updates") or bot.waiters.setdefault("updates", asyncio.Event())
                try:
                    await asyncio.wait_for(ev.wait(), remaining)
                except TimeoutError:
                    break
        return [bot.updates[i] for i in range(min(limit, len(bot.updates)))]

    def _confirm(self, bot: Bot, offset: int | None) -> None:
        if not offset:
            return
        q = bot.updates
        if offset < 0:  # Telegram: keep only the last -offset updates
            while len(q) > -offset:
                q.popleft()
                self._updates_confirmed += 1
            return
        while q and q[0]["update_id"] < offset:
            q.popleft()
            self._updates_confirmed += 1

    def _target(self, bot: Bot, chat_id: Any, *, check_blocked: bool = True) -> Chat:
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        if not isinstance(chat_id, int):
            raise _bad("chat not found")
        if check_blocked and chat_id in bot.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user" if chat_id > 0
                           else "Forbidden: bot was kicked from the group chat")
        # Private chats exist once the user is known (has acted or was added);
        # sending to a stranger is a real bug that Telegram rejects too.
        known = chat_id in bot.chats or chat_id in self._users or chat_id in self._groups
        if not known:
            raise _bad("chat not found")
        return self._chat(bot, chat_id, create=True)

    def _find(self, chat: Chat, message_id: Any, missing: str) -> Msg:
        msg = chat.msgs.get(message_id) if isinstance(message_id, int) else None
        if msg is None or msg.deleted:
            raise _bad(missing)
        return msg

    def _store(self, chat: Chat, sender: dict, from_bot: bool, content: dict,
               markup: dict | None = None, reply_to: Msg | None = None) -> Msg:
        mid = chat.next_id
        chat.next_id += 1
        data = {"message_id": mid, "from": sender, "chat": chat.info, "date": int(time.time())}
        if reply_to is not None:
            data["reply_to_message"] = {k: v for k, v in reply_to.data.items() if k != "reply_to_message"}
        data.update(content)
        if markup and "inline_keyboard" in markup:
            data["reply_markup"] = markup  # a Message's reply_markup is inline-only
        msg = chat.msgs[mid] = Msg(data, from_bot, markup)
        if from_bot:
            chat.bot_ids.append(mid)
            if markup and "keyboard" in markup:
                chat.reply_keyboard = markup
            elif markup and markup.get("remove_keyboard"):
                chat.reply_keyboard = None
        else:
            chat.last_user_msg = mid
        return msg

    def _bot_send(self, bot: Bot, p: dict, content: dict, *, sent_text: str | None = None) -> dict:
        chat = self._target(bot, p.get("chat_id"))
        markup = _check_markup(p.get("reply_markup"))
        reply = p.get("reply_parameters") or {}
        reply_id = reply.get("message_id", p.get("reply_to_message_id"))
        reply_to = None
        if reply_id is not None:
            reply_to = chat.msgs.get(int(reply_id))
            if reply_to is None or reply_to.deleted:
                if not (reply.get("allow_sending_without_reply") or p.get("allow_sending_without_reply")):
                    raise _bad("message to be replied not found")
                reply_to = None
        msg = self._store(chat, bot.user, True, content, markup, reply_to)
        msg.parse_mode, msg.sent_text = p.get("parse_mode"), sent_text
        return msg.data

    def _m_send_message(self, bot: Bot, p: dict) -> dict:
        self._target(bot, p.get("chat_id"))  # chat errors win over text errors, as in Telegram
        if not p.get("text"):
            raise _bad("message text is empty")
        text = _render(p["text"], p.get("parse_mode"))
        if not text.strip():
            raise _bad("message text is empty")
        return self._bot_send(bot, p, {"text": text}, sent_text=p["text"])

    def _media(self, bot: Bot, p: dict, kind: str) -> dict:
        value = p.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            value = p.get(value[len("attach://"):])
        if value is None or value == "":
            raise _bad(f"there is no {kind} in the request")
        self._target(bot, p.get("chat_id"))
        if isinstance(value, Upload):
            rec = self._new_file(kind, value.data, value.filename)
            name, mime = value.filename, value.content_type
        else:
            # Unknown ids and URLs are accepted with placeholder bytes: handy
            # for fixtures, though real Telegram would reject a bogus file_id.
            rec = self._files.get(value) or self._new_file(
                kind, _FAKE_JPEG, file_id=None if value.startswith(("http://", "https://")) else value)
            name, mime = "file", "application/octet-stream"
        content: dict[str, Any]
        if kind == "photo":
            content = {"photo": rec.sizes or self._photo_sizes(rec)}
        else:
            obj = {"file_id": rec.file_id, "file_unique_id": rec.unique_id, "file_size": len(rec.data)}
            if kind == "sticker":
                obj.update(type="regular", width=512, height=512, is_animated=False, is_video=False)
            elif kind in ("document", "audio", "video", "animation"):
                obj.update(file_name=name, mime_type=mime)
            if kind in ("video", "animation"):
                obj.update(width=640, height=360, duration=1)
            elif kind in ("audio", "voice"):
                obj["duration"] = 1
            content = {kind: obj}
        sent = None
        if p.get("caption") and kind != "sticker":
            content["caption"] = _render(p["caption"], p.get("parse_mode"), caption=True)
            sent = p["caption"]
        return self._bot_send(bot, p, content, sent_text=sent)

    def _m_send_location(self, bot: Bot, p: dict) -> dict:
        if not isinstance(p.get("latitude"), float | int) or not isinstance(p.get("longitude"), float | int):
            raise _bad("wrong location specified")
        return self._bot_send(bot, p, {"location": {"latitude": p["latitude"], "longitude": p["longitude"]}})

    def _m_send_contact(self, bot: Bot, p: dict) -> dict:
        if not p.get("phone_number") or not p.get("first_name"):
            raise _bad("phone number and first name are required")
        contact = {"phone_number": str(p["phone_number"]), "first_name": p["first_name"]}
        return self._bot_send(bot, p, {"contact": contact})

    def _source(self, bot: Bot, p: dict, what: str) -> Msg:
        src_chat = bot.chats.get(p.get("from_chat_id"))
        if src_chat is None:
            raise _bad("chat not found")
        return self._find(src_chat, p.get("message_id"), f"message to {what} not found")

    def _m_copy_message(self, bot: Bot, p: dict) -> dict:
        src = self._source(bot, p, "copy")
        content = {k: src.data[k] for k in _CONTENT_KEYS if k in src.data}
        if "caption" in p:
            content["caption"] = _render(p["caption"], p.get("parse_mode"), caption=True)
        msg = self._bot_send(bot, p, content)
        return {"message_id": msg["message_id"]}

    def _m_forward_message(self, bot: Bot, p: dict) -> dict:
        src = self._source(bot, p, "forward")
        content = {k: src.data[k] for k in _CONTENT_KEYS if k in src.data}
        content["forward_origin"] = {"type": "user", "sender_user": src.data["from"], "date": src.data["date"]}
        return self._bot_send(bot, {**p, "reply_markup": None}, content)

    def _editable(self, bot: Bot, p: dict) -> tuple[Chat, Msg]:
        if p.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")  # inline mode is not simulated
        chat = self._target(bot, p.get("chat_id"))
        msg = self._find(chat, p.get("message_id"), "message to edit not found")
        if not msg.from_bot:
            raise _bad("message can't be edited")
        return chat, msg

    @staticmethod
    def _edit_markup(p: dict) -> dict | None:
        markup = _check_markup(p.get("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad("inline keyboard expected")
        return markup

    @staticmethod
    def _apply_edit(msg: Msg, key: str | None, value: Any, markup: dict | None) -> dict:
        """Edits replace the keyboard too: omitting reply_markup removes it."""
        data = msg.data
        if (key is None or data.get(key) == value) and data.get("reply_markup") == markup:
            raise _bad(NOT_MODIFIED)
        if key is not None:
            if value:
                data[key] = value
            else:
                data.pop(key, None)
        if markup is None:
            data.pop("reply_markup", None)
        else:
            data["reply_markup"] = markup
        msg.markup = markup
        data["edit_date"] = int(time.time())
        msg.edits += 1
        return data

    def _m_edit_message_text(self, bot: Bot, p: dict) -> dict:
        _, msg = self._editable(bot, p)
        if not p.get("text"):
            raise _bad("message text is empty")
        if "text" not in msg.data:
            raise _bad("there is no text in the message to edit")
        text = _render(p["text"], p.get("parse_mode"))
        data = self._apply_edit(msg, "text", text, self._edit_markup(p))
        msg.parse_mode, msg.sent_text = p.get("parse_mode"), p["text"]
        return data

    def _m_edit_message_caption(self, bot: Bot, p: dict) -> dict:
        _, msg = self._editable(bot, p)
        if not any(k in msg.data for k in ("photo", "document", "video", "audio", "voice", "animation")):
            raise _bad("there is no caption in the message to edit")
        caption = _render(p.get("caption"), p.get("parse_mode"), caption=True)
        data = self._apply_edit(msg, "caption", caption, self._edit_markup(p))
        msg.parse_mode, msg.sent_text = p.get("parse_mode"), p.get("caption")
        return data

    def _m_edit_message_reply_markup(self, bot: Bot, p: dict) -> dict:
        _, msg = self._editable(bot, p)
        return self._apply_edit(msg, None, None, self._edit_markup(p))

    def _m_delete_message(self, bot: Bot, p: dict) -> bool:
        chat = self._target(bot, p.get("chat_id"))
        self._find(chat, p.get("message_id"), "message to delete not found").deleted = True
        return True

    def _m_delete_messages(self, bot: Bot, p: dict) -> bool:
        chat = self._target(bot, p.get("chat_id"))
        for mid in p.get("message_ids") or []:
            if (msg := chat.msgs.get(int(mid))) is not None:
                msg.deleted = True
        return True

    def _m_answer_callback_query(self, bot: Bot, p: dict) -> bool:
        cq = bot.callbacks.get(str(p.get("callback_query_id")))
        if cq is None or cq["answer"] is not None:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        cq["answer"] = {"text": p.get("text"), "show_alert": bool(p.get("show_alert")),
                        "url": p.get("url"), "cache_time": p.get("cache_time")}
        return True

    @staticmethod
    def _commands_key(p: dict) -> str:
        scope = p.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True) + "|" + (p.get("language_code") or "")

    def _m_set_my_commands(self, bot: Bot, p: dict) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise _bad("commands must be an array")
        for c in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(c.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(c.get("description", ""))) <= 256:
                raise _bad("command description is empty")
        bot.commands[self._commands_key(p)] = commands
        return True

    def _m_get_my_commands(self, bot: Bot, p: dict) -> list:
        return bot.commands.get(self._commands_key(p), [])

    def _m_delete_my_commands(self, bot: Bot, p: dict) -> bool:
        bot.commands.pop(self._commands_key(p), None)
        return True

    def _m_get_chat(self, bot: Bot, p: dict) -> dict:
        chat = self._target(bot, p.get("chat_id"), check_blocked=False)
        # ChatFullInfo fields PTB 22 requires.
        gifts = dict.fromkeys(("unlimited_gifts", "limited_gifts", "unique_gifts",
                               "premium_subscription", "gifts_from_channels"), False)
        return {**chat.info, "accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts}

    def _m_get_chat_member(self, bot: Bot, p: dict) -> dict:
        self._target(bot, p.get("chat_id"), check_blocked=False)
        uid = p.get("user_id")
        if uid == bot.user["id"]:
            return {"status": "member", "user": bot.user}
        if uid not in self._users:
            raise _bad("user not found")
        return {"status": "member", "user": self._users[uid]}

    def _m_send_chat_action(self, bot: Bot, p: dict) -> bool:
        self._target(bot, p.get("chat_id"))
        if not p.get("action"):
            raise _bad("wrong parameter action in request")
        return True

    def _m_get_file(self, bot: Bot, p: dict) -> dict:
        rec = self._files.get(str(p.get("file_id")))
        if rec is None:
            raise _bad("invalid file_id")
        return {"file_id": rec.file_id, "file_unique_id": rec.unique_id,
                "file_size": len(rec.data), "file_path": rec.path}

    def _m_get_me(self, bot: Bot, p: dict) -> dict:
        return {**bot.user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    def _m_delete_webhook(self, bot: Bot, p: dict) -> bool:
        if p.get("drop_pending_updates"):
            self._confirm(bot, bot.next_update)
        return True

    def _m_get_webhook_info(self, bot: Bot, p: dict) -> dict:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": len(bot.updates)}

    def _m_set_webhook(self, bot: Bot, p: dict) -> bool:
        raise _bad("webhooks are not supported by the loopback Bot API; use getUpdates")

    def _m_true(self, bot: Bot, p: dict) -> bool:
        return True

    def _m_store_setting(self, bot: Bot, p: dict) -> bool:
        bot.settings.update(p)
        return True

    # ------------------------------------------------------------ files

    def _new_file(self, kind: str, data: bytes, filename: str | None = None,
                  file_id: str | None = None) -> FileRec:
        self._seq += 1
        folder, ext = _FOLDERS.get(kind, ("documents", "bin"))
        # PTB names anonymous bytes "application.octet-stream"; keep real suffixes only.
        suffix = filename.rsplit(".", 1)[-1] if filename and "." in filename else ""
        if re.fullmatch(r"[A-Za-z0-9]{1,5}", suffix) and filename != "application.octet-stream":
            ext = suffix.lower()
        rec = FileRec(file_id or f"{kind}-{self._seq}", f"u{self._seq}", f"{folder}/file_{self._seq}.{ext}", data)
        self._files[rec.file_id] = rec
        self._paths[rec.path] = rec
        return rec

    def _photo_sizes(self, rec: FileRec) -> list[dict]:
        """Telegram offers each photo in several sizes; the last is the largest."""
        sizes = []
        for side in (90, 320):
            small = FileRec(f"{rec.file_id}-{side}", f"{rec.unique_id}-{side}", rec.path, rec.data)
            self._files[small.file_id] = small
            sizes.append({"file_id": small.file_id, "file_unique_id": small.unique_id,
                          "width": side, "height": side, "file_size": len(rec.data) * side // 800 + 1})
        sizes.append({"file_id": rec.file_id, "file_unique_id": rec.unique_id, "width": 800,
                      "height": 800, "file_size": len(rec.data)})
        for size in sizes:
            self._files[size["file_id"]].sizes = sizes
        return sizes

    def file_bytes(self, token: str, path: str) -> bytes | None:
        rec = self._paths.get(path)
        return None if rec is None else rec.data

    # --------------------------------------------------- simulated users

    def _push(self, bot: Bot, kind: str, obj: dict) -> int:
        uid = bot.next_update
        bot.next_update += 1
        bot.updates.append({"update_id": uid, kind: obj})
        self._updates_pushed += 1
        _wake(bot.waiters, "updates")
        return uid

    def _user_chat(self, bot: Bot, user_id: int, chat_id: int | None) -> Chat:
        user_id = int(user_id)
        if user_id <= 0:
            raise ControlError("user ids are positive")
        self.user(user_id)
        if chat_id is None or int(chat_id) == user_id:
            bot.blocked.discard(user_id)  # writing to a bot unblocks it
            return self._chat(bot, user_id, create=True)
        if int(chat_id) > 0:
            raise ControlError("a user can post only in their own private chat or in a group")
        return self._chat(bot, int(chat_id), create=True)

    def _user_post(self, token: str, user_id: int, chat_id: int | None, content: dict) -> dict:
        bot = self.bot(token)
        chat = self._user_chat(bot, user_id, chat_id)
        msg = self._store(chat, self.user(user_id), False, content)
        uid = self._push(bot, "message", msg.data)
        return {"update_id": uid, "message_id": msg.data["message_id"], "chat_id": chat.info["id"],
                "seq": self.call_seq}

    def send_text(self, token: str, user_id: int, text: str, chat_id: int | None = None) -> dict:
        content: dict[str, Any] = {"text": text}
        # Telegram marks a leading command; PTB's CommandHandler relies on it.
        if m := re.match(r"/[A-Za-z0-9_]{1,64}(@[A-Za-z0-9_]+)?", text):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": _tg_len(m.group())}]
        return self._user_post(token, user_id, chat_id, content)

    def send_contact(self, token: str, user_id: int, phone_number: str | None = None,
                     contact_user_id: int | None = -1, first_name: str | None = None,
                     chat_id: int | None = None) -> dict:
        """contact_user_id defaults to the sender (a "share my contact" button);
        pass None for a contact that is not a Telegram user."""
        user = self.user(user_id)
        if contact_user_id == -1:
            contact_user_id = user["id"]
        own = contact_user_id == user["id"]
        phone = phone_number or (self._phones.get(user["id"], f"98912{user['id'] % 10**7:07d}") if own else None)
        if not phone:
            raise ControlError("phone_number is required for someone else's contact")
        contact = {"phone_number": phone,
                   "first_name": first_name or (user["first_name"] if own else "Contact")}
        if own and "last_name" in user:
            contact["last_name"] = user["last_name"]
        if contact_user_id is not None:
            contact["user_id"] = int(contact_user_id)
        return self._user_post(token, user_id, chat_id, {"contact": contact})

    def send_location(self, token: str, user_id: int, latitude: float = DEFAULT_LOCATION[0],
                      longitude: float = DEFAULT_LOCATION[1], chat_id: int | None = None) -> dict:
        loc = {"latitude": float(latitude), "longitude": float(longitude)}
        return self._user_post(token, user_id, chat_id, {"location": loc})

    def send_photo(self, token: str, user_id: int, caption: str | None = None,
                   chat_id: int | None = None, content: bytes | str | None = None) -> dict:
        data = content.encode() if isinstance(content, str) else (content or _FAKE_JPEG)
        sizes = self._photo_sizes(self._new_file("photo", data))
        post: dict[str, Any] = {"photo": sizes}
        if caption:
            post["caption"] = caption
        return {**self._user_post(token, user_id, chat_id, post), "file_id": sizes[-1]["file_id"]}

    def send_sticker(self, token: str, user_id: int, emoji: str = "👍", chat_id: int | None = None) -> dict:
        rec = self._new_file("sticker", b"RIFF\x00\x00\x00\x00WEBP")
        sticker = {"file_id": rec.file_id, "file_unique_id": rec.unique_id, "type": "regular",
                   "width": 512, "height": 512, "is_animated": False, "is_video": False, "emoji": emoji}
        return self._user_post(token, user_id, chat_id, {"sticker": sticker})

    def send_document(self, token: str, user_id: int, file_name: str = "document.pdf",
                      content: bytes | str | None = None, mime_type: str = "application/pdf",
                      caption: str | None = None, chat_id: int | None = None) -> dict:
        data = content.encode() if isinstance(content, str) else (content or b"%PDF-1.4\n%%EOF\n")
        rec = self._new_file("document", data, file_name)
        doc = {"file_id": rec.file_id, "file_unique_id": rec.unique_id, "file_name": file_name,
               "mime_type": mime_type, "file_size": len(data)}
        post: dict[str, Any] = {"document": doc}
        if caption:
            post["caption"] = caption
        return {**self._user_post(token, user_id, chat_id, post), "file_id": rec.file_id}

    def forward(self, token: str, user_id: int, text: str, from_user_id: int | None = None,
                sender_name: str = "Hidden User", chat_id: int | None = None) -> dict:
        """A text the user forwards from someone else (forward_origin set)."""
        date = int(time.time()) - 60
        origin = ({"type": "user", "sender_user": self.user(from_user_id), "date": date}
                  if from_user_id is not None
                  else {"type": "hidden_user", "sender_user_name": sender_name, "date": date})
        return self._user_post(token, user_id, chat_id, {"text": text, "forward_origin": origin})

    def press(self, token: str, user_id: int, message_id: int, data: str,
              chat_id: int | None = None, forge: bool = False) -> dict:
        """Press an inline button; data must be on the message's current keyboard
        unless forge=True (to test the bot's handling of stale/forged data)."""
        bot = self.bot(token)
        chat = self._user_chat(bot, user_id, chat_id)
        msg = chat.msgs.get(int(message_id))
        if msg is None or msg.deleted or not msg.from_bot:
            raise ControlError(f"no bot message {message_id} in chat {chat.info['id']}")
        offered = [b.get("callback_data") for b in _inline_buttons(msg.data.get("reply_markup"))]
        if not forge and data not in offered:
            raise ControlError(f"callback_data {data!r} is not on message {message_id}; offered: {offered}")
        self._seq += 1
        cq_id = str(bot.user["id"] * 1000 + self._seq)
        bot.callbacks[cq_id] = {"chat_id": chat.info["id"], "message_id": msg.data["message_id"],
                                "user_id": int(user_id), "data": data, "answer": None}
        query = {"id": cq_id, "from": self.user(user_id), "message": dict(msg.data),
                 "chat_instance": str(zlib.crc32(f"{token}/{chat.info['id']}".encode())), "data": data}
        uid = self._push(bot, "callback_query", query)
        return {"update_id": uid, "message_id": msg.data["message_id"], "chat_id": chat.info["id"],
                "callback_query_id": cq_id, "seq": self.call_seq}

    def press_button(self, token: str, user_id: int, label: str, chat_id: int | None = None,
                     message_id: int | None = None) -> dict:
        """Tap a button by its label, the way a person would.

        Looks at the latest bot message with an inline keyboard (or message_id),
        then the current reply keyboard, then older inline keyboards.
        """
        bot = self.bot(token)
        chat = self._user_chat(bot, user_id, chat_id)
        inline = [chat.msgs[mid] for mid in reversed(chat.bot_ids)
                  if not chat.msgs[mid].deleted and _inline_buttons(chat.msgs[mid].data.get("reply_markup"))]
        if message_id is not None:
            inline = [m for m in inline if m.data["message_id"] == int(message_id)]
        reply_rows = (chat.reply_keyboard or {}).get("keyboard", [])
        for msg in inline[:1]:
            if (r := self._press_inline(token, user_id, chat, msg, label)) is not None:
                return r
        for button in (b for row in reply_rows for b in row):
            if _button_text(button) == label:
                if isinstance(button, dict) and button.get("request_contact"):
                    return self.send_contact(token, user_id, chat_id=chat_id)
                if isinstance(button, dict) and button.get("request_location"):
                    return self.send_location(token, user_id, chat_id=chat_id)
                return self.send_text(token, user_id, label, chat_id=chat_id)
        for msg in inline[1:]:
            if (r := self._press_inline(token, user_id, chat, msg, label)) is not None:
                return r
        offered = [b["text"] for m in inline for b in _inline_buttons(m.data["reply_markup"])]
        offered += [_button_text(b) for row in reply_rows for b in row]
        raise ControlError(f"no button {label!r} in chat {chat.info['id']}; visible: {offered}")

    def _press_inline(self, token: str, user_id: int, chat: Chat, msg: Msg, label: str) -> dict | None:
        for button in _inline_buttons(msg.data.get("reply_markup")):
            if button.get("text") != label:
                continue
            mid = msg.data["message_id"]
            if "callback_data" in button:
                return self.press(token, user_id, mid, button["callback_data"], chat_id=chat.info["id"])
            if "url" in button:  # a client just opens the link; the bot sees nothing
                return {"url": button["url"], "message_id": mid, "update_id": None}
            raise ControlError(f"button {label!r} is not a callback or URL button: {button}")
        return None

    # ------------------------------------------------------------ reading

    @staticmethod
    def _view(msg: Msg) -> dict:
        view = dict(msg.data)
        if msg.markup is not None:
            view["reply_markup"] = msg.markup
        view.update(from_bot=msg.from_bot, deleted=msg.deleted, edit_count=msg.edits,
                    parse_mode=msg.parse_mode, sent_text=msg.sent_text)
        return view

    def messages(self, token: str, chat_id: int, include_deleted: bool = True,
                 include_user: bool = False) -> list[dict]:
        """The chat's messages in their current state (bot's only by default)."""
        chat = self.bot(token).chats.get(int(chat_id))
        if chat is None:
            return []
        if include_user:
            msgs = chat.msgs.values()
        else:
            msgs = (chat.msgs[mid] for mid in chat.bot_ids)
        return [self._view(m) for m in msgs if include_deleted or not m.deleted]

    def last_message(self, token: str, chat_id: int) -> dict | None:
        """The newest bot message that is not deleted."""
        chat = self.bot(token).chats.get(int(chat_id))
        for mid in reversed(chat.bot_ids if chat else []):
            if not chat.msgs[mid].deleted:
                return self._view(chat.msgs[mid])
        return None

    def reply_keyboard(self, token: str, chat_id: int) -> dict | None:
        chat = self.bot(token).chats.get(int(chat_id))
        return chat.reply_keyboard if chat else None

    def chats(self, token: str) -> list[dict]:
        return [c.info for c in self.bot(token).chats.values()]

    def callback_answer(self, token: str, callback_query_id: str) -> dict | None:
        cq = self.bot(token).callbacks.get(str(callback_query_id))
        return cq["answer"] if cq else None

    def commands(self, token: str, scope: dict | None = None, language_code: str = "") -> list:
        return self.bot(token).commands.get(self._commands_key({"scope": scope, "language_code": language_code}), [])

    def pending_updates(self, token: str) -> list[dict]:
        return list(self.bot(token).updates)

    def calls(self, token: str | None = None, method: str | None = None,
              chat_id: int | None = None, since: int = 0) -> list[dict]:
        """The Bot API call log (bounded; oldest entries fall off)."""
        out = []
        for seq, t, tok, meth, params, status, cid, fault in self._calls:
            if seq <= since or (token and tok != token) or (method and meth != method) \
                    or (chat_id is not None and cid != chat_id):
                continue
            shown = {k: ({"upload": v.filename, "size": len(v.data)} if isinstance(v, Upload) else v)
                     for k, v in params.items()}
            out.append({"seq": seq, "time": t, "token": tok, "method": meth, "params": shown,
                        "status": status, "chat_id": cid, "fault": fault})
        return out

    # ------------------------------------------------------------ waiting

    async def _wait_key(self, bot: Bot, key: Any, timeout: float) -> None:
        if self.closed or timeout <= 0:
            return
        ev = bot.waiters.get(key) or bot.waiters.setdefault(key, asyncio.Event())
        try:
            await asyncio.wait_for(ev.wait(), timeout)
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


# Shared by the in-process waiters above and LocalApiClient: `watch(after, t)`
# returns a snapshot as produced by LocalApiState.watch.

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


_METHODS: dict[str, tuple[str, Callable | None]] = {}


def _register() -> None:
    S = LocalApiState
    table = {
        "getMe": S._m_get_me, "getUpdates": None,  # getUpdates is async: see get_updates
        "deleteWebhook": S._m_delete_webhook, "getWebhookInfo": S._m_get_webhook_info,
        "setWebhook": S._m_set_webhook, "logOut": S._m_true, "close": S._m_true,
        "sendMessage": S._m_send_message, "sendLocation": S._m_send_location,
        "sendContact": S._m_send_contact, "copyMessage": S._m_copy_message,
        "forwardMessage": S._m_forward_message, "editMessageText": S._m_edit_message_text,
        "editMessageCaption": S._m_edit_message_caption,
        "editMessageReplyMarkup": S._m_edit_message_reply_markup,
        "deleteMessage": S._m_delete_message, "deleteMessages": S._m_delete_messages,
        "answerCallbackQuery": S._m_answer_callback_query, "setMyCommands": S._m_set_my_commands,
        "getMyCommands": S._m_get_my_commands, "deleteMyCommands": S._m_delete_my_commands,
        "getFile": S._m_get_file, "getChat": S._m_get_chat, "getChatMember": S._m_get_chat_member,
        "sendChatAction": S._m_send_chat_action, "pinChatMessage": S._m_true,
        "unpinChatMessage": S._m_true, "setMyDescription": S._m_store_setting,
        "setMyShortDescription": S._m_store_setting, "setChatMenuButton": S._m_store_setting,
    }
    for kind in ("photo", "document", "sticker", "video", "audio", "voice", "animation"):
        table["send" + kind.title()] = lambda self, bot, p, k=kind: self._media(bot, p, k)
    _METHODS.update({name.lower(): (name, fn) for name, fn in table.items()})


_register()
