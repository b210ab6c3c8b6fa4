"""The terminal: reading input lines without blocking the loop, writing output, ANSI styles."""
from __future__ import annotations

import asyncio
import codecs
import os
import threading
from typing import Any, TextIO


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


def use_utf8(stream: TextIO) -> None:
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
    if encoding and encoding != "utf8" and hasattr(stream, "reconfigure"):
        try:
            stream.reconfigure(encoding="utf-8", errors="replace")
        except (ValueError, OSError):
            pass


def write(stream: TextIO, text: str) -> bool:
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


def isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False
