"""The Bot API methods the bot calls: sendMessage, edit*, answerCallbackQuery, getUpdates, files...

Each method checks its parameters the way Telegram does and answers with the
same JSON objects, or raises ApiError with Telegram's error description.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

from . import webhook
from .errors import ApiError, bad
from .files import FAKE_JPEG, FileStore
from .model import Bot, Chat, Msg, World, commands_key
from .params import Upload, coerce_params
from .validate import check_markup, render_text

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_CONTENT_KEYS = ("text", "entities", "caption", "caption_entities", "photo", "document", "sticker",
                 "video", "audio", "voice", "animation", "location", "contact")
_MEDIA = ("photo", "document", "sticker", "video", "audio", "voice", "animation")


class BotApi:
    """Runs Bot API methods against the world; the HTTP server and tests call it."""

    def __init__(self, world: World, files: FileStore):
        self.world, self.files = world, files
        self._texts: dict[str, str] = {}

    def _shared(self, text: str | None) -> str | None:
        """One copy of each recent text: a broadcast stores the same text in
        100,000 chats, and each parsed request brings its own copy."""
        if text is None:
            return None
        kept = self._texts.get(text)
        if kept is None:
            if len(self._texts) >= 256:
                self._texts.clear()
            kept = self._texts[text] = text
        return kept

    @staticmethod
    def method_name(name: str) -> str | None:
        """Canonical spelling of a Bot API method (Telegram ignores case)."""
        entry = _METHODS.get(name.lower())
        return entry[0] if entry else None

    def call(self, token: str, method: str, params: dict) -> Any:
        """Run one (non-getUpdates) Bot API method; raises ApiError like Telegram."""
        entry = _METHODS.get(method.lower())
        if entry is None:
            raise ApiError(404, "Not Found")
        if entry[1] is None:
            raise TypeError("getUpdates long-polls: await get_updates() instead")
        return entry[1](self, self.world.bot(token), coerce_params(params))

    async def get_updates(self, token: str, params: dict) -> list[dict]:
        p = coerce_params(params)
        world = self.world
        bot = world.bot(token)
        if bot.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        world.confirm(bot, p.get("offset"))
        limit = max(1, min(100, int(p.get("limit") or 100)))
        timeout = float(p.get("timeout") or 0)
        if not bot.updates and timeout > 0 and not world.closed:
            # A newer poll releases older ones: their clients are usually gone
            # (PTB cancels its request on stop) and would otherwise linger.
            bot.poll_gen = gen = bot.poll_gen + 1
            bot.wake("updates")
            bot.polls_parked += 1
            bot.wake("polling")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            try:
                while not bot.updates and gen == bot.poll_gen and not world.closed:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    try:
                        await asyncio.wait_for(bot.waiter("updates").wait(), remaining)
                    except TimeoutError:
                        break
            finally:
                bot.polls_parked -= 1
        return world.hand_out(bot, [bot.updates[i] for i in range(min(limit, len(bot.updates)))])

    # ---------------------------------------------------------- helpers

    def _target(self, bot: Bot, chat_id: Any, *, check_blocked: bool = True) -> Chat:
        if chat_id is None or chat_id == "":
            raise bad("chat_id is empty")
        if not isinstance(chat_id, int):
            raise bad("chat not found")
        if check_blocked and chat_id in bot.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user" if chat_id > 0
                           else "Forbidden: bot was kicked from the group chat")
        # Sending to a stranger is a real bug that Telegram rejects too.
        if not self.world.knows(bot, chat_id):
            raise bad("chat not found")
        return self.world.chat(bot, chat_id, create=True)

    def _find(self, chat: Chat, message_id: Any, missing: str) -> Msg:
        msg = chat.msgs.get(message_id) if isinstance(message_id, int) else None
        if msg is None or msg.deleted:
            raise bad(missing)
        return msg

    def _bot_send(self, bot: Bot, p: dict, content: dict, *, sent_text: str | None = None) -> dict:
        chat = self._target(bot, p.get("chat_id"))
        markup = check_markup(p.get("reply_markup"))
        reply = p.get("reply_parameters") or {}
        reply_id = reply.get("message_id", p.get("reply_to_message_id"))
        reply_to = None
        if reply_id is not None:
            reply_to = chat.msgs.get(int(reply_id))
            if reply_to is None or reply_to.deleted:
                if not (reply.get("allow_sending_without_reply") or p.get("allow_sending_without_reply")):
                    raise bad("message to be replied not found")
                reply_to = None
        msg = self.world.store(chat, bot.user, True, content, markup, reply_to)
        msg.parse_mode, msg.sent_text = p.get("parse_mode"), sent_text
        return msg.data

    def _m_send_message(self, bot: Bot, p: dict) -> dict:
        self._target(bot, p.get("chat_id"))  # chat errors win over text errors, as in Telegram
        if not p.get("text"):
            raise bad("message text is empty")
        text = self._shared(render_text(p["text"], p.get("parse_mode")))
        if not text.strip():
            raise bad("message text is empty")
        return self._bot_send(bot, p, {"text": text}, sent_text=self._shared(p["text"]))

    def _media(self, bot: Bot, p: dict, kind: str) -> dict:
        value = p.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            value = p.get(value[len("attach://"):])
        if value is None or value == "":
            raise bad(f"there is no {kind} in the request")
        self._target(bot, p.get("chat_id"))
        if isinstance(value, Upload):
            rec = self.files.new(kind, value.data, value.filename)
            name, mime = value.filename, value.content_type
        else:
            # Unknown ids and URLs are accepted with placeholder bytes: handy
            # for fixtures, though real Telegram would reject a bogus file_id.
            rec = self.files.get(value) or self.files.new(
                kind, FAKE_JPEG, file_id=None if value.startswith(("http://", "https://")) else value)
            name, mime = "file", "application/octet-stream"
        content: dict[str, Any]
        if kind == "photo":
            content = {"photo": rec.sizes or self.files.photo_sizes(rec)}
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
            content["caption"] = self._shared(render_text(p["caption"], p.get("parse_mode"), caption=True))
            sent = self._shared(p["caption"])
        return self._bot_send(bot, p, content, sent_text=sent)

    def _m_send_location(self, bot: Bot, p: dict) -> dict:
        if not isinstance(p.get("latitude"), float | int) or not isinstance(p.get("longitude"), float | int):
            raise bad("wrong location specified")
        return self._bot_send(bot, p, {"location": {"latitude": p["latitude"], "longitude": p["longitude"]}})

    def _m_send_contact(self, bot: Bot, p: dict) -> dict:
        if not p.get("phone_number") or not p.get("first_name"):
            raise bad("phone number and first name are required")
        contact = {"phone_number": str(p["phone_number"]), "first_name": p["first_name"]}
        return self._bot_send(bot, p, {"contact": contact})

    def _source(self, bot: Bot, p: dict, what: str) -> Msg:
        src_chat = bot.chats.get(p.get("from_chat_id"))
        if src_chat is None:
            raise bad("chat not found")
        return self._find(src_chat, p.get("message_id"), f"message to {what} not found")

    def _m_copy_message(self, bot: Bot, p: dict) -> dict:
        src = self._source(bot, p, "copy")
        content = {k: src.data[k] for k in _CONTENT_KEYS if k in src.data}
        if "caption" in p:
            content["caption"] = self._shared(render_text(p["caption"], p.get("parse_mode"), caption=True))
        msg = self._bot_send(bot, p, content)
        return {"message_id": msg["message_id"]}

    def _m_forward_message(self, bot: Bot, p: dict) -> dict:
        src = self._source(bot, p, "forward")
        content = {k: src.data[k] for k in _CONTENT_KEYS if k in src.data}
        content["forward_origin"] = {"type": "user", "sender_user": src.data["from"], "date": src.data["date"]}
        return self._bot_send(bot, {**p, "reply_markup": None}, content)

    def _editable(self, bot: Bot, p: dict) -> tuple[Chat, Msg]:
        if p.get("inline_message_id"):
            raise bad("MESSAGE_ID_INVALID")  # inline mode is not simulated
        chat = self._target(bot, p.get("chat_id"))
        msg = self._find(chat, p.get("message_id"), "message to edit not found")
        if not msg.from_bot:
            raise bad("message can't be edited")
        return chat, msg

    @staticmethod
    def _edit_markup(p: dict) -> dict | None:
        markup = check_markup(p.get("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise bad("inline keyboard expected")
        return markup

    @staticmethod
    def _apply_edit(msg: Msg, key: str | None, value: Any, markup: dict | None) -> dict:
        """Edits replace the keyboard too: omitting reply_markup removes it."""
        data = msg.data
        if (key is None or data.get(key) == value) and data.get("reply_markup") == markup:
            raise bad(NOT_MODIFIED)
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
            raise bad("message text is empty")
        if "text" not in msg.data:
            raise bad("there is no text in the message to edit")
        text = render_text(p["text"], p.get("parse_mode"))
        data = self._apply_edit(msg, "text", text, self._edit_markup(p))
        msg.parse_mode, msg.sent_text = p.get("parse_mode"), p["text"]
        return data

    def _m_edit_message_caption(self, bot: Bot, p: dict) -> dict:
        _, msg = self._editable(bot, p)
        if not any(k in msg.data for k in ("photo", "document", "video", "audio", "voice", "animation")):
            raise bad("there is no caption in the message to edit")
        caption = render_text(p.get("caption"), p.get("parse_mode"), caption=True)
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
            raise bad("query is too old and response timeout expired or query ID is invalid")
        cq["answer"] = {"text": p.get("text"), "show_alert": bool(p.get("show_alert")),
                        "url": p.get("url"), "cache_time": p.get("cache_time")}
        return True

    def _m_set_my_commands(self, bot: Bot, p: dict) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise bad("commands must be an array")
        for c in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(c.get("command", ""))):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(c.get("description", ""))) <= 256:
                raise bad("command description is empty")
        bot.commands[commands_key(p)] = commands
        return True

    def _m_get_my_commands(self, bot: Bot, p: dict) -> list:
        return bot.commands.get(commands_key(p), [])

    def _m_delete_my_commands(self, bot: Bot, p: dict) -> bool:
        bot.commands.pop(commands_key(p), None)
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
        if not self.world.is_user(bot, uid):
            raise bad("user not found")
        # A lookup, not a registration: an add_users user stays this bot's alone.
        return {"status": "member", "user": self.world.users.get(uid) or self.world.default_user(uid)}

    def _m_send_chat_action(self, bot: Bot, p: dict) -> bool:
        self._target(bot, p.get("chat_id"))
        if not p.get("action"):
            raise bad("wrong parameter action in request")
        return True

    def _m_get_file(self, bot: Bot, p: dict) -> dict:
        rec = self.files.get(str(p.get("file_id")))
        if rec is None:
            raise bad("invalid file_id")
        return {"file_id": rec.file_id, "file_unique_id": rec.unique_id,
                "file_size": len(rec.data), "file_path": rec.path}

    def _m_get_me(self, bot: Bot, p: dict) -> dict:
        return {**bot.user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    def _m_delete_webhook(self, bot: Bot, p: dict) -> bool:
        if p.get("drop_pending_updates"):
            self.world.confirm(bot, bot.next_update)
        bot.webhook = None  # its delivery task ends
        bot.wake("updates")
        return True

    def _m_get_webhook_info(self, bot: Bot, p: dict) -> dict:
        return {"url": (bot.webhook or {}).get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(bot.updates)}

    def _m_set_webhook(self, bot: Bot, p: dict) -> bool:
        """Deliveries to the URL (webhook.py); plain http only to this machine (Telegram: https)."""
        url = str(p.get("url") or "")
        if not url:
            return self._m_delete_webhook(bot, {})
        if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad("bad webhook: secret token contains unallowed characters")
        bot.webhook = {"url": url, "secret_token": secret, "max_connections": p.get("max_connections", 40),
                       "allowed_updates": p.get("allowed_updates")}
        if bot.webhook_task is None or bot.webhook_task.done():
            bot.webhook_task = asyncio.get_running_loop().create_task(webhook.deliver(self.world, bot))
        return True

    def _m_true(self, bot: Bot, p: dict) -> bool:
        return True

    def _m_store_setting(self, bot: Bot, p: dict) -> bool:
        bot.settings.update(p)
        return True


_METHODS: dict[str, tuple[str, Callable | None]] = {}


def _register() -> None:
    B = BotApi
    table = {
        "getMe": B._m_get_me, "getUpdates": None,  # getUpdates is async: see get_updates
        "deleteWebhook": B._m_delete_webhook, "getWebhookInfo": B._m_get_webhook_info,
        "setWebhook": B._m_set_webhook, "logOut": B._m_true, "close": B._m_true,
        "sendMessage": B._m_send_message, "sendLocation": B._m_send_location,
        "sendContact": B._m_send_contact, "copyMessage": B._m_copy_message,
        "forwardMessage": B._m_forward_message, "editMessageText": B._m_edit_message_text,
        "editMessageCaption": B._m_edit_message_caption,
        "editMessageReplyMarkup": B._m_edit_message_reply_markup,
        "deleteMessage": B._m_delete_message, "deleteMessages": B._m_delete_messages,
        "answerCallbackQuery": B._m_answer_callback_query, "setMyCommands": B._m_set_my_commands,
        "getMyCommands": B._m_get_my_commands, "deleteMyCommands": B._m_delete_my_commands,
        "getFile": B._m_get_file, "getChat": B._m_get_chat, "getChatMember": B._m_get_chat_member,
        "sendChatAction": B._m_send_chat_action, "pinChatMessage": B._m_true,
        "unpinChatMessage": B._m_true, "setMyDescription": B._m_store_setting,
        "setMyShortDescription": B._m_store_setting, "setChatMenuButton": B._m_store_setting,
    }
    for kind in _MEDIA:
        table["send" + kind.title()] = lambda self, bot, p, k=kind: self._media(bot, p, k)
    _METHODS.update({name.lower(): (name, fn) for name, fn in table.items()})


_register()
