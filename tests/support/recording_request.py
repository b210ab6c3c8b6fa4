"""A BaseRequest that answers the Bot API locally and remembers what it saw.

Plugged in with ``ApplicationBuilder().request(RecordingRequest())``, it lets
tests run the real PTB Application (Bot method -> RequestData -> HTTP status +
JSON body -> PTB's own error mapping) with no network.  Besides the raw call
log it keeps "what the user sees": per chat, the bot's messages as they are now
(after edits and deletes) and the reply keyboard currently shown.

Simplifications (deliberate): text is stored as sent (parse_mode is not
applied, no entities); only inline keyboards appear on returned messages, as
in the real API; message ids are counted per chat for the bot's messages only.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
import zlib
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

from bot.devtools.localapi.errors import ApiError
from bot.devtools.localapi.validate import render_text

__all__ = ["BOT_USER", "Call", "RecordingRequest"]

BOT_USER: dict[str, Any] = {
    "id": 999,
    "is_bot": True,
    "first_name": "Bot",
    "username": "test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

# Methods that just succeed with ``true``.
_TRUE_METHODS = frozenset(
    {
        "answerCallbackQuery",
        "setMyCommands",
        "deleteMyCommands",
        "deleteWebhook",
        "setWebhook",
        "sendChatAction",
        "setChatMenuButton",
        "setMyDescription",
        "setMyShortDescription",
        "setMyName",
        "pinChatMessage",
        "unpinChatMessage",
        "logOut",
        "close",
    }
)

def _file(fid: str, **extra: Any) -> dict[str, Any]:
    return {"file_id": fid, "file_unique_id": fid + "u", **extra}


_SIZED = {"width": 1, "height": 1, "duration": 1}

# sendX method -> (message key holding the media, builder(file_id, filename)).
_MEDIA: dict[str, tuple[str, Callable[[str, str | None], Any]]] = {
    "sendPhoto": (
        "photo",
        lambda fid, _: [
            _file(fid, width=90, height=90),
            _file(fid + "L", width=800, height=800),
        ],
    ),
    "sendDocument": ("document", lambda fid, name: _file(fid, file_name=name)),
    "sendVideo": ("video", lambda fid, _: _file(fid, **_SIZED)),
    "sendAnimation": ("animation", lambda fid, _: _file(fid, **_SIZED)),
    "sendAudio": ("audio", lambda fid, _: _file(fid, duration=1)),
    "sendVoice": ("voice", lambda fid, _: _file(fid, duration=1)),
    "sendSticker": (
        "sticker",
        lambda fid, _: _file(
            fid, type="regular", width=512, height=512, is_animated=False, is_video=False
        ),
    ),
}

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: something is wrong",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request",
    429: "Too Many Requests: retry after {retry_after}",
    502: "Bad Gateway",
}


class _ApiError(Exception):
    """Raised inside handlers to answer with a Bot API error body."""

    def __init__(self, status: int, description: str, retry_after: int | None = None):
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after


@dataclass
class Call:
    """One Bot API call as the server would have decoded it.

    ``params``: JSON-encoded values (reply_markup, entities, ...) parsed back
    into python objects, plain strings untouched.  ``files``: uploaded parts,
    name -> (filename, bytes, mimetype).  ``status``: HTTP status we answered.
    """

    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes, str]] = field(default_factory=dict)
    status: int = 200

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class _Failure:
    status: int
    description: str
    times: int | None  # None = forever
    retry_after: int | None
    exception: BaseException | None = None


class RecordingRequest(BaseRequest):
    """Local Bot API.  See module docstring.

    ``strict_edits``: like Telegram, editing a message to identical content
    answers 400 "message is not modified" and editing/deleting an unknown
    message 400 "... not found".
    """

    def __init__(self, *, strict_edits: bool = True) -> None:
        self.calls: list[Call] = []
        self.strict_edits = strict_edits
        self.file_bytes: dict[str, bytes] = {}  # file_path -> content for downloads
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._responders: dict[str, Callable[[dict], Any]] = {}
        self._views: dict[Any, dict[int, dict]] = defaultdict(dict)
        self._reply_keyboards: dict[Any, dict] = {}
        self._next_id: dict[Any, itertools.count] = defaultdict(lambda: itertools.count(1))
        self._file_ids = itertools.count(1)

    # -- BaseRequest contract -------------------------------------------------

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close; the recorded state stays readable after shutdown."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if method == "GET":  # Bot.retrieve(): file download from .../file/bot<token>/<path>
            path = url.split("/file/", 1)[-1].split("/", 1)[-1]
            return 200, self.file_bytes.get(path, b"\x89PNG\r\n\x1a\nfake")

        api_method = url.rsplit("/", 1)[-1]
        params, files = _decode(request_data)
        call = Call(api_method, params, files)
        self.calls.append(call)
        try:
            failure = self._take_failure(api_method)
            if failure is not None:
                if failure.exception is not None:
                    call.status = 0  # never reached the "server"
                    raise failure.exception
                raise _ApiError(failure.status, failure.description, failure.retry_after)
            _check_text(api_method, params)
            if api_method in self._responders:
                result = self._responders[api_method](copy.deepcopy(params))
            else:
                result = self._answer(api_method, params, files)
        except NotImplementedError:
            call.status = 0  # PTB reports it as NetworkError("Unknown error in HTTP ...")
            raise
        except _ApiError as err:
            call.status = err.status
            body: dict[str, Any] = {
                "ok": False, "error_code": err.status, "description": err.description
            }
            if err.retry_after is not None:
                body["parameters"] = {"retry_after": err.retry_after}
            return err.status, json.dumps(body).encode()
        return 200, json.dumps({"ok": True, "result": result}).encode()

    # -- test controls --------------------------------------------------------

    def fail(
        self,
        method: str,
        exc_status: int,
        description: str | None = None,
        times: int | None = 1,
        *,
        retry_after: int | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (None = all) with an
        error.  PTB maps 400 -> BadRequest, 403 -> Forbidden, 401/404 ->
        InvalidToken, 429 + retry_after -> RetryAfter, others -> NetworkError."""
        if exc_status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = _DEFAULT_DESCRIPTIONS.get(exc_status, f"Error {exc_status}")
            description = description.format(retry_after=retry_after)
        self._failures[method].append(_Failure(exc_status, description, times, retry_after))

    def raise_on(self, method: str, exception: BaseException, times: int | None = 1) -> None:
        """Make the transport itself raise (e.g. telegram.error.TimedOut())."""
        self._failures[method].append(_Failure(0, "", times, None, exception))

    def respond(self, method: str, result: Any) -> None:
        """Fixed result (or callable(params) -> result) for ``method``."""
        self._responders[method] = result if callable(result) else (lambda _p: result)

    def clear(self) -> None:
        """Forget calls and chat views (pending fail()/respond() rules stay)."""
        self.calls.clear()
        self._views.clear()
        self._reply_keyboards.clear()

    # -- reading what happened ------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    @property
    def methods(self) -> list[str]:
        return [c.method for c in self.calls]

    def messages(self, chat_id: int) -> list[dict]:
        """The bot's messages in ``chat_id`` as they look now, oldest first."""
        return copy.deepcopy(list(self._views.get(chat_id, {}).values()))

    def last(self, chat_id: int) -> dict | None:
        view = self._views.get(chat_id)
        if not view:
            return None
        return copy.deepcopy(next(reversed(view.values())))

    def texts(self, chat_id: int) -> list[str | None]:
        return [m.get("text", m.get("caption")) for m in self.messages(chat_id)]

    @staticmethod
    def inline_buttons(message: Any) -> list[tuple[str, str | None]]:
        """Flattened inline keyboard: (text, callback_data or url or None)."""
        if message is None:
            return []
        if hasattr(message, "to_dict"):
            message = message.to_dict()
        markup = message.get("reply_markup") or {}
        return [
            (b["text"], b.get("callback_data", b.get("url")))
            for row in markup.get("inline_keyboard", [])
            for b in row
        ]

    def reply_keyboard(self, chat_id: int) -> dict | None:
        """Last ReplyKeyboardMarkup sent to the chat and not removed since."""
        markup = self._reply_keyboards.get(chat_id)
        return copy.deepcopy(markup) if markup else None

    def reply_keyboard_texts(self, chat_id: int) -> list[list[str]]:
        markup = self._reply_keyboards.get(chat_id) or {}
        return [
            [b if isinstance(b, str) else b["text"] for b in row]
            for row in markup.get("keyboard", [])
        ]

    # -- the fake API -----------------------------------------------------------

    def _take_failure(self, method: str) -> _Failure | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        if failure.times is not None:
            failure.times -= 1
            if failure.times <= 0:
                queue.popleft()
        return failure

    def _answer(self, method: str, p: dict, files: dict) -> Any:
        if method == "getMe":
            return BOT_USER
        if method in _TRUE_METHODS:
            return True
        if method == "sendMessage":
            return self._store(p["chat_id"], p, text=p["text"])
        if method == "sendLocation":
            loc = {"latitude": p["latitude"], "longitude": p["longitude"]}
            return self._store(p["chat_id"], p, location=loc)
        if method == "sendContact":
            contact = {k: p[k] for k in ("phone_number", "first_name") if k in p}
            return self._store(p["chat_id"], p, contact=contact)
        if method in _MEDIA:
            return self._send_media(method, p, files)
        if method in ("copyMessage", "forwardMessage"):
            return self._copy(method, p)
        if method in ("editMessageText", "editMessageCaption", "editMessageReplyMarkup"):
            return self._edit(method, p)
        if method == "deleteMessage":
            return self._delete(p["chat_id"], [p["message_id"]])
        if method == "deleteMessages":
            return self._delete(p["chat_id"], p["message_ids"])
        if method == "getFile":
            fid = p["file_id"]
            return _file(fid, file_size=4, file_path=f"files/{fid}")
        if method == "getChat":
            chat = _chat(_norm_chat(p["chat_id"]))
            return {**chat, "accent_color_id": 0, "max_reaction_count": 0}
        if method in ("getMyCommands", "getUpdates"):
            return []
        if method == "getWebhookInfo":
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        # Not an API error on purpose: 404 would surface as InvalidToken.
        raise NotImplementedError(f"RecordingRequest does not fake {method}; use respond()")

    def _store(self, chat_id: Any, p: dict, **content: Any) -> dict:
        cid = _norm_chat(chat_id)
        message = {
            "message_id": next(self._next_id[cid]),
            "date": int(time.time()),
            "chat": _chat(cid),
            "from": BOT_USER,
            **content,
        }
        markup = p.get("reply_markup")
        if isinstance(markup, dict):
            if "inline_keyboard" in markup:
                # Only inline keyboards are part of a Message in the Bot API.
                message["reply_markup"] = markup
            elif "keyboard" in markup:
                self._reply_keyboards[cid] = markup
            elif markup.get("remove_keyboard"):
                self._reply_keyboards.pop(cid, None)
        self._views[cid][message["message_id"]] = message
        return message

    def _send_media(self, method: str, p: dict, files: dict) -> dict:
        key, build = _MEDIA[method]
        value = p.get(key)
        if isinstance(value, str) and not value.startswith("attach://"):
            fid = value  # re-sent by file_id (or URL)
        else:
            fid = f"file{next(self._file_ids)}"
        uploaded = files.get(key)
        content = {key: build(fid, uploaded[0] if uploaded else None)}
        if "caption" in p:
            content["caption"] = p["caption"]
        return self._store(p["chat_id"], p, **content)

    def _copy(self, method: str, p: dict) -> dict:
        source = self._views.get(_norm_chat(p["from_chat_id"]), {}).get(p["message_id"])
        content: dict[str, Any] = {"copy_of": [p["from_chat_id"], p["message_id"]]}
        if source is not None:
            skip = ("message_id", "date", "chat", "from", "reply_markup")
            content.update({k: v for k, v in source.items() if k not in skip})
        if "caption" in p:
            content["caption"] = p["caption"]
        message = self._store(p["chat_id"], p, **content)
        return {"message_id": message["message_id"]} if method == "copyMessage" else message

    def _edit(self, method: str, p: dict) -> Any:
        if "inline_message_id" in p:
            return True  # Bot API answers plain true for inline messages
        cid = _norm_chat(p["chat_id"])
        message = self._views.get(cid, {}).get(p["message_id"])
        if message is None:
            if self.strict_edits:
                raise _ApiError(400, "Bad Request: message to edit not found")
            return True
        before = copy.deepcopy(message)
        if method == "editMessageText":
            message["text"] = p["text"]
        elif method == "editMessageCaption":
            if "caption" in p:
                message["caption"] = p["caption"]
            else:
                message.pop("caption", None)
        # Any edit without reply_markup removes the inline keyboard.
        markup = p.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        if self.strict_edits and message == before:
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        message["edit_date"] = int(time.time())
        return message

    def _delete(self, chat_id: Any, message_ids: list[int]) -> bool:
        view = self._views.get(_norm_chat(chat_id), {})
        missing = [m for m in message_ids if m not in view]
        if missing and self.strict_edits and len(message_ids) == 1:
            raise _ApiError(400, "Bad Request: message to delete not found")
        for mid in message_ids:
            view.pop(mid, None)
        return True


# Methods whose "text" is a message (an alert's text has its own limit) and those with a caption.
_TEXT_METHODS = frozenset({"sendMessage", "editMessageText"})
_CAPTION_METHODS = frozenset({"editMessageCaption", "copyMessage", *_MEDIA})


def _check_text(method: str, p: dict) -> None:
    """Refuse, as the Bot API does, a text over 4,096 or a caption over 1,024 UTF-16 code units of
    what a person reads, and HTML it cannot parse: the same checks as the loopback server's."""
    key = "text" if method in _TEXT_METHODS else "caption" if method in _CAPTION_METHODS else None
    if key is None or p.get(key) is None:
        return
    try:
        render_text(p[key], p.get("parse_mode"), caption=key == "caption")
    except ApiError as exc:
        raise _ApiError(exc.code, exc.description) from None


def _decode(request_data: RequestData | None) -> tuple[dict, dict]:
    """Params as the Bot API server sees them: PTB JSON-encodes every non-str
    value (reply_markup, entities, bools, ints); decode those back."""
    if request_data is None:
        return {}, {}
    raw = request_data.parameters
    params = {
        name: raw[name] if isinstance(raw.get(name), str) else json.loads(value)
        for name, value in request_data.json_parameters.items()
    }
    files = {}
    for name, (filename, content, mimetype) in request_data.multipart_data.items():
        data = content if isinstance(content, bytes) else content.read()
        files[name] = (filename, data, mimetype)
    return params, files


def _norm_chat(chat_id: Any) -> Any:
    if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
        return int(chat_id)
    return chat_id


def _chat(chat_id: Any) -> dict:
    if isinstance(chat_id, str):  # "@channelusername"
        fake_id = -1000000000000 - zlib.crc32(chat_id.encode())
        return {"id": fake_id, "type": "channel", "title": chat_id, "username": chat_id[1:]}
    if chat_id < 0:
        return {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}
    return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
