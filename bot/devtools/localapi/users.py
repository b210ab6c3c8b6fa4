"""What simulated users do: write, press buttons, share contacts, locations, photos, block the bot.

Each action stores the user's message (or callback query) in the chat and
queues the Update the bot will receive on its next getUpdates.
"""

from __future__ import annotations

import random
import re
import time
import zlib
from typing import Any

from .errors import ControlError
from .files import FAKE_JPEG, FileStore
from .model import Bot, Chat, Msg, World

# What a forwarded copy carries of the original (besides the forward_origin).
FORWARDED_KEYS = ("text", "entities", "caption", "caption_entities", "photo", "document", "video", "audio",
                  "voice", "animation", "location", "contact", "sticker")
from .validate import button_text, inline_buttons, tg_len

DEFAULT_LOCATION = (35.8027, 51.4347)  # Tajrish, District 1


class UserActions(World):
    """The simulated users' side of LocalApiState (which provides files and call_seq)."""

    files: FileStore
    call_seq: int

    def block(self, token: str, chat_id: int) -> bool:
        """The user blocks the bot: every call aimed at the chat answers 403."""
        self.bot(token).blocked.add(int(chat_id))
        return True

    def unblock(self, token: str, chat_id: int) -> bool:
        self.bot(token).blocked.discard(int(chat_id))
        return True

    def block_share(self, token: str, first_user_id: int, count: int, share: float, seed: int = 0) -> dict:
        """Block the bot for round(share * count) users of first_user_id ..
        first_user_id+count-1, picked by `seed` alone (same seed, same users);
        returns how many and their ids, sorted. Others keep their state."""
        first, count, share = int(first_user_id), int(count), float(share)
        if first <= 0 or count < 0:
            raise ControlError("user ids are positive and count is not negative")
        if not 0.0 <= share <= 1.0:
            raise ControlError("share is a fraction between 0 and 1")
        ids = sorted(random.Random(seed).sample(range(first, first + count), round(share * count)))
        self.bot(token).blocked.update(ids)
        return {"blocked": len(ids), "user_ids": ids}

    def _user_chat(self, bot: Bot, user_id: int, chat_id: int | None) -> Chat:
        user_id = int(user_id)
        if user_id <= 0:
            raise ControlError("user ids are positive")
        self.user(user_id)
        if chat_id is None or int(chat_id) == user_id:
            bot.blocked.discard(user_id)  # writing to a bot unblocks it
            return self.chat(bot, user_id, create=True)
        if int(chat_id) > 0:
            raise ControlError("a user can post only in their own private chat or in a group")
        return self.chat(bot, int(chat_id), create=True)

    def _user_post(self, token: str, user_id: int, chat_id: int | None, content: dict,
                   reply_to_message_id: int | None = None) -> dict:
        bot = self.bot(token)
        chat = self._user_chat(bot, user_id, chat_id)
        reply_to = self._replied(chat, reply_to_message_id)
        msg = self.store(chat, self.user(user_id), False, content, reply_to=reply_to)
        uid = self.push(bot, "message", msg.data)
        return {"update_id": uid, "message_id": msg.data["message_id"], "chat_id": chat.info["id"],
                "seq": self.call_seq}

    @staticmethod
    def _replied(chat, reply_to_message_id: int | None):
        """The message a user's text replies to: the one named, or else — as a Telegram client
        does after a ForceReply — the bot's newest message when it asked for a reply."""
        if reply_to_message_id is not None:
            msg = chat.msgs.get(int(reply_to_message_id))
            if msg is None:
                raise ControlError(f"no message {reply_to_message_id} in chat {chat.info['id']}")
            return msg
        if chat.bot_ids:
            newest = chat.msgs[chat.bot_ids[-1]]
            if newest.markup and newest.markup.get("force_reply") and chat.bot_ids[-1] > chat.last_user_msg:
                return newest
        return None

    def send_text(self, token: str, user_id: int, text: str, chat_id: int | None = None,
                  reply_to_message_id: int | None = None) -> dict:
        content: dict[str, Any] = {"text": text}
        # Telegram marks a leading command; PTB's CommandHandler relies on it.
        if m := re.match(r"/[A-Za-z0-9_]{1,64}(@[A-Za-z0-9_]+)?", text):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": tg_len(m.group())}]
        return self._user_post(token, user_id, chat_id, content, reply_to_message_id)

    def send_contact(self, token: str, user_id: int, phone_number: str | None = None,
                     contact_user_id: int | None = -1, first_name: str | None = None,
                     chat_id: int | None = None) -> dict:
        """contact_user_id defaults to the sender (a "share my contact" button);
        pass None for a contact that is not a Telegram user."""
        user = self.user(user_id)
        if contact_user_id == -1:
            contact_user_id = user["id"]
        own = contact_user_id == user["id"]
        phone = phone_number or (self.phones.get(user["id"], f"98912{user['id'] % 10**7:07d}") if own else None)
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
        data = content.encode() if isinstance(content, str) else (content or FAKE_JPEG)
        sizes = self.files.photo_sizes(self.files.new("photo", data))
        post: dict[str, Any] = {"photo": sizes}
        if caption:
            post["caption"] = caption
        return {**self._user_post(token, user_id, chat_id, post), "file_id": sizes[-1]["file_id"]}

    def send_voice(self, token: str, user_id: int, duration: int = 42, chat_id: int | None = None,
                   content: bytes | None = None) -> dict:
        """A voice note (OGG/Opus as the messengers send it; the bytes here are a stand-in)."""
        data = content or b"OggS\x00\x02" + bytes(64)
        rec = self.files.new("voice", data)
        voice = {"file_id": rec.file_id, "file_unique_id": rec.unique_id, "duration": int(duration),
                 "mime_type": "audio/ogg", "file_size": len(data)}
        return {**self._user_post(token, user_id, chat_id, {"voice": voice}), "file_id": rec.file_id}

    def send_sticker(self, token: str, user_id: int, emoji: str = "👍", chat_id: int | None = None) -> dict:
        rec = self.files.new("sticker", b"RIFF\x00\x00\x00\x00WEBP")
        sticker = {"file_id": rec.file_id, "file_unique_id": rec.unique_id, "type": "regular",
                   "width": 512, "height": 512, "is_animated": False, "is_video": False, "emoji": emoji}
        return self._user_post(token, user_id, chat_id, {"sticker": sticker})

    def send_document(self, token: str, user_id: int, file_name: str = "document.pdf",
                      content: bytes | str | None = None, mime_type: str = "application/pdf",
                      caption: str | None = None, chat_id: int | None = None) -> dict:
        data = content.encode() if isinstance(content, str) else (content or b"%PDF-1.4\n%%EOF\n")
        rec = self.files.new("document", data, file_name)
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

    def forward_message(self, token: str, user_id: int, message_id: int, to_chat_id: int) -> dict:
        """The user forwards one of the bot's messages from their private chat to another chat
        (an ambassador's card into a neighbourhood group), as Telegram does since Bot API 4.3:
        text and media with forward_origin, and the inline keyboard only if every button is a
        url or login_url button (callback buttons would reach a bot that may not be there)."""
        bot = self.bot(token)
        source = self.chat(bot, int(user_id), create=False)
        msg = source.msgs.get(int(message_id)) if source is not None else None
        if msg is None or msg.deleted:
            raise ControlError(f"no message {message_id} in the private chat of user {user_id}")
        content = {k: msg.data[k] for k in FORWARDED_KEYS if k in msg.data}
        content["forward_origin"] = {"type": "user", "sender_user": msg.data["from"], "date": msg.data["date"]}
        markup = msg.data.get("reply_markup")
        buttons = [button for row in (markup or {}).get("inline_keyboard", []) for button in row]
        survives = bool(buttons) and all("url" in button or "login_url" in button for button in buttons)
        target = self.chat(bot, int(to_chat_id), create=True)
        copy = self.store(target, self.user(int(user_id)), False, content, markup if survives else None)
        return dict(copy.data)

    def send_raw_update(self, token: str, update: dict) -> dict:
        """Queue an update exactly as given, only its update_id assigned here: shapes no action
        above produces and the bot must survive, such as an older Bot API's (Bale's) poll without
        options' persistent_id or a "kicked" chat member without until_date."""
        if not isinstance(update, dict) or not update or "update_id" in update:
            raise ControlError("update is a JSON object of the update's fields, without update_id")
        return {"update_id": self.push_fields(self.bot(token), update), "seq": self.call_seq}

    def press(self, token: str, user_id: int, message_id: int, data: str,
              chat_id: int | None = None, forge: bool = False) -> dict:
        """Press an inline button; data must be on the message's current keyboard
        unless forge=True (to test the bot's handling of stale/forged data)."""
        bot = self.bot(token)
        chat = self._user_chat(bot, user_id, chat_id)
        msg = chat.msgs.get(int(message_id))
        if msg is None or msg.deleted or not msg.from_bot:
            raise ControlError(f"no bot message {message_id} in chat {chat.info['id']}")
        offered = [b.get("callback_data") for b in inline_buttons(msg.data.get("reply_markup"))]
        if not forge and data not in offered:
            raise ControlError(f"callback_data {data!r} is not on message {message_id}; offered: {offered}")
        cq_id = str(bot.user["id"] * 1000 + self.next_seq())
        bot.callbacks[cq_id] = {"chat_id": chat.info["id"], "message_id": msg.data["message_id"],
                                "user_id": int(user_id), "data": data, "answer": None}
        query = {"id": cq_id, "from": self.user(user_id), "message": dict(msg.data),
                 "chat_instance": str(zlib.crc32(f"{token}/{chat.info['id']}".encode())), "data": data}
        uid = self.push(bot, "callback_query", query)
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
                  if not chat.msgs[mid].deleted and inline_buttons(chat.msgs[mid].data.get("reply_markup"))]
        if message_id is not None:
            inline = [m for m in inline if m.data["message_id"] == int(message_id)]
        reply_rows = (chat.reply_keyboard or {}).get("keyboard", [])
        for msg in inline[:1]:
            if (r := self._press_inline(token, user_id, chat, msg, label)) is not None:
                return r
        for button in (b for row in reply_rows for b in row):
            if button_text(button) == label:
                if isinstance(button, dict) and button.get("request_contact"):
                    return self.send_contact(token, user_id, chat_id=chat_id)
                if isinstance(button, dict) and button.get("request_location"):
                    return self.send_location(token, user_id, chat_id=chat_id)
                return self.send_text(token, user_id, label, chat_id=chat_id)
        for msg in inline[1:]:
            if (r := self._press_inline(token, user_id, chat, msg, label)) is not None:
                return r
        offered = [b["text"] for m in inline for b in inline_buttons(m.data["reply_markup"])]
        offered += [button_text(b) for row in reply_rows for b in row]
        raise ControlError(f"no button {label!r} in chat {chat.info['id']}; visible: {offered}")

    def _press_inline(self, token: str, user_id: int, chat: Chat, msg: Msg, label: str) -> dict | None:
        for button in inline_buttons(msg.data.get("reply_markup")):
            if button.get("text") != label:
                continue
            mid = msg.data["message_id"]
            if "callback_data" in button:
                return self.press(token, user_id, mid, button["callback_data"], chat_id=chat.info["id"])
            if "url" in button:  # a client just opens the link; the bot sees nothing
                return {"url": button["url"], "message_id": mid, "update_id": None}
            raise ControlError(f"button {label!r} is not a callback or URL button: {button}")
        return None
