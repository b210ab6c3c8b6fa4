"""getUpdates decoded one update at a time: an update PTB cannot read costs only itself.

PTB's Bot.get_updates builds the whole batch with one ``Update.de_list``; one update it cannot
build (a poll whose options lack ``persistent_id``, a "kicked" chat member without
``until_date`` — shapes an older Bot API such as Bale's sends) fails the whole batch. The
Updater then never moves its offset, so it fetches the same batch again at once, forever: nobody
is answered and every round logs the batch at CRITICAL.

Here each update is built on its own. One that cannot be is logged once (its id and kind, the
update's top-level key, never its content) and replaced by a bare ``Update(update_id=...)``:
the Updater confirms it like any other (the next offset passes it even when it ends the batch),
no handler matches it (there is no message, user or chat in it), the flood guard passes it
over (no user), and the update journal marks it handled, so a re-delivery after a restart is
skipped there rather than logged again.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence

from telegram import Bot, TelegramObject, Update
# PTB's own markers for "not given" (private, but the signature must match Bot.get_updates').
from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
from telegram._utils.types import JSONDict, ODVInput, TimePeriod
from telegram.ext import ExtBot

from bot import sent_messages
from bot.markup_dicts import MarkupDicts

log = logging.getLogger(__name__)

# A top-level key is the server's field name, not content; long ones are cut for the one line.
_KIND_MAX = 40


def _kind(data: object) -> str:
    if not isinstance(data, dict):
        return f"not an object ({type(data).__name__})"
    kinds = [str(key)[:_KIND_MAX] for key in data if key != "update_id"]
    return ",".join(kinds) or "empty"


def _why(exc: Exception) -> str:
    # TypeError is how PTB's classes refuse a missing or unknown field, and it names the field
    # (`persistent_id` …, missing … 'until_date'): what the operator needs to report upstream.
    # Other messages may quote the value itself (KeyError, ValueError): the type only.
    if isinstance(exc, TypeError):
        return f"{exc.__class__.__name__}: {str(exc)[:200]}"
    return exc.__class__.__name__


def decode_updates(result: Sequence[object], bot: Bot, platform: str,
                   flood: Callable[[object], Update | None] | None = None) -> tuple[Update, ...]:
    """Each raw update as PTB builds it, or, where that fails, a bare placeholder with its id.
    ``flood`` (bot/flood_door.py) passes on what flood control dropped, instead of building it."""
    updates = []
    for data in result:
        if flood is not None and (dropped := flood(data)) is not None:
            updates.append(dropped)
            continue
        try:
            updates.append(Update.de_json(data, bot))  # type: ignore[arg-type]
            continue
        except Exception as exc:  # noqa: BLE001 — whatever PTB raises, the rest of the batch is served
            reason = _why(exc)
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            # Without an id it cannot be confirmed either; the updates after it still are.
            log.warning("%s: an update without a usable update_id (%s) could not be read (%s); skipped",
                        platform, _kind(data), reason)
            continue
        log.warning("%s: update %d (%s) could not be read (%s); skipped and confirmed",
                    platform, update_id, _kind(data), reason, extra={"update_id": update_id, "platform": platform})
        placeholder = Update(update_id=update_id)
        placeholder.set_bot(bot)
        updates.append(placeholder)
    return tuple(updates)


class TolerantBot(ExtBot):
    """PTB's ExtBot whose getUpdates decodes each update on its own (see the module's docstring),
    whose sends and edits return a ``SentMessage``, built into a Message only when read
    (bot/sent_messages.py), and which turns each keyboard into JSON once (bot/markup_dicts.py)."""

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
        # A keyboard goes as the dict made the first time it was sent (bot/markup_dicts.py).
        if data is not None and isinstance(markup := data.get("reply_markup"), TelegramObject):
            data["reply_markup"] = self._markups.as_dict(markup)
        return sent_messages.keep_answer(await super()._post(endpoint, data, **kwargs))
