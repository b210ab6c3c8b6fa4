"""``manshahrdaram receive``: every update committed to the inbox before the messenger is answered.

Webhooks (the default): an aiohttp app behind the operator's TLS reverse proxy.

- ``POST /telegram``: Telegram's ``X-Telegram-Bot-Api-Secret-Token`` header must equal
  receiver.telegram_secret (compared in constant time), else 401;
- ``POST /bale/<receiver.bale_secret>``: Bale documents no secret header, so the secret is the path;
  any other path is 404;
- the answer is 200 only once the update is committed to the inbox (storage/inbox.py; a re-delivered
  update is stored once); 503 when the database cannot take it: the messenger delivers it again later,
  and holds that chat's later updates back meanwhile, so nothing is lost and nobody's order changes;
- ``GET /health``: 200 and a small JSON (the inbox's counts) when the database answers, else 503, for
  a load balancer.

At start it sets each messenger's webhook itself (url, secret, allowed_updates, max_connections), and
deletes it at stop (SIGTERM): updates wait at the messenger until a receiver is back.

``receive --polling``: one receiver runs getUpdates per messenger into the same inbox, and moves the
offset (which confirms a batch to the messenger) only after the batch is committed. Only one polling
receiver may run per bot (the messenger allows one getUpdates at a time).

Secrets (tokens, the webhook secrets) never reach the logs: they are registered with bot/logs.py,
and nothing here logs a request's path or headers.
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from collections.abc import Callable

from aiohttp import web
from telegram import Bot, Update
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot import logs
from bot.campaign.config import Config, ConfigError
from bot.messenger.transport import AiohttpRequest
from bot.runtime import StartupError
from storage.inbox import InboxRepository

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TELEGRAM, BALE = "telegram", "bale"
# getUpdates waits this long for news; the request waits a little longer.
POLL_TIMEOUT = 25
# After a failed getUpdates or a failed commit, the next try waits this long, doubling up to the most.
RETRY_MIN, RETRY_MAX = 0.5, 10.0
# The largest update accepted (Telegram's are a few KB; a message with many entities a few tens).
MAX_BODY = 1 << 20


def webhook_paths(config: Config) -> dict[str, str]:
    """Each enabled messenger's webhook path on the receiver."""
    paths = {}
    for platform in config.enabled_platforms:
        paths[platform.name] = "/telegram" if platform.name == TELEGRAM else f"/bale/{config.receiver.bale_secret}"
    return paths


def check_webhooks(config: Config) -> None:
    """What webhook mode needs from config.toml, as one ConfigError naming the key."""
    receiver = config.receiver
    if not config.enabled_platforms:
        raise ConfigError("telegram.token", "no messenger has a token: `receive` has nothing to receive")
    if not receiver.public_url:
        raise ConfigError("receiver.public_url", "is needed by `manshahrdaram receive` (webhooks), "
                                                 "or run `manshahrdaram receive --polling`")
    names = {p.name for p in config.enabled_platforms}
    if TELEGRAM in names and not receiver.telegram_secret:
        raise ConfigError("receiver.telegram_secret", "is needed for Telegram's webhook (its secret_token)")
    if BALE in names and not receiver.bale_secret:
        raise ConfigError("receiver.bale_secret", "is needed for Bale's webhook (the secret in its path)")


class Receiver:
    """The web app and, with polling, the getUpdates loops; both write to the one inbox."""

    def __init__(self, config: Config, inbox: InboxRepository) -> None:
        self.config, self.inbox = config, inbox
        self.received = 0  # new updates committed (a re-delivery not counted)
        self._db_down = False
        self._telegram_secret = config.receiver.telegram_secret.encode()
        self._bale_secret = config.receiver.bale_secret.encode()
        self._enabled = {p.name for p in config.enabled_platforms}
        logs.add_secrets(config.receiver.telegram_secret or None, config.receiver.bale_secret or None)

    # -- the web app ------------------------------------------------------------------------------

    def web_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/telegram", self._telegram)
        app.router.add_post("/bale/{secret}", self._bale)
        app.router.add_get("/health", self._health)
        return app

    async def _telegram(self, request: web.Request) -> web.Response:
        if TELEGRAM not in self._enabled:
            return web.Response(status=404)
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not self._telegram_secret or not hmac.compare_digest(given, self._telegram_secret):
            return web.Response(status=401)
        return await self._store(TELEGRAM, request)

    async def _bale(self, request: web.Request) -> web.Response:
        given = request.match_info["secret"].encode("utf-8", "replace")
        if BALE not in self._enabled or not self._bale_secret or not hmac.compare_digest(given, self._bale_secret):
            return web.Response(status=404)
        return await self._store(BALE, request)

    async def _store(self, platform: str, request: web.Request) -> web.Response:
        try:
            update = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.Response(status=400)
        update_id = update.get("update_id") if isinstance(update, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return web.Response(status=400)
        if not await self._commit(platform, [update]):
            return web.Response(status=503)
        return web.Response(status=200)

    async def _commit(self, platform: str, updates: list[dict]) -> bool:
        """Stores updates; False (logged once per outage) when the database could not take them."""
        try:
            self.received += await self.inbox.add(platform, updates)
        except Exception as exc:  # noqa: BLE001 — whatever the driver raises, the messenger retries
            if not self._db_down:
                self._db_down = True
                log.error("%s: the database cannot take updates (%s); answering 503 until it can, the messenger "
                          "delivers them again", platform, exc.__class__.__name__)
            return False
        if self._db_down:
            self._db_down = False
            log.info("%s: the database takes updates again", platform)
        return True

    async def _health(self, request: web.Request) -> web.Response:
        try:
            counts = await self.inbox.counts()
        except Exception as exc:  # noqa: BLE001
            return web.json_response({"status": "database unavailable", "error": exc.__class__.__name__}, status=503)
        return web.json_response({"status": "ok", "waiting": counts.waiting, "claimed": counts.claimed,
                                  "oldest_seconds": round(counts.oldest_seconds, 1), "received": self.received})

    # -- webhooks set and removed -----------------------------------------------------------------

    async def set_webhooks(self, bots: dict[str, Bot]) -> None:
        receiver = self.config.receiver
        for name, bot in bots.items():
            url = receiver.public_url + webhook_paths(self.config)[name]
            if name == TELEGRAM:
                await bot.set_webhook(url, secret_token=receiver.telegram_secret, allowed_updates=Update.ALL_TYPES,
                                      max_connections=receiver.max_connections, drop_pending_updates=False)
            else:  # Bale: a URL, nothing more is documented
                await bot.set_webhook(url, allowed_updates=Update.ALL_TYPES)
            log.info("%s: webhook set to %s/…", name, receiver.public_url)

    async def delete_webhooks(self, bots: dict[str, Bot]) -> None:
        for name, bot in bots.items():
            try:
                await bot.delete_webhook(drop_pending_updates=False)
                log.info("%s: webhook deleted; updates wait at the messenger", name)
            except TelegramError as exc:
                log.warning("%s: deleting the webhook failed (%s)", name, exc.__class__.__name__)

    # -- polling ----------------------------------------------------------------------------------

    async def poll(self, name: str, bot: Bot, timeout: int = POLL_TIMEOUT) -> None:
        """getUpdates into the inbox until cancelled; the offset moves only past committed updates."""
        await bot.delete_webhook(drop_pending_updates=False)  # getUpdates is refused while one is set
        offset: int | None = None
        wait = RETRY_MIN
        while True:
            kwargs: dict = {"timeout": timeout, "allowed_updates": Update.ALL_TYPES}
            if offset is not None:
                kwargs["offset"] = offset
            try:
                # Raw: each update is stored as the messenger sent it (Bot.get_updates would build PTB
                # objects; do_api_request refuses known methods), as bot/messenger/messenger_bot.py does.
                batch = await bot._post("getUpdates", kwargs, read_timeout=timeout + 10)
            except TelegramError as exc:
                log.warning("%s: getUpdates failed (%s); trying again in %g s", name, exc.__class__.__name__, wait)
                await asyncio.sleep(wait)
                wait = min(wait * 2, RETRY_MAX)
                continue
            wait = RETRY_MIN
            updates = [u for u in batch or () if isinstance(u, dict) and isinstance(u.get("update_id"), int)]
            if not updates:
                continue
            while not await self._commit(name, updates):
                await asyncio.sleep(wait)
                wait = min(wait * 2, RETRY_MAX)
            wait = RETRY_MIN
            offset = max(u["update_id"] for u in updates) + 1


def make_bots(config: Config) -> dict[str, Bot]:
    return {p.name: Bot(p.token, base_url=p.base_url, base_file_url=p.base_file_url,
                        request=AiohttpRequest(connection_pool_size=4, read_timeout=30.0),
                        get_updates_request=AiohttpRequest(connection_pool_size=2, read_timeout=POLL_TIMEOUT + 10))
            for p in config.enabled_platforms}


async def serve_receiver(config: Config, inbox: InboxRepository, *, polling: bool,
                         ready: Callable[[], None] | None = None, stop: asyncio.Event | None = None) -> None:
    """Runs until SIGTERM/SIGINT (or ``stop``): the web app, and either the webhooks or the polling."""
    if not polling:
        check_webhooks(config)
    receiver = Receiver(config, inbox)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bots = make_bots(config)
    runner = web.AppRunner(receiver.web_app(), access_log=None)
    pollers: list[asyncio.Task] = []
    webhooks_set = False
    await runner.setup()
    try:
        for name, bot in bots.items():
            try:
                await bot.initialize()
            except InvalidToken:
                raise ConfigError(f"{name}.token", "was rejected by the server (check it, or ask BotFather for a new "
                                                   "one)") from None
            except NetworkError as exc:
                raise StartupError(f"{name}: the Bot API at {config.platforms[name].base_url} cannot be reached "
                                   f"({logs.exception_line(exc)}); check {name}.base_url and this machine's "
                                   "network") from None
        site = web.TCPSite(runner, config.receiver.host, config.receiver.port)
        try:
            await site.start()
        except OSError as exc:
            raise StartupError(f"receiver.listen {config.receiver.listen}: cannot listen there "
                               f"({exc.strerror or exc.__class__.__name__})") from None
        if polling:
            pollers = [loop.create_task(receiver.poll(name, bot), name=f"poll:{name}") for name, bot in bots.items()]
        else:
            await receiver.set_webhooks(bots)
            webhooks_set = True
        log.info("receiving on %s (%s)", config.receiver.listen, "polling" if polling else "webhooks")
        if ready is not None:
            ready()
        waiting = loop.create_task(stop.wait())
        await asyncio.wait([waiting, *pollers], return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        for task in pollers:
            if task.done() and task.exception() is not None:
                raise task.exception()
    finally:
        log.info("stopping")
        for task in pollers:
            task.cancel()
        await asyncio.gather(*pollers, return_exceptions=True)
        if webhooks_set:
            await receiver.delete_webhooks(bots)
        await runner.cleanup()
        for bot in bots.values():
            await bot.shutdown()
