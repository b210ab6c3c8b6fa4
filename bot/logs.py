"""The bot's logs: one JSON object per line, with no token, phone number or citizen's text.

Why JSON lines: each event is exactly one line whatever it carries (Persian, quotes, a traceback's
newlines are escaped by the format itself), and journald, jq, Loki or Vector read it without a
grammar of our own. logfmt has no agreed escaping for multi-line values.

    {"time": "2025-11-26T05:30:00.123Z", "level": "ERROR", "logger": "handlers.errors",
     "message": "telegram: update 5012 failed: TimedOut", "update_id": 5012, "platform": "telegram",
     "exc": "Traceback (most recent call last):\n  File …\ntelegram.error.TimedOut: Timed out"}

(on one line). Fields: time (UTC), level, logger, message, then whatever the code passed as
``extra=`` (update_id, platform, …), then ``exc`` (the traceback) and ``stack`` when present.

What never gets out, whichever library logs it (the filter sits on the handler, so it sees
PTB's, aiohttp's, httpx's and APScheduler's records as well as ours):
- bot tokens: the configured ones (``add_secrets``), anything shaped like one, and the path
  segment of a Bot API URL (``/bot<token>/``);
- Iranian mobile numbers: +98 / 0098 / 98 / 0 followed by 9 and nine digits, with spaces or
  dashes, in Latin, Persian or Arabic digits;
- payloads: a log argument that is not a plain value (a dict of request parameters, an Update, a
  Message, a functools.partial holding a query's parameters…) is replaced by its shape — type,
  keys or ids — so a citizen's text inside it never reaches the line;
- exception messages of the kinds that quote the offending input (ValueError, LookupError —
  ``invalid literal for int(): '<what the person typed>'``) are withheld; the type, the frames
  and every other exception's message are kept.
"""
from __future__ import annotations

import datetime as dt
import decimal
import enum
import functools
import json
import logging
import os
import pathlib
import re
import sys
import traceback
import uuid
from collections.abc import Iterable
from typing import Any, TextIO

LEVEL_ENV = "MANSHAHRDARAM_LOG_LEVEL"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

# Libraries whose INFO is one line per HTTP request or per scheduler tick: noise, kept at WARNING.
_NOISY = ("httpx", "httpcore", "aiohttp.access", "apscheduler")
# At DEBUG these would still dump every Bot API call and update (PTB) or every query (aiosqlite),
# scrubbed but unreadable: --log-level DEBUG is for our own modules.
_CAPPED_AT_INFO = ("telegram", "aiosqlite")

_DIGIT = "[0-9\u06f0-\u06f9\u0660-\u0669]"
_SEP = r"[ \-]?"
_NINE = "[9\u06f9\u0669]"
_PHONE = re.compile(
    rf"(?<!{_DIGIT})"
    rf"(?:(?:(?:\+|00|[\u06f0\u0660]{{2}}){_SEP})?{_NINE}{_SEP}[8\u06f8\u0668]|[0\u06f0\u0660])"
    rf"{_SEP}{_NINE}(?:{_SEP}{_DIGIT}){{9}}"
    rf"(?!{_DIGIT})"
)
# Telegram's are <bot id>:<35 characters>, Bale's alike; 16 is short enough for test tokens.
_TOKEN = re.compile(r"(?<![\w:])\d{3,}:[A-Za-z0-9_-]{16,}")
# A token always has its colon ("<bot id>:<secret>"): a path such as data/bot.sqlite3 is left alone.
_URL_TOKEN = re.compile(r"(/(?:file/)?bot)[^/\s?#\"':]*:[^/\s?#\"']+")

# Messages whose string argument is a raw payload (PTB's webhook body, an unparsable answer).
_PAYLOAD_TEMPLATES = frozenset({
    "Webhook received data: %s",
    'Can not load invalid JSON data: "%s"',
})
_PLAIN = (str, int, float, bool, type(None), dt.date, dt.time, dt.timedelta, pathlib.PurePath,
          uuid.UUID, decimal.Decimal, enum.Enum)
# Exceptions whose message quotes the input that caused them.
_QUOTING = (ValueError, LookupError)

_secrets: set[str] = set()
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


# Shorter "secrets" (a test's "1:telegram") would blank out ordinary words in every line.
_MIN_SECRET = 12


def add_secrets(*secrets: str | bytes | None) -> None:
    """Strings that must never be printed (the configured tokens, the phone hash key)."""
    for secret in secrets:
        if isinstance(secret, bytes):
            secret = secret.decode("utf-8", "replace")
        if secret and len(secret) >= _MIN_SECRET:
            _secrets.add(secret)
        # A token's secret half alone is as bad as the whole.
        if secret and ":" in secret and len(secret.split(":", 1)[1]) >= _MIN_SECRET:
            _secrets.add(secret.split(":", 1)[1])


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "<secret>")
    text = _URL_TOKEN.sub(r"\1<token>", text)
    text = _TOKEN.sub("<token>", text)
    return _PHONE.sub("<phone>", text)


def exception_line(exc: BaseException) -> str:
    name = type(exc).__qualname__
    module = type(exc).__module__
    if module not in ("builtins", "__main__"):
        name = f"{module}.{name}"
    if isinstance(exc, _QUOTING) and not isinstance(exc, (UnicodeError,)) and str(exc):
        return f"{name}: <message withheld>"
    text = str(exc)
    return f"{name}: {text}" if text else name


def format_exception(exc: BaseException) -> str:
    """A traceback like Python's (chained causes included), with the messages judged by
    exception_line() and everything redacted."""
    chain: list[tuple[BaseException, str | None]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link: str | None = None
    while current is not None and id(current) not in seen and len(chain) < 10:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, "The above exception was the direct cause of the following exception:"
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, "During handling of the above exception, another exception occurred:"
        else:
            current = None
    parts: list[str] = []
    for index, (error, _) in enumerate(reversed(chain)):
        if index:
            # The link that led from the later exception to this one is printed before the later one.
            parts.append(f"\n\n{chain[len(chain) - index][1]}\n\n")
        frames = "".join(traceback.format_tb(error.__traceback__))
        if frames:
            parts.append("Traceback (most recent call last):\n" + frames)
        parts.append(exception_line(error))
    return redact("".join(parts))


def _shape(value: Any) -> Any:
    """A log argument as it may be printed: plain values as they are, anything else as its shape."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, BaseException):
        return exception_line(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        if all(isinstance(item, (int, float, bool, type(None))) for item in value):
            return value  # ids
        return f"<{type(value).__name__} of {len(value)}>"
    if isinstance(value, dict):
        return f"<dict: {', '.join(str(key) for key in list(value)[:20])}>"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value)} bytes>"
    if isinstance(value, functools.partial):
        return f"<call {getattr(value.func, '__qualname__', type(value.func).__name__)}>"
    if isinstance(value, type):
        return value.__qualname__
    if callable(value) and hasattr(value, "__qualname__"):
        return f"<{value.__qualname__}>"
    cls = type(value)
    if cls.__module__.startswith("apscheduler."):
        return value  # jobs and triggers: our job names and their schedule
    ids = [f"{field} {getattr(value, field)}" for field in ("update_id", "message_id")
           if isinstance(getattr(value, field, None), int)]
    return f"<{cls.__name__}{' ' + ', '.join(ids) if ids else ''}>"


class RedactingFilter(logging.Filter):
    """Rewrites each record in place (so every handler after it sees the safe version); never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted", False):
            return True
        try:
            record.msg = redact(self._message(record))
        except Exception:  # noqa: BLE001 - arguments that do not fit the message; a log call must never raise
            record.msg = redact(f"{record.msg!s} (unformattable arguments)")
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = format_exception(record.exc_info[1])
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                shaped = _shape(value)
                setattr(record, key, redact(shaped) if isinstance(shaped, str) else shaped)
        record._redacted = True
        return True

    @staticmethod
    def _message(record: logging.LogRecord) -> str:
        msg, args = record.msg, record.args
        if not isinstance(msg, str):
            shaped = _shape(msg)
            msg = shaped if isinstance(shaped, str) else str(shaped)
        if not args:
            return msg
        if msg in _PAYLOAD_TEMPLATES:
            return msg % tuple(f"<{len(str(a))} characters>" for a in (args if isinstance(args, tuple) else (args,)))
        if isinstance(args, dict):
            return msg % {key: _shape(value) for key, value in args.items()}
        return msg % tuple(_shape(arg) for arg in args)


class JsonFormatter(logging.Formatter):
    def __init__(self, ensure_ascii: bool = False) -> None:
        super().__init__()
        self.ensure_ascii = ensure_ascii

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage().rstrip(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_") and key not in event:
                event[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = format_exception(record.exc_info[1]) if record.exc_info[1] else None
        if record.exc_text:
            event["exc"] = record.exc_text
        if record.stack_info:
            event["stack"] = record.stack_info
        return json.dumps(event, ensure_ascii=self.ensure_ascii, default=str)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (pytest and the playground swap it)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self._fixed = stream

    @property
    def stream(self) -> TextIO:  # type: ignore[override]
        return self._fixed if self._fixed is not None else sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass  # StreamHandler.__init__ assigns it; the property decides


def level_from_env(default: str = "INFO") -> str:
    value = os.environ.get(LEVEL_ENV, "").strip().upper()
    return value if value in LEVELS else default


def setup(level: str | int = "INFO", stream: TextIO | None = None, *, quiet_libraries: bool = True,
          secrets: Iterable[str | bytes | None] = ()) -> logging.Handler:
    """Route every log record through one JSON-lines handler on the root logger.

    Replaces the handler an earlier setup() installed; other handlers (a test's capture) stay.
    Returns the handler; teardown() removes it.
    """
    teardown()
    add_secrets(*secrets)
    handler = _StderrHandler(stream)
    encoding = (getattr(handler.stream, "encoding", None) or "").lower().replace("-", "")
    handler.setFormatter(JsonFormatter(ensure_ascii=encoding not in ("utf8", "")))
    handler.addFilter(RedactingFilter())
    handler._manshahrdaram = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    root.addHandler(handler)
    numeric = logging.getLevelName(level) if isinstance(level, str) else level
    root.setLevel(numeric)
    if quiet_libraries:
        for name in _NOISY:
            logging.getLogger(name).setLevel(logging.WARNING)
        for name in _CAPPED_AT_INFO:
            logging.getLogger(name).setLevel(max(logging.INFO, numeric))
    # Library warnings (PTB's deprecations…) become records like any other, one line each.
    logging.captureWarnings(True)
    return handler


def teardown() -> None:
    _secrets.clear()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_manshahrdaram", False)]:
        root.removeHandler(handler)
    logging.captureWarnings(False)
