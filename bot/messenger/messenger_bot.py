"""The bot object every Application uses: PTB's ExtBot with three differences, each in its own module.

- getUpdates decodes each update on its own, so one PTB cannot read costs only itself, and a
  flood's presses are dropped before they are built (bot/messenger/update_decoding.py, bot/messenger/flood_door.py);
- sends and edits return a ``SentMessage``, built into a Message only when read
  (bot/messenger/sent_messages.py);
- each keyboard (and the link preview options) is turned into JSON once (bot/messenger/markup_dicts.py);
- a call whose parameters are all JSON already (text, ids, those dicts: nearly every call the bot
  makes) goes out as they are (``_JsonReadyPost``), without PTB's per-parameter conversion.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence

from telegram import Bot, TelegramObject, Update

# PTB's own markers for "not given" (private, but the signature must match Bot.get_updates').
from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
from telegram._utils.types import JSONDict, ODVInput, TimePeriod
from telegram.ext import ExtBot
from telegram.request import RequestData

from bot.messenger import sent_messages
from bot.messenger.markup_dicts import JsonReady, MarkupDicts
from bot.messenger.update_decoding import decode_updates

_SENT_AS_DICTS = ("reply_markup", "link_preview_options")
_PLAIN = (str, int, float, bool, JsonReady)


class JsonReadyRequestData(RequestData):
    """A call's parameters that are JSON values already, handed to the transport as they are.
    PTB's RequestData builds a RequestParameter per parameter, each checked for files, dates and
    objects: a twentieth of the bot's CPU for calls that carry none."""

    __slots__ = ("_plain",)

    def __init__(self, plain: JSONDict) -> None:
        super().__init__()
        self._plain = plain

    @property
    def parameters(self) -> JSONDict:
        return self._plain

    @property
    def json_parameters(self) -> dict[str, str]:
        # As PTB's RequestParameter.json_value: strings as they are, anything else as JSON.
        return {key: value if isinstance(value, str) else json.dumps(value) for key, value in self._plain.items()}


class _JsonReadyPost(Bot):
    """Bot._do_post for calls whose parameters are all JSON values; anything else is PTB's.
    Sits between ExtBot and Bot (see MessengerBot's bases), so ExtBot's rate limiter still wraps it."""

    __slots__ = ()

    async def _do_post(self, endpoint: str, data: JSONDict, **timeouts):  # type: ignore[override]
        if endpoint == "getUpdates" or not all(type(value) in _PLAIN for value in data.values()):
            return await super()._do_post(endpoint, data, **timeouts)
        # PTB's own debug lines, which the operator's logs redact (bot/logs.py).
        self._LOGGER.debug("Calling Bot API endpoint `%s` with parameters `%s`", endpoint, data)
        result = await self._request[1].post(url=f"{self._base_url}/{endpoint}",
                                             request_data=JsonReadyRequestData(data), **timeouts)
        self._LOGGER.debug("Call to Bot API endpoint `%s` finished with return value `%s`", endpoint, result)
        return result


class MessengerBot(ExtBot, _JsonReadyPost):
    """See the module's docstring."""

    __slots__ = ("_flood", "_markups", "_platform")

    def __init__(self, *args, platform: str, flood: Callable[[object], Update | None] | None = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._platform = platform
        self._flood = flood
        self._markups = MarkupDicts()

    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: TimePeriod | None = None,
        allowed_updates: Sequence[str] | None = None,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
        api_kwargs: JSONDict | None = None,
    ) -> tuple[Update, ...]:
        # Bot.get_updates decodes the batch as one; so the request is made here as it makes it,
        # and only the decoding differs. The long poll's own wait is added to the read timeout.
        data: JSONDict = {"timeout": timeout, "offset": offset, "limit": limit, "allowed_updates": allowed_updates}
        base = (read_timeout if not isinstance(read_timeout, DefaultValue) else self._request[0].read_timeout) or 0
        wait = timeout.total_seconds() if isinstance(timeout, dt.timedelta) else (timeout or 0)
        result = await self._post("getUpdates", data, read_timeout=base + wait, write_timeout=write_timeout,
                                  connect_timeout=connect_timeout, pool_timeout=pool_timeout,
                                  api_kwargs=api_kwargs)
        updates = decode_updates(result or (), self, self._platform, self._flood)
        for update in updates:  # what ExtBot.get_updates adds (arbitrary callback data)
            self.insert_callback_data(update)
        return updates

    async def _send_message(self, endpoint: str, data: JSONDict, *args, **kwargs):  # type: ignore[override]
        # Every send and edit of a message goes through here; its answer is kept by _post below.
        answer, token = sent_messages.expect_answer()
        try:
            result = await super()._send_message(endpoint, data, *args, **kwargs)
        finally:
            sent_messages.done(token)
        return result if answer.raw is None else sent_messages.SentMessage(answer.raw, self)

    async def _post(self, endpoint: str, data: JSONDict | None = None, **kwargs):  # type: ignore[override]
        # A keyboard or the link preview options go as the dict made the first time they were
        # sent (bot/messenger/markup_dicts.py).
        if data is not None:
            for key in _SENT_AS_DICTS:
                if isinstance(value := data.get(key), TelegramObject):
                    data[key] = self._markups.as_dict(value)
        return sent_messages.keep_answer(await super()._post(endpoint, data, **kwargs))
