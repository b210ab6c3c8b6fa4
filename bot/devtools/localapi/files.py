"""Files the bot and the simulated users send: ids, download paths, bytes, photo sizes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_FOLDERS = {"photo": ("photos", "jpg"), "document": ("documents", "bin"), "sticker": ("stickers", "webp"),
            "video": ("videos", "mp4"), "audio": ("music", "mp3"), "voice": ("voice", "oga"),
            "animation": ("animations", "mp4")}
FAKE_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(64)) + b"\xff\xd9"


@dataclass(slots=True)
class FileRec:
    file_id: str
    unique_id: str
    path: str
    data: bytes
    sizes: list | None = None  # PhotoSize list when this id is one size of a photo


class FileStore:
    """Every file by id and by download path; ids come from the world's shared counter."""

    def __init__(self, next_seq: Callable[[], int]):
        self._next_seq = next_seq
        self._by_id: dict[str, FileRec] = {}
        self._by_path: dict[str, FileRec] = {}

    def get(self, file_id: str) -> FileRec | None:
        return self._by_id.get(file_id)

    def data_at(self, path: str) -> bytes | None:
        rec = self._by_path.get(path)
        return None if rec is None else rec.data

    def clear(self) -> None:
        self._by_id.clear()
        self._by_path.clear()

    def new(self, kind: str, data: bytes, filename: str | None = None, file_id: str | None = None) -> FileRec:
        seq = self._next_seq()
        folder, ext = _FOLDERS.get(kind, ("documents", "bin"))
        # PTB names anonymous bytes "application.octet-stream"; keep real suffixes only.
        suffix = filename.rsplit(".", 1)[-1] if filename and "." in filename else ""
        if re.fullmatch(r"[A-Za-z0-9]{1,5}", suffix) and filename != "application.octet-stream":
            ext = suffix.lower()
        rec = FileRec(file_id or f"{kind}-{seq}", f"u{seq}", f"{folder}/file_{seq}.{ext}", data)
        self._by_id[rec.file_id] = rec
        self._by_path[rec.path] = rec
        return rec

    def photo_sizes(self, rec: FileRec) -> list[dict]:
        """Telegram offers each photo in several sizes; the last is the largest."""
        sizes = []
        for side in (90, 320):
            small = FileRec(f"{rec.file_id}-{side}", f"{rec.unique_id}-{side}", rec.path, rec.data)
            self._by_id[small.file_id] = small
            sizes.append({"file_id": small.file_id, "file_unique_id": small.unique_id,
                          "width": side, "height": side, "file_size": len(rec.data) * side // 800 + 1})
        sizes.append({"file_id": rec.file_id, "file_unique_id": rec.unique_id, "width": 800,
                      "height": 800, "file_size": len(rec.data)})
        for size in sizes:
            self._by_id[size["file_id"]].sizes = sizes
        return sizes
