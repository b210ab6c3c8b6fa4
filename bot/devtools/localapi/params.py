"""Bot API parameters as Telegram reads them: form, JSON and multipart values to Python types."""

from __future__ import annotations

import json
import re
from typing import NamedTuple

from .errors import bad

# Form-encoded requests (PTB's default transport) carry every value as a
# string, with non-strings JSON-encoded; JSON bodies may carry either form.
# Coercion is idempotent so in-process callers can pass real Python values.
_INT_KEYS = frozenset(
    "message_id offset limit user_id cache_time reply_to_message_id "
    "message_thread_id live_period duration width height".split()
)
_CHAT_KEYS = frozenset(("chat_id", "from_chat_id"))  # int, or "@channel" string
_FLOAT_KEYS = frozenset(("latitude", "longitude", "horizontal_accuracy", "timeout"))
_BOOL_KEYS = frozenset(
    "disable_notification protect_content show_alert drop_pending_updates "
    "disable_web_page_preview allow_sending_without_reply has_spoiler".split()
)
_JSON_KEYS = frozenset(
    "reply_markup reply_parameters entities caption_entities allowed_updates "
    "commands scope link_preview_options media message_ids menu_button".split()
)
_INT_RE = re.compile(r"-?\d+\Z")


class Upload(NamedTuple):
    """A file part from a multipart request (the server builds these)."""

    filename: str
    content_type: str
    data: bytes


def coerce_params(params: dict) -> dict:
    out = {}
    for key, value in params.items():
        if isinstance(value, str):
            try:
                if key in _CHAT_KEYS:
                    value = int(value) if _INT_RE.match(value) else value
                elif key in _INT_KEYS:
                    value = int(value)
                elif key in _FLOAT_KEYS:
                    value = float(value)
                elif key in _BOOL_KEYS:
                    value = value.lower() in ("true", "1")
                elif key in _JSON_KEYS:
                    value = json.loads(value)
            except ValueError:
                if key == "reply_markup":
                    raise bad("can't parse reply keyboard markup JSON object") from None
                raise bad(f"invalid {key} specified") from None
        out[key] = value
    return out
