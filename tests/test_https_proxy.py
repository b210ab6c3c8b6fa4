"""A server that cannot reach the messenger's API directly goes through an HTTPS proxy: the transport
(bot/messenger/transport.py) honours HTTPS_PROXY and NO_PROXY from the environment, as the README's
"Going live" says. A small proxy stub on the loopback sees the bot's call arrive as a CONNECT tunnel
to the API's host, with TLS inside it (the token travels only in the encrypted part)."""
from __future__ import annotations

import asyncio

import pytest
from telegram.error import NetworkError

from bot.messenger.transport import AiohttpRequest

TOKEN = "123456:SECRET-token-never-in-clear"


class ProxyStub:
    """Accepts one tunnel: records the CONNECT line and the first bytes sent inside it, then closes."""

    def __init__(self) -> None:
        self.heads: list[str] = []
        self.inside: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        self.heads.append(head)
        if head.startswith("CONNECT "):
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            self.inside.append(await reader.read(4096))  # the TLS ClientHello
        writer.close()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc) -> None:
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
def clean_proxy_env(monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
                 "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


async def test_calls_go_through_the_proxy_named_by_https_proxy(clean_proxy_env):
    stub = ProxyStub()
    async with stub as proxy:
        clean_proxy_env.setenv("HTTPS_PROXY", proxy)
        request = AiohttpRequest(connect_timeout=5, read_timeout=5, retries=0)
        await request.initialize()
        try:
            with pytest.raises(NetworkError):  # the stub closes the tunnel: the call fails, it was not sent directly
                await request.do_request(f"https://api.telegram.org/bot{TOKEN}/getMe", "POST")
        finally:
            await request.shutdown()
    assert len(stub.heads) == 1 and stub.heads[0].startswith("CONNECT api.telegram.org:443 HTTP/1.1\r\n")
    hello = stub.inside[0]
    assert hello[:1] == b"\x16" and b"api.telegram.org" in hello  # a TLS handshake naming the API's host
    assert TOKEN.encode() not in hello and TOKEN not in stub.heads[0]


async def test_no_proxy_hosts_and_no_variable_go_direct(clean_proxy_env):
    stub = ProxyStub()
    async with stub as proxy:
        clean_proxy_env.setenv("HTTPS_PROXY", proxy)
        clean_proxy_env.setenv("NO_PROXY", "tapi.bale.ai")
        request = AiohttpRequest()
        assert request._proxy_for("https://tapi.bale.ai/bot1:x/getMe") is None
        assert request._proxy_for("https://api.telegram.org/bot1:x/getMe") == proxy
    clean_proxy_env.delenv("HTTPS_PROXY")
    clean_proxy_env.delenv("NO_PROXY")
    assert AiohttpRequest()._proxy_for("https://api.telegram.org/bot1:x/getMe") is None
    assert stub.heads == []
