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

A pressed button's update carries the whole message it sits under, keyboard included (a ballot's
rows, the welcome's 27 neighbourhoods). Nothing reads that keyboard (a handler that changes it
sends a new one), yet building its buttons was most of the cost of reading a press: it is left
out before the update is built (``_without_pressed_keyboard``). So is its formatting (``entities``)
for the presses whose handlers replace the whole message or send a new one and never read the
pressed text's formatting (``FORMATTING_UNREAD``: the ballot's votes and pages, the
neighbourhoods): PTB turns each entity's type into an enum member, slowly, and a ballot has
several. A press of any other family keeps it (choosing a category, for one, rebuilds the pressed
text with its bold: handlers/proposals.py).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from telegram import Bot, Update

from bot.messenger import buttons as bt

log = logging.getLogger(__name__)

# The button families whose handlers never read the pressed message's formatting (see above).
FORMATTING_UNREAD = (bt.Vote, bt.BallotPage, bt.Neighbourhood)

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


_KEYBOARD = frozenset({"reply_markup"})
_KEYBOARD_AND_FORMATTING = frozenset({"reply_markup", "entities"})


def _formatting_unread(pressed: object) -> bool:
    return isinstance(pressed, str) and any(family.PATTERN.match(pressed) for family in FORMATTING_UNREAD)


def _without_pressed_keyboard(data: object) -> object:
    """The update as sent, but a pressed button's message without its keyboard, and without its
    formatting where nothing reads it (see above). The server's dicts are left as they are: a copy
    of the two levels that change."""
    if not isinstance(data, dict) or not isinstance(query := data.get("callback_query"), dict):
        return data
    message = query.get("message")
    if not isinstance(message, dict):
        return data
    left_out = _KEYBOARD_AND_FORMATTING if _formatting_unread(query.get("data")) else _KEYBOARD
    if left_out.isdisjoint(message):
        return data
    message = {key: value for key, value in message.items() if key not in left_out}
    return {**data, "callback_query": {**query, "message": message}}


def decode_updates(result: Sequence[object], bot: Bot, platform: str,
                   flood: Callable[[object], Update | None] | None = None) -> tuple[Update, ...]:
    """Each raw update as PTB builds it, or, where that fails, a bare placeholder with its id.
    ``flood`` (bot/messenger/flood_door.py) passes on what flood control dropped, instead of building it."""
    updates = []
    for data in result:
        if flood is not None and (dropped := flood(data)) is not None:
            updates.append(dropped)
            continue
        try:
            updates.append(Update.de_json(_without_pressed_keyboard(data), bot))  # type: ignore[arg-type]
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
