"""The simulated Telegram world: bots, people, groups, chats, messages, update queues, call log.

Data is indexed by (bot, chat) because the benchmark pushes ~1,000 updates/s
through it: nothing scans all chats or all messages on the hot path.
Objects handed to the bot (Message, Update, ...) are plain dicts shaped exactly
like Telegram's JSON, so PTB parses them with its normal ``de_json``.
"""

from __future__ import annotations

import asyncio
import json
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .errors import ControlError
from .params import Upload


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
    # Survives reset(): a running poller keeps its offset. Starts from the clock, as a bot's ids keep
    # growing across restarts of the server, like Telegram's (the bot remembers handled ids).
    next_update: int = field(default_factory=lambda: int(time.time() * 1000))
    # Update ids handed out by getUpdates and not yet confirmed, and how often each update was
    # handed out when more than once (a poller restarted before confirming gets them again).
    handed_out: set[int] = field(default_factory=set)
    redelivered: dict[int, int] = field(default_factory=dict)
    poll_gen: int = 0
    polls_parked: int = 0  # getUpdates calls waiting in their long poll right now
    callbacks: dict[str, dict] = field(default_factory=dict)
    commands: dict[str, list] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    # Id ranges of users known to this bot without a dict each (add_users): a
    # benchmark's 100,000 citizens cost nothing until the bot writes to them.
    known_ranges: list[range] = field(default_factory=list)
    chat_seq: dict[int, int] = field(default_factory=dict)  # last call touching a chat
    # Lazily created events keyed by "updates", "calls" or a chat id; set and
    # dropped on change, so an idle key costs nothing per call.
    waiters: dict[Any, asyncio.Event] = field(default_factory=dict)
    # setWebhook's url, secret_token, max_connections (and deliveries counted), None: getUpdates; the
    # task posting the updates there (webhook.py).
    webhook: dict | None = None
    webhook_task: Any = None

    def waiter(self, key: Any) -> asyncio.Event:
        return self.waiters.get(key) or self.waiters.setdefault(key, asyncio.Event())

    def wake(self, key: Any) -> None:
        ev = self.waiters.pop(key, None)
        if ev is not None:
            ev.set()


def bot_id(token: str) -> int:
    # Real tokens are "<bot id>:<secret>"; anything else gets a stable hash.
    head = token.split(":", 1)[0]
    return int(head) if head.isdigit() else 1_000_000_000 + zlib.crc32(token.encode()) % 10**9


def commands_key(p: dict) -> str:
    """Commands are stored per scope and language, as setMyCommands takes them."""
    scope = p.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True) + "|" + (p.get("language_code") or "")


def view(msg: Msg) -> dict:
    """A message as tests see it: the Bot API object plus what only the server knows."""
    out = dict(msg.data)
    if msg.markup is not None:
        out["reply_markup"] = msg.markup
    out.update(from_bot=msg.from_bot, deleted=msg.deleted, edit_count=msg.edits,
               parse_mode=msg.parse_mode, sent_text=msg.sent_text)
    return out


class World:
    """Bots, people and groups; each bot's chats, messages and update queue.

    LocalApiState is a World; the Bot API methods and the simulated users act on it.
    """

    def __init__(self, bots: dict[str, str] | None = None):
        self.closed = False
        self.bots: dict[str, Bot] = {}
        self.users: dict[int, dict] = {}
        self.phones: dict[int, str] = {}
        self.groups: dict[int, dict] = {}
        self.updates_pushed = self.updates_confirmed = self.updates_redelivered = 0
        self._usernames = dict(bots or {})
        self._seq = 0  # file ids, callback ids

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def forget(self) -> None:
        """Forget chats, people and groups; update ids keep counting."""
        for bot in self.bots.values():
            # Cleared in place, and update ids keep counting: a PTB poller that
            # is mid long-poll holds this object and its confirmed offset.
            for part in (bot.chats, bot.updates, bot.callbacks, bot.commands, bot.settings, bot.blocked,
                         bot.known_ranges, bot.handed_out, bot.redelivered):
                part.clear()
        self.users.clear(); self.phones.clear(); self.groups.clear()

    def close(self) -> None:
        """Release every long poll and waiter so the server can stop at once."""
        self.closed = True
        for bot in self.bots.values():
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
        bot = self.bots.get(token)
        if bot is None:
            username = self._usernames.get(token, "test_bot")
            user = {"id": bot_id(token), "is_bot": True,
                    "first_name": username.replace("_", " ").title(), "username": username}
            bot = self.bots[token] = Bot(token, user)
        return bot

    def add_user(self, user_id: int, first_name: str | None = None, username: str | None = None,
                 last_name: str | None = None, phone_number: str | None = None,
                 language_code: str | None = None) -> dict:
        user_id = int(user_id)
        if user_id <= 0:
            raise ControlError("user ids are positive")
        user = self.users.get(user_id)
        if user is None:
            user = self.users[user_id] = self.default_user(user_id)
        for key, value in (("first_name", first_name), ("username", username),
                           ("last_name", last_name), ("language_code", language_code)):
            if value is not None:
                user[key] = value
        if phone_number is not None:
            self.phones[user_id] = phone_number
        for bot in self.bots.values():  # keep existing private chats' names current
            if (chat := bot.chats.get(user_id)) is not None:
                chat.info = self._private_info(user)
        return user

    def add_group(self, chat_id: int, title: str | None = None, type: str | None = None) -> dict:
        chat_id = int(chat_id)
        if chat_id >= 0:
            raise ControlError("group chat ids are negative")
        kind = type or ("supergroup" if chat_id <= -1_000_000_000_000 else "group")
        info = self.groups.setdefault(chat_id, {"id": chat_id, "type": kind})
        info["type"] = kind
        info["title"] = title or info.get("title") or f"Group {-chat_id}"
        return info

    def add_users(self, token: str, first_user_id: int, count: int) -> dict:
        """Make users first_user_id .. first_user_id+count-1 known to the bot, as if
        each had started it long ago, without any update. Only the id range is
        stored: the user and the private chat appear when the bot first writes
        there (and from then on the user is known to the world, like add_user)."""
        first, count = int(first_user_id), int(count)
        if first <= 0:
            raise ControlError("user ids are positive")
        if count < 0:
            raise ControlError("count must not be negative")
        bot = self.bot(token)
        # Kept sorted and merged, so a bench adding users in many batches still
        # answers "is this a known user?" with a handful of range checks.
        merged: list[range] = []
        for r in sorted([*bot.known_ranges, range(first, first + count)], key=lambda r: r.start):
            if merged and r.start <= merged[-1].stop:
                merged[-1] = range(merged[-1].start, max(merged[-1].stop, r.stop))
            elif r:
                merged.append(r)
        bot.known_ranges[:] = merged
        return {"first_user_id": first, "count": count}

    def user(self, user_id: int) -> dict:
        return self.users.get(int(user_id)) or self.add_user(user_id)

    @staticmethod
    def default_user(user_id: int) -> dict:
        return {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}

    def is_user(self, bot: Bot, user_id: Any) -> bool:
        """A user the world has a record of, or one of the bot's add_users ranges."""
        return user_id in self.users or (isinstance(user_id, int) and user_id > 0
                                         and any(user_id in r for r in bot.known_ranges))

    @staticmethod
    def _private_info(user: dict) -> dict:
        info = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                info[key] = user[key]
        return info

    # ------------------------------------------- chats, messages, updates

    def chat(self, bot: Bot, chat_id: int, *, create: bool) -> Chat | None:
        chat = bot.chats.get(chat_id)
        if chat is None and create:
            if chat_id > 0:
                info = self._private_info(self.user(chat_id))
            else:
                info = self.groups.get(chat_id) or self.add_group(chat_id)
            chat = bot.chats[chat_id] = Chat(info)
        return chat

    def knows(self, bot: Bot, chat_id: int) -> bool:
        """Private chats exist once the user is known (has acted or was added)."""
        return chat_id in bot.chats or chat_id in self.groups or self.is_user(bot, chat_id)

    @staticmethod
    def store(chat: Chat, sender: dict, from_bot: bool, content: dict,
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

    def push(self, bot: Bot, kind: str, obj: dict) -> int:
        return self.push_fields(bot, {kind: obj})

    def push_fields(self, bot: Bot, fields: dict) -> int:
        """Queue an update made of `fields` under the next update_id; returns that id."""
        uid = bot.next_update
        bot.next_update += 1
        bot.updates.append({"update_id": uid, **fields})
        self.updates_pushed += 1
        bot.wake("updates")
        return uid

    def confirm(self, bot: Bot, offset: int | None) -> None:
        """Telegram's offset: updates below it are forgotten. Without one, nothing is, and the
        next getUpdates hands out the unconfirmed updates again, delivered before or not."""
        if not offset:
            return
        q = bot.updates
        if offset < 0:  # Telegram: keep only the last -offset updates
            while len(q) > -offset:
                bot.handed_out.discard(q.popleft()["update_id"])
                self.updates_confirmed += 1
            return
        while q and q[0]["update_id"] < offset:
            bot.handed_out.discard(q.popleft()["update_id"])
            self.updates_confirmed += 1

    def hand_out(self, bot: Bot, updates: list[dict]) -> list[dict]:
        """Counts what a getUpdates answer delivers (again)."""
        for update in updates:
            uid = update["update_id"]
            if uid in bot.handed_out:
                bot.redelivered[uid] = bot.redelivered.get(uid, 1) + 1
                self.updates_redelivered += 1
            else:
                bot.handed_out.add(uid)
        return updates

    def update_deliveries(self, token: str) -> dict:
        """What getUpdates handed out: "unconfirmed", the ids delivered and not yet confirmed
        (a poller that dies now gets them again on restart), and "redelivered", how many times
        each update delivered more than once was (keys are strings, as over JSON)."""
        bot = self.bot(token)
        return {"unconfirmed": sorted(bot.handed_out),
                "redelivered": {str(uid): n for uid, n in sorted(bot.redelivered.items())}}

    # ------------------------------------------------------------ reading

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
        return [view(m) for m in msgs if include_deleted or not m.deleted]

    def last_message(self, token: str, chat_id: int) -> dict | None:
        """The newest bot message that is not deleted."""
        chat = self.bot(token).chats.get(int(chat_id))
        for mid in reversed(chat.bot_ids if chat else []):
            if not chat.msgs[mid].deleted:
                return view(chat.msgs[mid])
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
        return self.bot(token).commands.get(commands_key({"scope": scope, "language_code": language_code}), [])

    def pending_updates(self, token: str) -> list[dict]:
        return list(self.bot(token).updates)

    def deliveries(self, token: str, marker: str | None = None, with_chat_ids: bool = False,
                   max_duplicates: int = 100) -> dict:
        """What the bot delivered to private chats, for checking a broadcast: its
        messages (deleted ones too: they did arrive), only those whose text or
        caption contains `marker` if given. Chats with 2+ are listed under
        "duplicates" (the first max_duplicates by chat id; "duplicate_chats"
        counts them all); "chat_ids" lists every chat with 1+ if asked.
        Keys are strings, as they arrive over JSON."""
        counts: dict[int, int] = {}
        for chat_id, chat in self.bot(token).chats.items():
            if chat_id <= 0 or not chat.bot_ids:
                continue
            if marker is None:
                n = len(chat.bot_ids)
            else:
                msgs = chat.msgs
                n = 0
                for mid in chat.bot_ids:
                    data = msgs[mid].data
                    if marker in (data.get("text") or data.get("caption") or ""):
                        n += 1
            if n:
                counts[chat_id] = n
        histogram: dict[int, int] = {}
        for n in counts.values():
            histogram[n] = histogram.get(n, 0) + 1
        dups = sorted(cid for cid, n in counts.items() if n >= 2)
        out: dict[str, Any] = {
            "chats": len(counts), "messages": sum(counts.values()), "duplicate_chats": len(dups),
            "duplicates": {str(cid): counts[cid] for cid in dups[:max(0, int(max_duplicates))]},
            "per_chat_counts_histogram": {str(n): histogram[n] for n in sorted(histogram)},
        }
        if with_chat_ids:
            out["chat_ids"] = sorted(counts)
        return out


class CallLog:
    """The bounded log of Bot API calls, per-method status counts and in-flight calls."""

    def __init__(self, size: int = 20_000):
        self.seq = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._entries: deque[tuple] = deque(maxlen=size)
        self._stats: dict[str, dict[str, int]] = {}

    def begin(self) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def end(self) -> None:
        self.in_flight -= 1

    def add(self, token: str, method: str, params: dict, status: int, chat_id: int | None,
            fault: str | None) -> int:
        self.seq = seq = self.seq + 1
        self._entries.append((seq, time.time(), token, method, params, status, chat_id, fault))
        per_method = self._stats.setdefault(method, {})
        key = str(status)
        per_method[key] = per_method.get(key, 0) + 1
        return seq

    def query(self, token: str | None = None, method: str | None = None,
              chat_id: int | None = None, since: int = 0) -> list[dict]:
        out = []
        for seq, t, tok, meth, params, status, cid, fault in self._entries:
            if seq <= since or (token and tok != token) or (method and meth != method) \
                    or (chat_id is not None and cid != chat_id):
                continue
            shown = {k: ({"upload": v.filename, "size": len(v.data)} if isinstance(v, Upload) else v)
                     for k, v in params.items()}
            out.append({"seq": seq, "time": t, "token": tok, "method": meth, "params": shown,
                        "status": status, "chat_id": cid, "fault": fault})
        return out

    def per_method(self) -> dict[str, dict[str, int]]:
        return {m: dict(v) for m, v in self._stats.items()}

    def total(self) -> int:
        return sum(sum(v.values()) for v in self._stats.values())

    def clear(self) -> None:
        self._entries.clear()

    def reset_stats(self) -> None:
        self._stats = {}
        self.max_in_flight = self.in_flight
