"""aiohttp-backed transport for python-telegram-bot.

PTB's default ``HTTPXRequest`` spends most of its CPU inside httpcore's
connection pool once many requests are in flight (bench/journey.py on this
project's journey: ~55 updates/s with httpx vs ~490 with this class).  ``AiohttpRequest`` implements PTB's
``BaseRequest`` contract on aiohttp so the rest of PTB (status-code mapping to
``BadRequest``/``RetryAfter``/..., JSON parsing) keeps working unchanged: we
only move bytes and translate transport errors the way ``HTTPXRequest`` does.

Security: request URLs contain the bot token (``.../bot<TOKEN>/method``), so
neither exception messages nor chained causes may carry the URL.

Retries: PTB retries nothing but RetryAfter (AIORateLimiter). A timeout, a dropped connection or a
5xx on an edit or a callback answer would end the whole update in the error handler, although
repeating those calls is harmless: the transport repeats them (``retries`` more times, short
backoff). Sending a message is repeated only when it provably never left (the connection could not
be made): after a timeout or a drop mid-call it may have arrived, and a citizen must not get every
answer twice. Those failures still reach the error handler, which says «try again».

Waiting for a connection: by default a call waits for a free connection as long as it takes
(``pool_timeout=None``), in arrival order, instead of failing after a second. A full pool means
the bot has more work in flight than connections, not that the messenger is down: each call ahead
is bounded by its own timeouts, so the wait is too, and failing the call would end a citizen's
update with «try again» (and a press answered once already would be answered a second time by the
error handler). The bot's concurrency is sized to its pool (bot/app.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

__all__ = ["AiohttpRequest"]

log = logging.getLogger(__name__)

# Calls whose repetition changes nothing: the second edit or answer finds the work done.
SAFE_TO_REPEAT = frozenset({
    "answerCallbackQuery", "editMessageText", "editMessageCaption", "editMessageMedia",
    "editMessageReplyMarkup", "deleteMessage", "deleteMessages", "getMe", "getFile", "getChat",
    "getChatMember", "getMyCommands", "setMyCommands", "deleteMyCommands", "setChatMenuButton",
    "getWebhookInfo",
})
_RETRY_STATUSES = frozenset({500, 502, 503, 504})
# What a repeated safe call hears when the first attempt had in fact gone through.
_ALREADY_DONE = ("message is not modified", "query is too old", "message to delete not found")
_DONE_ANSWER = b'{"ok":true,"result":true}'
RETRY_BACKOFF = 0.2  # seconds before the first repetition; doubles after each

# Same text as HTTPXRequest so log searches / alerts keep matching.
_POOL_TIMEOUT_MESSAGE = (
    "Pool timeout: All connections in the connection pool are occupied. "
    "Request was *not* sent to Telegram. Consider adjusting the connection "
    "pool size or the pool timeout."
)


class AiohttpRequest(BaseRequest):
    """``BaseRequest`` on top of one shared ``aiohttp.ClientSession``.

    Timeouts mirror ``HTTPXRequest`` (``None`` means "wait forever"):

    * ``pool_timeout``: waiting for a free slot among ``connection_pool_size``; unlike
      ``HTTPXRequest``'s 1 s, no limit by default (see the module's docstring).
      aiohttp folds pool waiting into its connect timeout and raises the same
      error for both, so we gate requests with our own semaphore to be able to
      raise PTB's distinct pool-timeout message.
    * ``connect_timeout``: establishing a new TCP/TLS connection
      (aiohttp ``sock_connect``).
    * ``read_timeout``: max silence while waiting for / reading the answer
      (aiohttp ``sock_read``; its timer starts once the body is sent).
    * ``write_timeout``: aiohttp has no per-write timeout, so it becomes part of
      a ceiling on "connect + send + first response byte"
      (connect + write + read); the body download is only bounded by
      ``read_timeout`` per chunk, as with httpx.
    * ``media_write_timeout``: like HTTPXRequest, the default write timeout
      used for uploads.

    ``proxy`` is an ``http://`` proxy URL (aiohttp has no built-in SOCKS).
    ``trust_env=True`` (as httpx) also honours HTTP(S)_PROXY / NO_PROXY.
    """

    __slots__ = (
        "_client_timeouts",
        "_connect_timeout",
        "_gate",
        "_media_write_timeout",
        "_pool_size",
        "_pool_timeout",
        "_env_proxies",
        "_proxy",
        "_proxy_by_url",
        "_read_timeout",
        "_retries",
        "_session",
        "_trust_env",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = None,
        proxy: str | None = None,
        media_write_timeout: float | None = 20.0,
        trust_env: bool = True,
        retries: int = 2,
    ):
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be a positive integer")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._retries = max(0, retries)
        self._proxy = proxy
        # httpx (PTB's default) honours HTTPS_PROXY/ALL_PROXY by default;
        # keep that so swapping transports does not silently drop a proxy.
        self._trust_env = trust_env
        # Created in initialize(): a ClientSession must be born inside the
        # running loop, and PTB constructs requests before the loop exists.
        self._session: aiohttp.ClientSession | None = None
        self._env_proxies: dict[tuple[str, str | None], str | None] = {}
        # Made once, not at every call (issue 13): the proxy of each Bot API URL (a few dozen
        # methods; file URLs are not kept) and aiohttp's timeout object of each pair of timeouts.
        self._proxy_by_url: dict[str, str | None] = {}
        self._client_timeouts: dict[tuple[float | None, float | None], aiohttp.ClientTimeout] = {}
        self._gate: asyncio.Semaphore | None = None
        # Read by the broadcast sender: citizens' replies take precedence over broadcast slots.
        self.calls_made = 0

    @property
    def read_timeout(self) -> float | None:
        """Default read timeout (PTB adds it to getUpdates' long-poll timeout)."""
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is not None and not self._session.closed:
            return
        self._gate = asyncio.Semaphore(self._pool_size)
        self._session = aiohttp.ClientSession(
            # The connector limit equals the gate, so aiohttp never queues
            # internally; it is a safety net, the gate does the waiting.
            connector=aiohttp.TCPConnector(limit=self._pool_size),
            headers={"User-Agent": self.USER_AGENT},
            # Per-request ClientTimeout objects replace this; no total cap so
            # long polls and big downloads are governed by sock_read only.
            timeout=aiohttp.ClientTimeout(total=None),
            # Not aiohttp's trust_env: it reads ~/.netrc and the proxy variables in worker
            # threads on every request (a quarter of the bot's CPU in bench/). The environment's
            # proxy is looked up once per host instead (_proxy_for).
            trust_env=False,
            # Telegram errors come back as JSON with 4xx/5xx; BaseRequest
            # turns them into BadRequest/RetryAfter/..., so never raise here.
            raise_for_status=False,
        )

    def _proxy_for(self, url: str) -> str | None:
        """The explicit proxy, else the environment's (HTTPS_PROXY/ALL_PROXY, honouring
        NO_PROXY) for this host, as httpx would pick it; cached per host, and per URL for the
        first ``_URLS_KEPT`` URLs (the Bot API's methods)."""
        if self._proxy is not None or not self._trust_env:
            return self._proxy
        try:
            return self._proxy_by_url[url]
        except KeyError:
            pass
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname)
        if key not in self._env_proxies:
            proxies = urllib.request.getproxies()
            bypass = parts.hostname is not None and urllib.request.proxy_bypass(parts.hostname)
            self._env_proxies[key] = None if bypass else proxies.get(parts.scheme) or proxies.get("all")
        proxy = self._env_proxies[key]
        if len(self._proxy_by_url) < _URLS_KEPT:
            self._proxy_by_url[url] = proxy
        return proxy

    def _client_timeout(self, connect_timeout: float | None, read_timeout: float | None) -> aiohttp.ClientTimeout:
        key = (connect_timeout, read_timeout)
        timeout = self._client_timeouts.get(key)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=read_timeout)
            if len(self._client_timeouts) < _URLS_KEPT:
                self._client_timeouts[key] = timeout
        return timeout

    async def shutdown(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

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
        session, gate = self._session, self._gate
        if session is None or session.closed or gate is None:
            raise RuntimeError("This AiohttpRequest is not initialized!")

        has_files = bool(request_data and request_data.contains_files)
        # DEFAULT_NONE means "caller did not say": use our defaults, exactly
        # like HTTPXRequest (an explicit None means "no timeout").
        if isinstance(read_timeout, DefaultValue):
            read_timeout = self._read_timeout
        if isinstance(connect_timeout, DefaultValue):
            connect_timeout = self._connect_timeout
        if isinstance(pool_timeout, DefaultValue):
            pool_timeout = self._pool_timeout
        if isinstance(write_timeout, DefaultValue):
            write_timeout = self._media_write_timeout if has_files else self._write_timeout

        if gate.locked():
            # Only pay for a timer when we actually have to queue.
            try:
                async with asyncio.timeout(pool_timeout):
                    await gate.acquire()
            except TimeoutError as exc:
                raise TimedOut(message=_POOL_TIMEOUT_MESSAGE) from exc
        else:
            await gate.acquire()

        try:
            return await self._send_with_retries(
                session,
                url,
                method,
                request_data,
                has_files,
                read_timeout,
                write_timeout,
                connect_timeout,
            )
        except TimeoutError as exc:
            # aiohttp's timeout errors subclass TimeoutError; some embed the URL.
            raise TimedOut from _safe_cause(exc, url)
        except aiohttp.ClientError as exc:
            # Class name helps when str(exc) is empty, as in HTTPXRequest.
            text = _redact(str(exc), url)
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {text}") from _safe_cause(
                exc, url
            )
        finally:
            gate.release()

    async def _send_with_retries(
        self,
        session: aiohttp.ClientSession,
        url: str,
        method: str,
        request_data: RequestData | None,
        has_files: bool,
        read_timeout: float | None,
        write_timeout: float | None,
        connect_timeout: float | None,
    ) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1]
        safe = endpoint in SAFE_TO_REPEAT
        attempt = 0
        while True:
            attempt += 1
            last = attempt > self._retries
            self.calls_made += 1
            try:
                status, body = await self._send(
                    session, url, method, request_data, has_files, read_timeout, write_timeout, connect_timeout
                )
            except (TimeoutError, aiohttp.ClientConnectionError) as exc:
                if last or not (safe or _never_sent(exc)):
                    raise
                reason = type(exc).__name__
            else:
                if attempt > 1 and safe and status == 400 and _already_done(body):
                    return 200, _DONE_ANSWER
                if last or not safe or status not in _RETRY_STATUSES:
                    return status, body
                reason = f"HTTP {status}"
            log.debug("%s failed (%s); repeating it (attempt %d)", endpoint, reason, attempt + 1)
            await asyncio.sleep(RETRY_BACKOFF * 2 ** (attempt - 1))

    async def _send(
        self,
        session: aiohttp.ClientSession,
        url: str,
        method: str,
        request_data: RequestData | None,
        has_files: bool,
        read_timeout: float | None,
        write_timeout: float | None,
        connect_timeout: float | None,
    ) -> tuple[int, bytes]:
        timeout = self._client_timeout(connect_timeout, read_timeout)
        data: Any = None
        if request_data is not None:
            data = _build_form(request_data) if has_files else _json_body(request_data)

        budgets = (connect_timeout, write_timeout, read_timeout)
        ceiling = None if None in budgets else sum(budgets)  # type: ignore[arg-type]
        async with asyncio.timeout(ceiling):
            response = await session.request(
                method, url, data=data, timeout=timeout, proxy=self._proxy_for(url)
            )
        # Body: bounded per chunk by sock_read (like httpx's read timeout),
        # not by the ceiling, so big file downloads that make progress finish.
        async with response:
            body = await response.read()
        return response.status, body


def _never_sent(exc: BaseException) -> bool:
    """No connection was made, so the server cannot have seen the request."""
    return isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError))


def _already_done(body: bytes) -> bool:
    try:
        description = str(json.loads(body).get("description", "")).lower()
    except (ValueError, AttributeError):
        return False
    return any(text in description for text in _ALREADY_DONE)


_URLS_KEPT = 256
# One encoder for every call (json.dumps with options makes a new one each time).
_ENCODE_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _json_body(request_data: RequestData) -> aiohttp.BytesPayload:
    """A call without files as a JSON body, which Telegram and Bale both document.

    A form would percent-encode every byte of Persian text (three bytes out per byte in) and
    carry the keyboards as JSON strings inside it: a tenth of the bot's CPU under load went to
    that. ``parameters`` are PTB's values made JSON-ready (objects as dicts); ensure_ascii=False
    keeps Persian as raw UTF-8, not six-byte escapes. The payload carries its content type, so
    no headers are merged for it at every call.
    """
    return aiohttp.BytesPayload(_ENCODE_JSON(request_data.parameters).encode(), content_type="application/json")


def _build_form(request_data: RequestData) -> aiohttp.FormData:
    """Multipart body with the same parts HTTPXRequest sends via data=/files=.

    Plain parameters become plain fields, every InputFile a part with its
    filename and mimetype.  quote_fields=False keeps non-ASCII (Persian)
    filenames as raw UTF-8 like httpx does, instead of percent-encoding them.
    """
    form = aiohttp.FormData(quote_fields=False, charset="utf-8", default_to_multipart=True)
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form


def _token_parts(url: str) -> list[str]:
    """Secret-bearing pieces of a Bot API URL: the URL and its ``bot<token>``
    path segment (also present in file-download URLs)."""
    parts = [url]
    try:
        path = urlsplit(url).path
    except ValueError:
        return parts
    parts.extend(seg for seg in path.split("/") if ":" in seg)
    return parts


def _redact(text: str, url: str) -> str:
    for secret in _token_parts(url):
        if secret:
            text = text.replace(secret, "<redacted>")
    return text


def _safe_cause(exc: BaseException, url: str) -> BaseException | None:
    """Keep the original exception as ``__cause__`` for debugging unless its
    text (or that of anything it chains) would print the token in a traceback."""
    seen: BaseException | None = exc
    depth = 0
    while seen is not None and depth < 10:
        text = f"{seen!s} {seen.args!r}"
        if any(secret and secret in text for secret in _token_parts(url)):
            return None
        seen = seen.__cause__ or seen.__context__
        depth += 1
    return exc
