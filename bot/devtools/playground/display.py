"""How the terminal shows the bot's messages: text, inline buttons [N] and reply keyboards (a)."""
from __future__ import annotations

import html
import re
from typing import Any

from .terminal import Style

SEPARATOR = "─" * 48
_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)(?:\s[^<>]*)?>")


def html_for_terminal(text: str, style: Style) -> str:
    """Telegram HTML as a terminal shows it: bold stays bold, other tags go, entities decode."""
    def tag(match: re.Match) -> str:
        if match.group(2).lower() in ("b", "strong") and style.enabled:
            return "\033[0m" if match.group(1) else "\033[1m"
        return ""
    return html.unescape(_TAG.sub(tag, text))


def inline_rows(view: dict) -> list[list[dict]]:
    markup = view.get("reply_markup") or {}
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    return rows or []


def content(view: dict) -> str:
    return str(view.get("text") if "text" in view else view.get("caption") or "")


def label(button: Any) -> str:
    return button if isinstance(button, str) else str(button.get("text", ""))


def message_lines(platform: str, view: dict, kind: str, style: Style) -> list[str]:
    """The lines that show one bot message: new, edited, deleted or with new buttons."""
    st = style
    lines = [st.dim(SEPARATOR)]
    if kind == "deleted":
        gone = (view.get("text") or view.get("caption") or "").split("\n", 1)[0][:60]
        lines.append(st.header(f"[{platform}] bot deleted a message") + (f": «{gone}»" if gone else ""))
        return lines
    if kind == "buttons":
        first = content(view).strip().split("\n", 1)[0]
        first = first if len(first) <= 50 else first[:49] + "…"
        what = "new buttons on" if inline_rows(view) else "buttons removed from"
        lines.append(st.header(f"[{platform}] bot (edited):") + f" {what} «{first}»")
    else:
        lines.append(st.header(f"[{platform}] bot{' (edited)' if kind == 'edited' else ''}:"))
        lines.extend(body_lines(view, style))
    number = 0
    rows = inline_rows(view)
    for row in rows:
        cells = []
        for button in row:
            number += 1
            cell = f"[{number}] {label(button)}"
            if button.get("url"):
                cell += f" → {button['url']}"
            cells.append(st.button(cell))
        lines.append("  " + "   ".join(cells))
    markup = view.get("reply_markup") or {}
    if "keyboard" in markup:
        lines.append(st.dim("keyboard: ") + keyboard_line(markup, style))
    elif markup.get("remove_keyboard"):
        lines.append(st.dim("keyboard: (removed)"))
    elif markup.get("force_reply"):
        lines.append(st.dim("(the bot asks for a reply to this message: just type it)"))
    return lines


def body_lines(view: dict, style: Style) -> list[str]:
    html_mode = str(view.get("parse_mode") or "").lower() == "html"
    lines: list[str] = []
    if view.get("photo"):
        lines.append("🖼 [photo]")
    if voice := view.get("voice"):
        lines.append(f"🎤 [voice {voice.get('duration', '?')} s]")
    if view.get("sticker"):
        lines.append(f"[sticker {view['sticker'].get('emoji', '')}]".replace(" ]", "]"))
    if view.get("document"):
        lines.append(f"📎 [file {view['document'].get('file_name', '')}]")
    if loc := view.get("location"):
        lines.append(f"📍 [location {loc['latitude']:.5f}, {loc['longitude']:.5f}]")
    if contact := view.get("contact"):
        lines.append(f"👤 [contact {contact.get('first_name', '')} {contact.get('phone_number', '')}]")
    text = view.get("text") if "text" in view else view.get("caption")
    if text:
        sent = view.get("sent_text")
        if html_mode and sent and style.enabled:
            text = html_for_terminal(sent, style)
        lines.extend(text.split("\n"))
    return lines or ["[empty message]"]


def keyboard_line(markup: dict, style: Style) -> str:
    cells = []
    for index, button in enumerate(b for row in markup.get("keyboard", []) for b in row):
        cell = f"({chr(ord('a') + index)}) {label(button)}" if index < 26 else label(button)
        if isinstance(button, dict) and button.get("request_contact"):
            cell += " [shares your phone]"
        elif isinstance(button, dict) and button.get("request_location"):
            cell += " [shares a location]"
        cells.append(style.button(cell))
    return " | ".join(cells) if cells else "(empty)"
