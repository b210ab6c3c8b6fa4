"""Webhook delivery, as Telegram does it: once setWebhook names a URL, the bot's updates are POSTed
there as JSON, with the secret_token in the X-Telegram-Bot-Api-Secret-Token header, oldest first and
one at a time; an update is confirmed (forgotten) only when the answer is 2xx, and one that fails (any
other status, no answer) is posted again after a pause, holding the later ones back. getUpdates is
refused (409) while a webhook is set; deleteWebhook stops the deliveries."""
from __future__ import annotations

import asyncio

import aiohttp

from .model import Bot, World

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
RETRY_AFTER = 0.2  # seconds between tries of an update whose delivery failed
POST_TIMEOUT = 10.0


async def deliver(world: World, bot: Bot) -> None:
    """Runs while ``bot.webhook`` is set (the task setWebhook starts)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=POST_TIMEOUT)) as http:
        while bot.webhook is not None and not world.closed:
            if not bot.updates:
                try:
                    await asyncio.wait_for(bot.waiter("updates").wait(), 0.5)
                except TimeoutError:
                    pass
                continue
            hook, update = bot.webhook, bot.updates[0]
            headers = {SECRET_HEADER: hook["secret_token"]} if hook.get("secret_token") else {}
            world.hand_out(bot, [update])
            try:
                async with http.post(hook["url"], json=update, headers=headers) as response:
                    delivered = 200 <= response.status < 300
            except (aiohttp.ClientError, TimeoutError):
                delivered = False
            if delivered:
                world.confirm(bot, update["update_id"] + 1)
                hook["delivered"] = hook.get("delivered", 0) + 1
            else:
                hook["failed"] = hook.get("failed", 0) + 1
                await asyncio.sleep(RETRY_AFTER)
