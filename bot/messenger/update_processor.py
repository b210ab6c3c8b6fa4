"""Concurrent across users, strictly ordered per user.

PTB processes updates one at a time unless given an update processor.  We want
different users served concurrently, but one user's updates must run in arrival
order (ConversationHandler state would otherwise race).

Pass an instance to ``ApplicationBuilder().concurrent_updates(...)``.  Note that
only updates going through ``Application.update_queue`` (polling/webhook) use
the processor; calling ``Application.process_update`` directly bypasses it.

``around(update, coroutine)``, if given, runs each update instead of awaiting
the coroutine itself, in the user's turn (bot/messenger/update_journal.py: skip a
re-delivered update, mark a handled one with the conversation states it left).

An update is decided on as it arrives, before it waits for its sender's turn
(bot/messenger/flood_door.py): a flood must not queue - a task, a coroutine and the
update each, per press.

- ``flood(update)`` gives its flood verdict (FloodDoor.verdict): DROP, it is
  dropped there; otherwise the verdict travels with it to its turn
  (``DECIDED``). A ``DroppedUnread`` (flood control dropped it before it was
  even built) is dropped too;
- ``max_waiting``: a sender with that many updates waiting already (staff are
  not flood-limited, updates without a person are not either, and a handler
  may be slow) has the update dropped too, so no queue grows without bound.

A dropped update costs no API call and is still given to ``around`` with
nothing to run, so the journal marks it handled.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.campaign.flood import Verdict
from bot.messenger.flood_door import DECIDED, DroppedUnread

__all__ = ["PerUserUpdateProcessor"]

log = logging.getLogger(__name__)

# BaseUpdateProcessor.process_update (final) takes *its* semaphore before our
# do_process_update runs.  If that semaphore had the real limit, one flooding
# user's queued updates - all parked on his per-user lock - would hold every
# slot and starve everybody else.  So the base gets an effectively infinite
# limit and the real one is applied after the per-user lock (see below).
_UNBOUNDED = 2**30


class _KeyLock:
    """An asyncio.Lock plus the number of tasks holding or waiting for it, so
    the entry can be dropped as soon as nobody needs it (500k users must not
    leave 500k locks behind)."""

    __slots__ = ("full", "lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0
        self.full = False  # an update was dropped for a full queue (logged once per queue)


async def _nothing() -> None:
    """What a dropped update runs inside ``around``."""


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Per-user FIFO, at most ``max_concurrent_updates`` handlers running.

    Key: the effective user, else the effective chat, else one shared key
    (``None``) so such updates are serialized among themselves.  Ordering is
    per *user*: a ConversationHandler with ``per_user=False`` (one state for a
    whole group) would not be protected.  With ``max_concurrent_updates=1`` the
    Application awaits each update itself, i.e. plain sequential processing.
    """

    __slots__ = ("_around", "_flood", "_gate", "_limit", "_locks", "_max_waiting", "_running", "dropped")

    def __init__(self, max_concurrent_updates: int = 128,
                 around: Callable[[object, Awaitable[Any]], Awaitable[None]] | None = None,
                 flood: Callable[[object], Verdict | None] | None = None,
                 max_waiting: int | None = None):
        """``flood`` and ``max_waiting`` (see the module's docstring): None, every update
        waits for its turn, however many there are."""
        if max_concurrent_updates < 1:
            raise ValueError("`max_concurrent_updates` must be a positive integer!")
        if max_waiting is not None and max_waiting < 1:
            raise ValueError("`max_waiting` must be a positive integer or None!")
        # BaseUpdateProcessor.__init__ sizes its semaphore from the
        # *property* max_concurrent_updates (overridden below), not from its
        # argument - so the property must read "unbounded" while it runs.
        self._limit = _UNBOUNDED
        super().__init__(_UNBOUNDED)
        self._limit = max_concurrent_updates
        self._gate = asyncio.Semaphore(max_concurrent_updates)
        self._locks: dict[Hashable, _KeyLock] = {}
        self._running = 0
        self._around = around
        self._flood = flood
        self._max_waiting = max_waiting
        self.dropped = 0  # updates dropped on arrival (for tests and metrics)

    @property
    def max_concurrent_updates(self) -> int:
        # The Application reads this: > 1 makes it spawn a task per update.
        return self._limit

    @property
    def current_concurrent_updates(self) -> int:
        """Handlers running right now (not counting updates queued per user)."""
        return self._running

    @property
    def active_keys(self) -> int:
        """Keys with an update running or waiting (for tests and metrics)."""
        return len(self._locks)

    @staticmethod
    def key_for(update: object) -> Hashable:
        if isinstance(update, Update):
            if update.effective_user is not None:
                return update.effective_user.id
            if update.effective_chat is not None:
                return update.effective_chat.id
        return None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if isinstance(update, DroppedUnread):
            await self._drop(update, coroutine)
            return
        key = self.key_for(update)
        entry = self._locks.get(key)
        # Decided before any await, so in arrival order (the Application starts
        # one task per update in that order): the flood check sees a person's
        # updates as they came, and the queue's length is the one they join.
        if entry is not None and self._max_waiting is not None and entry.users > self._max_waiting:
            if not entry.full:
                entry.full = True
                log.warning("update %s dropped on arrival: %d updates of the same sender are waiting already "
                            "(more are dropped silently until they are served)",
                            getattr(update, "update_id", "?"), self._max_waiting)
            await self._drop(update, coroutine)
            return
        verdict = None if self._flood is None else self._flood(update)
        if verdict is Verdict.DROP:
            await self._drop(update, coroutine)
            return
        if entry is None:
            entry = self._locks[key] = _KeyLock()
        # No await between get/create and this increment: the entry cannot be
        # deleted under us.  Tasks reach lock.acquire() in creation order and
        # asyncio.Lock wakes waiters FIFO, hence per-key arrival order.
        entry.users += 1
        started = False
        try:
            # Per-user lock FIRST, global gate second: a user waiting for his
            # own previous update never occupies a gate slot.
            async with entry.lock, self._gate:
                started = True
                self._running += 1
                decided = DECIDED.set(verdict)
                try:
                    await (coroutine if self._around is None else self._around(update, coroutine))
                finally:
                    DECIDED.reset(decided)
                    self._running -= 1
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._locks[key]
            if not started and inspect.iscoroutine(coroutine):
                # Cancelled while queued: avoid "coroutine was never awaited".
                coroutine.close()

    async def _drop(self, update: object, coroutine: Awaitable[Any]) -> None:
        self.dropped += 1
        if inspect.iscoroutine(coroutine):
            coroutine.close()  # never started: no "coroutine was never awaited"
        if self._around is not None:
            await self._around(update, _nothing())  # the journal marks it handled

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""
