"""AiohttpRequest against a real local HTTP server, driven by a real telegram.Bot.

The server mimics just enough of the Bot API (URL layout, JSON / multipart
bodies, JSON answers) to prove the wire format and the error mapping.
"""

import asyncio
import json
import socket
import time
import traceback

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.messenger.transport import AiohttpRequest

TOKEN = "123456:SECRET-token_abcdefghijklmnop"


class FakeBotApi:
    """Tiny aiohttp.web app answering /bot<token>/<method>."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict]] = []  # (method, fields)
        self.files: list[dict] = []  # uploaded parts with filename
        self.content_types: list[str] = []
        self.raw_bodies: list[bytes] = []  # JSON bodies as sent
        self.delays: dict[str, float] = {}  # method -> seconds before answering
        self.errors: dict[str, tuple[int, dict]] = {}  # method -> (status, body)
        self.port = 0
        self._release = asyncio.Event()  # ends artificial delays at teardown
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        assert request.match_info["token"] == TOKEN
        self.content_types.append(request.content_type)
        fields: dict[str, str] = {}
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                data = await part.read()
                if part.filename is not None:
                    self.files.append(
                        {
                            "name": part.name,
                            "filename": part.filename,
                            "content_type": part.headers.get("Content-Type"),
                            "data": bytes(data),
                        }
                    )
                else:
                    fields[part.name] = data.decode()
        elif request.content_type == "application/json":
            raw = await request.read()
            self.raw_bodies.append(raw)
            fields = json.loads(raw)
        else:
            fields = dict(await request.post())
        self.received.append((method, fields))

        if method in self.delays:
            try:
                await asyncio.wait_for(self._release.wait(), self.delays[method])
            except TimeoutError:
                pass
        if method in self.errors:
            status, body = self.errors[method]
            return web.json_response(body, status=status)
        return web.json_response({"ok": True, "result": self._result(method, fields)})

    @staticmethod
    def _result(method: str, fields: dict) -> object:
        if method == "getMe":
            return {"id": 123456, "is_bot": True, "first_name": "Bot", "username": "t_bot"}
        if method in ("sendMessage", "sendPhoto"):
            message = {
                "message_id": 7,
                "date": int(time.time()),
                "chat": {"id": int(fields["chat_id"]), "type": "private"},
            }
            if "text" in fields:
                message["text"] = fields["text"]
            if method == "sendPhoto":
                message["photo"] = [
                    {"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}
                ]
            return message
        return True


@pytest.fixture
async def api():
    server = FakeBotApi()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def make_bot(api: FakeBotApi, **request_kwargs) -> Bot:
    return Bot(TOKEN, request=AiohttpRequest(**request_kwargs), base_url=api.base_url)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_json_call_round_trip(api):
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("بله", callback_data="yes")]])
    async with make_bot(api) as bot:  # initialize() calls getMe
        assert bot.username == "t_bot"
        message = await bot.send_message(chat_id=42, text="سلام دنیا", reply_markup=markup)

    assert message.message_id == 7
    assert message.text == "سلام دنیا"
    assert [m for m, _ in api.received] == ["getMe", "sendMessage"]
    fields = api.received[1][1]
    # No files: one JSON object with the values as JSON values (not JSON strings inside a form).
    assert api.content_types[1] == "application/json"
    assert fields == {
        "chat_id": 42,
        "text": "سلام دنیا",
        "reply_markup": {"inline_keyboard": [[{"text": "بله", "callback_data": "yes"}]]},
    }
    # Persian travels as UTF-8, neither percent-encoded nor as \u escapes.
    assert "سلام دنیا".encode() in api.raw_bodies[1]


async def test_file_upload_is_multipart(api):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    async with make_bot(api) as bot:
        await bot.send_photo(chat_id=42, photo=png, caption="عکس")
        await bot.send_photo(chat_id=42, photo=png, filename="نقشه.png")

    assert api.content_types[1:] == ["multipart/form-data", "multipart/form-data"]
    first, second = api.files
    assert first["name"] == "photo"
    assert first["data"] == png
    assert first["filename"]  # PTB always names the part (here from the mimetype)
    assert first["content_type"] == "application/octet-stream"
    assert api.received[1][1] == {"chat_id": "42", "caption": "عکس"}
    # Persian filenames travel as raw UTF-8 like httpx, not percent-encoded.
    assert second["filename"] == "نقشه.png"
    assert second["content_type"] == "image/png"
    assert second["data"] == png


async def test_slow_server_times_out(api):
    api.delays["sendMessage"] = 2
    async with make_bot(api, read_timeout=0.2) as bot:
        started = time.monotonic()
        with pytest.raises(TimedOut):
            await bot.send_message(chat_id=1, text="x")
        assert time.monotonic() - started < 1.5


async def test_explicit_timeout_overrides_default(api):
    api.delays["sendMessage"] = 2
    async with make_bot(api, read_timeout=30) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(chat_id=1, text="x", read_timeout=0.2)


async def test_pool_timeout_has_ptb_message(api):
    api.delays["sendMessage"] = 1
    async with make_bot(api, connection_pool_size=1, pool_timeout=0.1) as bot:
        first = asyncio.create_task(bot.send_message(chat_id=1, text="slow"))
        while len(api.received) < 2:  # getMe + the slow sendMessage arrived
            await asyncio.sleep(0.01)
        with pytest.raises(TimedOut, match="Pool timeout"):
            await bot.send_message(chat_id=1, text="queued")
        await first  # the slot holder itself is unaffected


async def test_refused_port_is_network_error_without_token():
    bot = Bot(
        TOKEN,
        request=AiohttpRequest(connect_timeout=2),
        base_url=f"http://127.0.0.1:{free_port()}/bot",
    )
    with pytest.raises(NetworkError) as info:
        await bot.initialize()
    await bot.shutdown()

    assert not isinstance(info.value, TimedOut)
    assert str(info.value).startswith("aiohttp.")
    rendered = "".join(traceback.format_exception(info.value))  # includes chained causes
    assert TOKEN not in rendered
    assert TOKEN.split(":")[1] not in rendered


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_error_answers_become_ptb_exceptions(api):
    api.errors["sendMessage"] = (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7},
        },
    )
    api.errors["editMessageText"] = (
        400,
        {"ok": False, "error_code": 400, "description": "Bad Request: message is not modified"},
    )
    api.errors["sendChatAction"] = (
        403,
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
    )
    async with make_bot(api) as bot:
        with pytest.raises(RetryAfter) as retry:
            await bot.send_message(chat_id=1, text="x")
        # .retry_after's type is mid-deprecation (int -> timedelta); the text is stable.
        assert "Retry in 7 seconds" in str(retry.value)
        with pytest.raises(BadRequest, match="(?i)message is not modified"):
            await bot.edit_message_text("x", chat_id=1, message_id=1)
        with pytest.raises(Forbidden, match="blocked"):
            await bot.send_chat_action(chat_id=1, action="typing")


async def test_lifecycle_is_idempotent(api):
    request = AiohttpRequest()
    # BaseRequest wraps any non-Telegram error of do_request into NetworkError.
    with pytest.raises(NetworkError, match="not initialized"):
        await request.post(f"{api.base_url}{TOKEN}/getMe")
    await request.initialize()
    await request.initialize()
    assert request.read_timeout == 5.0
    await request.shutdown()
    await request.shutdown()
    async with request:  # usable again after a shutdown
        result = await request.post(f"{api.base_url}{TOKEN}/getMe")
    assert result["username"] == "t_bot"


async def test_aiohttp_errors_quoting_the_url_are_redacted():
    # Some aiohttp errors (invalid URL, connect timeout, body write) embed the
    # full URL, i.e. the token; they must not reach our message or its cause.
    async with AiohttpRequest() as request:
        with pytest.raises(NetworkError) as info:
            await request.post(f"htp://127.0.0.1/bot{TOKEN}/getMe")
    rendered = "".join(traceback.format_exception(info.value))
    assert "aiohttp.NonHttpUrlClientError" in rendered
    assert TOKEN not in rendered


def test_environment_proxy_is_honoured_per_host_like_httpx(monkeypatch):
    from bot.messenger.transport import AiohttpRequest

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    for name in ("https_proxy", "no_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    request = AiohttpRequest()
    assert request._proxy_for("https://api.telegram.org/bot1:x/getMe") == "http://proxy.example:3128"
    assert request._proxy_for("http://127.0.0.1:8081/bot1:x/getMe") is None
    assert AiohttpRequest(trust_env=False)._proxy_for("https://api.telegram.org/bot1:x/getMe") is None
    assert AiohttpRequest(proxy="http://explicit:1")._proxy_for("https://tapi.bale.ai/bot1:x/getMe") == "http://explicit:1"
    # Looked up once per URL (issue 13: no per-call work that can be done once), for a bounded number of URLs.
    monkeypatch.setattr(transport_module(), "urlsplit", lambda url: pytest.fail(f"{url} split again"))
    assert request._proxy_for("https://api.telegram.org/bot1:x/getMe") == "http://proxy.example:3128"
    assert request._proxy_for("http://127.0.0.1:8081/bot1:x/getMe") is None
    monkeypatch.undo()
    for n in range(transport_module()._URLS_KEPT * 2):
        request._proxy_for(f"https://api.telegram.org/file/bot1:x/photos/{n}.jpg")
    assert len(request._proxy_by_url) == transport_module()._URLS_KEPT


def transport_module():
    import bot.messenger.transport
    return bot.messenger.transport


def test_timeouts_are_made_once_per_pair():
    from bot.messenger.transport import AiohttpRequest

    request = AiohttpRequest()
    first = request._client_timeout(5.0, 30.0)
    assert request._client_timeout(5.0, 30.0) is first
    assert (first.total, first.sock_connect, first.sock_read) == (None, 5.0, 30.0)
    other = request._client_timeout(5.0, None)
    assert other is not first and other.sock_read is None
