"""One broadcast's content, sent to one chat of one messenger.

A staff member's message is re-sent from its parts (file_id, text or caption with its entities),
not copied: copyMessage would fail for everyone the moment the staff member deletes the original.
A photo, video or document from the other messenger is downloaded once, uploaded with the first
send, and its new file_id reused for everyone after. The download (and the lookup of a file_id
stored by an earlier process) happens in prepare(), before the sender marks anyone in flight: a
recipient is marked only when nothing but their own request is left to do.
"""
from __future__ import annotations

import asyncio
import json
import logging

from telegram import Bot, InputFile, Message, MessageEntity

from domain import Broadcast
from storage.broadcasts import BroadcastRepository

log = logging.getLogger(__name__)

_SENDERS = {"photo": "send_photo", "video": "send_video", "document": "send_document"}
_FILE_NAMES = {"photo": "photo.jpg", "video": "video.mp4", "document": "document"}


def _file_id_of(message: Message, kind: str) -> str | None:
    if kind == "photo":
        return message.photo[-1].file_id if message.photo else None
    attachment = getattr(message, kind, None)
    return attachment.file_id if attachment else None


class Content:
    def __init__(self, broadcast: Broadcast, repo: BroadcastRepository, source_bot: Bot | None) -> None:
        self.broadcast = broadcast
        self.repo = repo
        self.source_bot = source_bot  # to download media for the other messenger
        self._foreign_file: dict[str, str] = {}
        self._data: bytearray | None = None  # downloaded for the upload, dropped after it
        self._upload_lock = asyncio.Lock()

    def _entities(self, bot: Bot, platform: str) -> list[MessageEntity] | None:
        # Formatting travels only within its own messenger (Bale renders none).
        if not self.broadcast.entities or platform != self.broadcast.source_platform:
            return None
        return [MessageEntity.de_json(item, bot) for item in json.loads(self.broadcast.entities)]

    def _foreign(self, platform: str) -> bool:
        """Whether a photo, video or document comes from the other messenger (its file_id is
        not valid here)."""
        return self.broadcast.kind != "text" and self.broadcast.source_platform not in (None, platform)

    async def prepare(self, platform: str) -> bool:
        """What a send to ``platform`` needs before its request. True when the next send uploads
        the file: the sender sends that one alone and waits for it; everyone after reuses its file_id."""
        if not self._foreign(platform) or platform in self._foreign_file:
            return False
        if file_id := await self.repo.file_id(self.broadcast.id, platform):
            self._foreign_file[platform] = file_id
            return False
        if self._data is None:
            self._data = await self._download()
        return True

    async def send(self, bot: Bot, platform: str, chat_id: int) -> None:
        b = self.broadcast
        entities = self._entities(bot, platform)
        if b.kind == "text":
            await bot.send_message(chat_id, b.text or "", entities=entities, disable_web_page_preview=False)
            return
        send = getattr(bot, _SENDERS[b.kind])
        if not self._foreign(platform):
            await send(chat_id, b.file_id, caption=b.text, caption_entities=entities)
            return
        if platform not in self._foreign_file and self._data is None:
            await self.prepare(platform)  # a caller that did not (the sender always does)
        async with self._upload_lock:
            # Whoever waited here may find the upload done by the sender before them.
            if file_id := self._foreign_file.get(platform):
                await send(chat_id, file_id, caption=b.text)
                return
            message = await send(chat_id, InputFile(bytes(self._data), filename=_FILE_NAMES[b.kind]), caption=b.text)
            if new_id := _file_id_of(message, b.kind):
                self._foreign_file[platform], self._data = new_id, None
                await self.repo.set_file_id(b.id, platform, new_id)

    async def _download(self) -> bytearray:
        if self.source_bot is None:
            raise RuntimeError(f"broadcast {self.broadcast.id}: its messenger {self.broadcast.source_platform} is not served")
        file = await self.source_bot.get_file(self.broadcast.file_id)
        return await file.download_as_bytearray()
