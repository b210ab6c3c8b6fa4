"""Messages that fit the messengers' limits, counted as the messengers count them.

Telegram and Bale refuse a text over 4,096 and a caption over 1,024 UTF-16 code units of what a
person reads: on Telegram after the HTML is parsed (a tag counts nothing, «&lt;» counts one). An
emoji outside the BMP is two units, so a limit checked with len() lets through up to twice what the
messenger takes, and the message is then refused as "too long".

Composing functions shorten the one long part of a message (``fit``), leave out list lines that do
not fit (``fit_lines``), or spread lines over several messages (``pages``); ``cut`` is the last
resort for anything else. None of them splits a tag, an entity or a character.
"""
from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from messages_fa.markup import Markup

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
ELLIPSIS = "…"

# A cut near the end moves back to a space when one is this close, not to leave half a word.
_WORD_SLACK = 20
# A tag, an entity, or one character of an HTML message we composed.
_HTML_PIECE = re.compile(r"<(/?)([a-zA-Z][\w-]*)[^<>]*>|&#?\w+;|.", re.S)


def units(text: str) -> int:
    """UTF-16 code units, as Telegram and Bale count a message."""
    return len(text.encode("utf-16-le")) // 2


def _joins_previous(ch: str) -> bool:
    """Marks, joiners, variation selectors, skin tones and tag characters belong to the character
    before them: a cut between the two would change what that character looks like."""
    code = ord(ch)
    return (unicodedata.category(ch) in ("Mn", "Me") or ch == "\u200d" or 0xFE00 <= code <= 0xFE0F
            or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F)


@dataclass(frozen=True)
class _Piece:
    raw: str  # as written in the message
    plain: str  # as a person reads it ("" for a tag)
    tag: str | None = None
    closing: bool = False


def _pieces(text: str, is_html: bool) -> list[_Piece]:
    if not is_html:
        return [_Piece(ch, ch) for ch in text]
    return [_Piece(p[0], "", p[2].lower(), bool(p[1])) if p[2] else _Piece(p[0], html.unescape(p[0]))
            for p in _HTML_PIECE.finditer(text)]


def _cut(pieces: list[_Piece], limit: int) -> str:
    """The pieces that fit in ``limit`` units with «…», ended cleanly, tags closed."""
    budget, used, end = limit - units(ELLIPSIS), 0, len(pieces)
    for index, piece in enumerate(pieces):
        used += units(piece.plain)
        if used > budget:
            end = index
            break
    kept = pieces[:end]
    following = pieces[end].plain if end < len(pieces) else ""

    def last_text() -> int | None:
        return next((i for i in range(len(kept) - 1, -1, -1) if kept[i].tag is None), None)

    # A whole character cluster or none of it (a joiner at the end joins what was cut off).
    while (i := last_text()) is not None and (kept[i].plain == "\u200d"
                                              or (following and _joins_previous(following[0]))):
        following, kept = kept[i].plain + following, kept[:i]
    # Not half a word, when a space is near.
    near = [i for i in range(len(kept)) if kept[i].tag is None][-_WORD_SLACK:]
    for i in reversed(near[1:]):
        if kept[i].plain.isspace():
            kept = kept[:i]
            break
    # No trailing space or joiner, no tag opened around nothing.
    while kept and ((kept[-1].tag is not None and not kept[-1].closing)
                    or (kept[-1].tag is None and all(ch.isspace() or unicodedata.category(ch) == "Cf"
                                                     for ch in kept[-1].plain))):
        kept.pop()
    open_tags: list[str] = []
    for piece in kept:
        if piece.tag is not None:
            if not piece.closing:
                open_tags.append(piece.tag)
            elif open_tags and open_tags[-1] == piece.tag:
                open_tags.pop()
    return "".join(p.raw for p in kept) + ELLIPSIS + "".join(f"</{tag}>" for tag in reversed(open_tags))


def shorten(text: str, limit: int) -> str:
    """Plain text in at most ``limit`` units: cut at its end with «…» when longer."""
    if units(text) <= limit:
        return text
    if limit < units(ELLIPSIS):
        return ""
    return _cut(_pieces(text, is_html=False), limit)


def cut(m: Markup, text: str, limit: int = TEXT_LIMIT) -> str:
    """A composed message's end goes (with «…») until it fits; on HTML no tag or entity is split
    and the tags left open are closed."""
    if units(m.shown(text)) <= limit:
        return text
    return _cut(_pieces(text, m.parse_mode == "HTML"), limit)


def fit(m: Markup, compose: Callable[[str], str], part: str, limit: int = TEXT_LIMIT) -> str:
    """``compose(escaped part)`` is the message; the part (plain text) is shortened until the
    message fits, so the rest of it (labels, the outcome, the next step) stays whole."""
    text = compose(m.esc(part))
    over = units(m.shown(text)) - limit
    if over <= 0:
        return text
    return cut(m, compose(m.esc(shorten(part, max(0, units(part) - over)))), limit)


def fit_lines(m: Markup, head: list[str], body: list[str], tail: list[str], more: Callable[[int], str],
              limit: int = TEXT_LIMIT, *, keep_last: bool = False) -> str:
    """``head``, as many ``body`` lines as fit, ``more(number left out)``, then ``tail``.
    ``keep_last``: the lines that fit are the last ones (a list oldest first), ``more`` above them."""
    def compose(count: int) -> str:
        left_out = [more(len(body) - count)] if count < len(body) else []
        shown = [*left_out, *body[len(body) - count:]] if keep_last else [*body[:count], *left_out]
        return "\n".join([*head, *shown, *tail])

    def fits(count: int) -> bool:
        return units(m.shown(compose(count))) <= limit

    if fits(len(body)):
        return compose(len(body))
    low, high = 0, len(body)  # the most lines that fit, found by halving
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return cut(m, compose(low), limit)


def pages(m: Markup, lines: list[str], limit: int = TEXT_LIMIT) -> list[str]:
    """Lines spread over as few messages as hold them, in order; a line longer than a whole
    message is cut. Each line must be whole HTML by itself (its tags closed on it)."""
    result: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        line = cut(m, line, limit)
        line_size = units(m.shown(line))
        if current and size + 1 + line_size > limit:
            result.append("\n".join(current).strip("\n"))
            current, size = [], 0
        size += line_size + (1 if current else 0)
        current.append(line)
    if current or not result:
        result.append("\n".join(current).strip("\n"))
    return [page for page in result if page] or [""]
