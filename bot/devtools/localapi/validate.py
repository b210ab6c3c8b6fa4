"""Telegram's checks on what a bot sends: HTML entities, text lengths and reply markup."""

from __future__ import annotations

import html
import re
from typing import Any

from .errors import bad

_HTML_TAGS = frozenset(
    "b strong i em u ins s strike del span tg-spoiler a code pre blockquote tg-emoji".split()
)
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][\w-]*)(\s[^<>]*)?>")


def html_to_plain(text: str) -> str:
    """Validate Telegram-flavoured HTML and strip it, as Telegram stores it.

    Malformed HTML (a user's name containing "<", an unclosed tag) is a classic
    production failure, so we reject it the way Telegram does instead of
    passing it through.
    """
    out, stack, pos = [], [], 0
    while (i := text.find("<", pos)) >= 0:
        out.append(text[pos:i])
        offset = len(text[:i].encode())
        m = _TAG_RE.match(text, i)
        if not m:
            raise bad(f"can't parse entities: Unexpected end of name token at byte offset {offset}")
        closing, name = m.group(1), m.group(2).lower()
        if name not in _HTML_TAGS:
            raise bad(f'can\'t parse entities: Unsupported start tag "{name}" at byte offset {offset}')
        if not closing:
            stack.append(name)
        elif not stack or stack[-1] != name:
            expected = f'"</{stack[-1]}>"' if stack else "nothing"
            raise bad(
                f"can't parse entities: Unmatched end tag at byte offset {offset}, "
                f'expected {expected}, found "</{name}>"'
            )
        else:
            stack.pop()
        pos = m.end()
    if stack:
        raise bad(f'can\'t parse entities: Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    out.append(text[pos:])
    return html.unescape("".join(out))


def tg_len(text: str) -> int:
    # Telegram's limits count UTF-16 code units, not code points.
    return len(text.encode("utf-16-le")) // 2


def render_text(text: Any, parse_mode: Any, *, caption: bool = False) -> str:
    text = "" if text is None else str(text)
    if parse_mode and str(parse_mode).lower() == "html":
        text = html_to_plain(text)
    if tg_len(text) > (1024 if caption else 4096):
        raise bad("message caption is too long" if caption else "message is too long")
    return text


_INLINE_ACTIONS = (
    "callback_data url login_url switch_inline_query switch_inline_query_current_chat "
    "switch_inline_query_chosen_chat callback_game pay web_app copy_text"
).split()


def check_markup(markup: Any) -> dict | None:
    """Validate reply_markup enough to catch the bugs Telegram would reject."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
        for button in (b for row in rows for b in row):
            # Exactly one action per button; a bare text button is a common slip.
            if not isinstance(button, dict) or not button.get("text") \
                    or sum(k in button for k in _INLINE_ACTIONS) != 1:
                raise bad("can't parse inline keyboard button: "
                           "Text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise bad("BUTTON_DATA_INVALID")
    elif "keyboard" in markup:
        if not isinstance(markup["keyboard"], list):
            raise bad("can't parse reply keyboard markup JSON object")
    elif "remove_keyboard" not in markup and "force_reply" not in markup:
        raise bad("can't parse reply keyboard markup JSON object")
    return markup


def button_text(button: Any) -> str:
    return button if isinstance(button, str) else button.get("text", "")


def inline_buttons(markup: dict | None) -> list[dict]:
    if not markup or "inline_keyboard" not in markup:
        return []
    return [b for row in markup["inline_keyboard"] for b in row]
