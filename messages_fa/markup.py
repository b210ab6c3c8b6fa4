"""How a message is marked up on each messenger.

Telegram renders HTML, so user text must be escaped; Bale renders no parse_mode, so text goes out
plain. Every text function takes one of these and never escapes by itself.
"""
from __future__ import annotations

import html
import re
from typing import Protocol

# Only our own tags: user text reaches an HTML message escaped (esc), so a "<" is always a tag.
_TAG = re.compile(r"<[^<>]*>")


class Markup(Protocol):
    parse_mode: str | None

    def esc(self, text: str) -> str: ...

    def bold(self, text: str) -> str: ...

    def shown(self, text: str) -> str:
        """The text a person reads: what the messengers count against their limits."""
        ...


class HtmlMarkup:
    parse_mode = "HTML"

    def esc(self, text: str) -> str:
        return html.escape(text, quote=False)

    def bold(self, text: str) -> str:
        return f"<b>{text}</b>"

    def shown(self, text: str) -> str:
        return html.unescape(_TAG.sub("", text))


class PlainMarkup:
    parse_mode = None

    def esc(self, text: str) -> str:
        return text

    def bold(self, text: str) -> str:
        return text

    def shown(self, text: str) -> str:
        return text
