"""Real ``telegram.Update`` objects for in-process tests.

Updates are built as Bot API JSON and parsed with ``Update.de_json(data, bot)``
so every nested object is bound to the application's bot: handlers can call
``update.message.reply_text(...)`` / ``query.answer()`` and those calls reach
the RecordingRequest exactly as in production.

Private chats use chat id == user id; a negative ``chat_id`` is a supergroup.
User message ids start at 100000 so they never collide with the bot's own
message ids in RecordingRequest's per-chat views.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from telegram import Bot, Update

__all__ = ["UpdateFactory"]


class UpdateFactory:
    def __init__(self, bot: Bot, *, first_update_id: int = 1, first_message_id: int = 100_000):
        self.bot = bot
        self._update_ids = itertools.count(first_update_id)
        self._message_ids = itertools.count(first_message_id)
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._profiles: dict[int, dict[str, Any]] = {}

    # -- people and chats -------------------------------------------------------

    def set_user(self, user_id: int, **fields: Any) -> None:
        """Override profile fields (first_name, username, language_code, ...)."""
        self._profiles.setdefault(user_id, {}).update(fields)

    def user(self, user_id: int) -> dict[str, Any]:
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": f"User{user_id}",
            "language_code": "fa",
            **self._profiles.get(user_id, {}),
        }

    def chat(self, user_id: int, chat_id: int | None = None) -> dict[str, Any]:
        if chat_id is None or chat_id == user_id:
            name = self.user(user_id)["first_name"]
            return {"id": user_id, "type": "private", "first_name": name}
        return {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}

    # -- messages -----------------------------------------------------------------

    def text(self, user_id: int, text: str, chat_id: int | None = None, reply_to: dict | None = None) -> Update:
        """A text message; a leading /command gets its bot_command entity
        (covers ``/start payload`` and ``/cmd@test_bot``). ``reply_to``: the bot's message
        (as recorded) this one replies to."""
        extra: dict[str, Any] = {"text": text}
        if reply_to is not None:
            extra["reply_to_message"] = reply_to
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            extra["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._message(user_id, chat_id, extra)

    def contact(
        self,
        user_id: int,
        phone: str,
        contact_user_id: int | None = None,
        chat_id: int | None = None,
    ) -> Update:
        """A shared contact.  ``contact_user_id=None`` means the user's own
        contact (what a request_contact button sends); pass 0 for a contact
        card without user_id (e.g. forwarded from the address book)."""
        owner = user_id if contact_user_id is None else contact_user_id
        contact: dict[str, Any] = {
            "phone_number": phone,
            "first_name": self.user(owner)["first_name"] if owner else "Someone",
        }
        if owner:
            contact["user_id"] = owner
        return self._message(user_id, chat_id, {"contact": contact})

    def location(
        self, user_id: int, lat: float, lon: float, chat_id: int | None = None
    ) -> Update:
        location = {"latitude": lat, "longitude": lon}
        return self._message(user_id, chat_id, {"location": location})

    def photo(
        self, user_id: int, caption: str | None = None, chat_id: int | None = None
    ) -> Update:
        fid = self._file_id("photo")
        extra: dict[str, Any] = {
            "photo": [
                {"file_id": fid + "s", "file_unique_id": fid + "su", "width": 90, "height": 90,
                 "file_size": 1000},
                {"file_id": fid, "file_unique_id": fid + "u", "width": 1280, "height": 960,
                 "file_size": 100_000},
            ]
        }
        if caption is not None:
            extra["caption"] = caption
        return self._message(user_id, chat_id, extra)

    def voice(self, user_id: int, duration: int = 42, file_size: int | None = 60_000,
              chat_id: int | None = None) -> Update:
        fid = self._file_id("voice")
        voice: dict[str, Any] = {"file_id": fid, "file_unique_id": fid + "u", "duration": duration,
                                 "mime_type": "audio/ogg"}
        if file_size is not None:
            voice["file_size"] = file_size
        return self._message(user_id, chat_id, {"voice": voice})

    def sticker(self, user_id: int, chat_id: int | None = None) -> Update:
        fid = self._file_id("sticker")
        sticker = {"file_id": fid, "file_unique_id": fid + "u", "type": "regular", "width": 512,
                   "height": 512, "is_animated": False, "is_video": False, "emoji": "👍"}
        return self._message(user_id, chat_id, {"sticker": sticker})

    def document(
        self,
        user_id: int,
        file_name: str = "file.pdf",
        mime_type: str = "application/pdf",
        caption: str | None = None,
        chat_id: int | None = None,
        file_size: int = 12_345,
    ) -> Update:
        fid = self._file_id("doc")
        document = {"file_id": fid, "file_unique_id": fid + "u", "file_name": file_name,
                    "mime_type": mime_type, "file_size": file_size}
        extra: dict[str, Any] = {"document": document}
        if caption is not None:
            extra["caption"] = caption
        return self._message(user_id, chat_id, extra)

    # -- callback queries -------------------------------------------------------

    def callback(self, user_id: int, message: Any, data: str) -> Update:
        """A press on an inline button of ``message`` (a dict as recorded by
        RecordingRequest, or a telegram.Message)."""
        if hasattr(message, "to_dict"):
            message = message.to_dict()
        query = {
            "id": f"cbq{next(self._callback_ids)}",
            "from": self.user(user_id),
            "chat_instance": str(message["chat"]["id"]),
            "message": message,
            "data": data,
        }
        return self.raw({"callback_query": query})

    # -- plumbing -----------------------------------------------------------------

    def raw(self, payload: dict[str, Any]) -> Update:
        """Any update body; the update_id is added."""
        return Update.de_json({"update_id": next(self._update_ids), **payload}, self.bot)

    def _message(self, user_id: int, chat_id: int | None, extra: dict[str, Any]) -> Update:
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat(user_id, chat_id),
            "from": self.user(user_id),
            **extra,
        }
        return self.raw({"message": message})

    def _file_id(self, kind: str) -> str:
        return f"{kind}{next(self._file_ids)}"
