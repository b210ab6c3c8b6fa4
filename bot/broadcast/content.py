"""One broadcast's content, sent to one chat of one messenger.

A staff member's message is re-sent from its parts (file_id, text or caption with its entities),
not copied: copyMessage would fail for everyone the moment the staff member deletes the original.
A photo, video or document from the other messenger is downloaded once, uploaded with the first
send, and its new file_id reused for everyone after.
"""
from __future__ import annotations

import asyncio
import json
import logging

from telegram import Bot, InputFile, Message, MessageEntity

from storage.broadcasts import BroadcastRepository
from storage.models import Broadcast

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
        self._upload_lock = asyncio.Lock()

    def _entities(self, bot: Bot, platform: str) -> list[MessageEntity] | None:
        # Formatting travels only within its own messenger (Bale renders none).
        if not self.broadcast.entities or platform != self.broadcast.source_platform:
            return None
        return [MessageEntity.de_json(item, bot) for item in json.loads(self.broadcast.entities)]

    async def send(self, bot: Bot, platform: str, chat_id: int) -> None:
        b = self.broadcast
        entities = self._entities(bot, platform)
        if b.kind == "text":
            await bot.send_message(chat_id, b.text or "", entities=entities, disable_web_page_preview=False)
            return
        send = getattr(bot, _SENDERS[b.kind])
        if platform == b.source_platform or b.source_platform is None:
            await send(chat_id, b.file_id, caption=b.text, caption_entities=entities)
            return
        file_id = self._foreign_file.get(platform) or await self.repo.file_id(b.id, platform)
        if file_id:
            await send(chat_id, file_id, caption=b.text)
            return
        async with self._upload_lock:
            # Whoever waited here may find the upload done by the sender before them.
            if file_id := self._foreign_file.get(platform):
                await send(chat_id, file_id, caption=b.text)
                return
            data = await self._download()
            message = await send(chat_id, InputFile(bytes(data), filename=_FILE_NAMES[b.kind]), caption=b.text)
            if new_id := _file_id_of(message, b.kind):
                self._foreign_file[platform] = new_id
                await self.repo.set_file_id(b.id, platform, new_id)

    async def _download(self) -> bytearray:
        if self.source_bot is None:
            raise RuntimeError(f"broadcast {self.broadcast.id}: its messenger {self.broadcast.source_platform} is not served")
        file = await self.source_bot.get_file(self.broadcast.file_id)
        return await file.download_as_bytearray()
