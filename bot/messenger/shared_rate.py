"""The bot's send rate shared by every process: slots taken from the database a batch at a time.

Telegram allows about 30 messages a second per bot in bulk; with several worker processes and a
broadcast sender, only a budget they all take from keeps the sum under it. storage/rate_budget.py
keeps the budget (one row per bot, the next free slot, slots ``1 / rate`` apart); each process
holds a ``SharedBudget`` per bot and kind that takes a few slots at a time (one transaction for
about BATCH_WINDOW seconds of sending) and lets each message go at its slot.

Why the combined rate stays under the budget in every second, not only on average:
- every slot is handed out once, and consecutive slots are at least ``1 / rate`` apart;
- slots are in the database's clock. Each process maps them to its own with the offset measured
  over its fastest round trip: the database read its clock between the request and the answer,
  so the true offset is known within half that round trip (``uncertainty``, grown by a possible
  clock drift of DRIFT as the measurement ages; well under a millisecond on one machine);
- a message leaves no earlier than its slot can be, and no later than LATE after its slot can
  be, whatever the offset really is within that uncertainty; a slot missed is thrown away (a busy
  event loop loses a message's turn, never bunches two);
- so messages leave within LATE of their true slots, and the slots are spaced for the configured
  rate less MARGIN: (1 + LATE) * (1 - MARGIN) <= 1 keeps every one-second window at or under the
  configured rate (at most ceil((1 + LATE) * rate * (1 - MARGIN)) slots fall within 1 + LATE s).

Replies before broadcasts: replies book slots up to REPLY_HORIZON ahead and wait in line; a
broadcast books only while the line is shorter than BULK_HORIZON, so replies that keep it longer
hold the broadcast back, down to its MIN_SHARE (storage/rate_budget.py).

Only where several processes share the database (storage.engine.shared_by_processes: PostgreSQL);
on SQLite one process has the whole rate and keeps today's pacing (PTB's AIORateLimiter for
replies, the broadcast sender's own clock).
"""
from __future__ import annotations

import asyncio
import collections
import logging
import math
import time
from collections.abc import Callable

from telegram.ext import AIORateLimiter

from storage.rate_budget import Grant, RateBudgetRepository

log = logging.getLogger(__name__)

MARGIN = 0.025
LATE = 0.025  # seconds a message may leave after its slot: (1 + LATE) * (1 - MARGIN) <= 1
DRIFT = 100e-6  # how fast two clocks may drift apart (100 ppm: a bad quartz, no NTP)
CALIBRATE = 3  # clock readings before the first slots, keeping the fastest round trip
# The most uncertainty a slot's window gives room for. A database so far away that no round trip
# is faster than twice this (a few milliseconds) would leave no usable window at all: then the
# offset measured over the fastest round trip is trusted to this much (clocks kept by NTP on
# both sides are), and a warning says so once.
MOST_UNCERTAIN = LATE / 4
LEAD_EXTRA = 0.003  # beyond a round trip, before a granted slot comes
MOST_LEAD = 0.25
REPLY_HORIZON = 1.0  # a reply waits in line at most this long
BULK_HORIZON = 0.05  # a broadcast books only while the line is shorter than this
BATCH_WINDOW = 0.1  # seconds of sending taken in one transaction
MIN_SHARE = 0.2  # a broadcast's share of the rate while replies take all of it
DEMAND_WINDOW = 1.0  # seconds of recent acquisitions that size the next batch of replies


def budget_name(platform: str, token: str) -> str:
    """One budget per bot: the messenger and the bot's id (the token's part before the colon)."""
    return f"{platform}:{token.split(':', 1)[0]}"


class SharedBudget:
    """One process's share of one bot's budget, for one kind of message (replies or a broadcast)."""

    def __init__(self, repo: RateBudgetRepository, name: str, rate: float, *, bulk: bool = False,
                 clock: Callable[[], float] = time.time) -> None:
        self.repo, self.name, self.bulk = repo, name, bulk
        self.configured = rate
        self.rate = rate * (1 - MARGIN)
        self._clock = clock
        self._slots: collections.deque[float] = collections.deque()  # local clock, ascending
        self._offset = 0.0  # database clock minus local clock
        self._offset_error = math.inf  # the measurement's own bound (half its round trip)
        self._offset_at = 0.0  # when it was measured (local clock)
        self._warned = False
        self._fetch: asyncio.Task | None = None
        self._waiting = 0
        self._recent: collections.deque[float] = collections.deque()  # acquisitions, local clock
        self.taken = self.used = self.wasted = 0  # slots: granted, used, thrown away

    def cap(self, rate: float) -> None:
        """A broadcast that found the messenger's limit under the configured budget (its
        adaptive rate, bot/messenger/broadcast/adaptive.py) takes its slots that far apart;
        never more than the budget."""
        self.rate = min(self.configured, rate) * (1 - MARGIN)

    # -- sending --------------------------------------------------------------------------------

    async def acquire(self) -> None:
        """Returns when one message may leave (the caller sends it at once)."""
        while True:
            now = self._clock()
            self._drop_late(now)
            if not self._slots:
                await self._refill()
                continue
            slot = self._slots.popleft()
            self._prefetch(now)
            error = self.uncertainty(now)
            if slot + error > now:
                await asyncio.sleep(slot + error - now)
                now = self._clock()
            if now > slot - error + LATE:
                self.wasted += 1
                continue
            self.used += 1
            self._note_demand(now)
            return

    def uncertainty(self, now: float) -> float:
        """How far this process's reading of a slot may be from the slot's true moment."""
        return min(MOST_UNCERTAIN, self._measured_error(now))

    def _measured_error(self, now: float) -> float:
        return self._offset_error + DRIFT * abs(now - self._offset_at)

    def due_within(self, seconds: float) -> bool:
        """Whether this process holds a slot that comes within ``seconds`` from now."""
        now = self._clock()
        self._drop_late(now)
        return bool(self._slots) and self._slots[0] + self.uncertainty(now) <= now + seconds

    def _drop_late(self, now: float) -> None:
        error = self.uncertainty(now)
        while self._slots and self._slots[0] - error + LATE < now:
            self._slots.popleft()
            self.wasted += 1

    def _note_demand(self, now: float) -> None:
        self._recent.append(now)
        while self._recent and self._recent[0] < now - DEMAND_WINDOW:
            self._recent.popleft()

    # -- taking slots ---------------------------------------------------------------------------

    def _want(self) -> int:
        most = max(1, math.ceil(self.rate * BATCH_WINDOW))
        if self.bulk:
            return most  # a broadcast sends as fast as it is let
        recent = len(self._recent) / DEMAND_WINDOW
        return max(1, min(most, max(self._waiting, math.ceil(recent * BATCH_WINDOW))))

    def _prefetch(self, now: float) -> None:
        """A broadcast takes its next batch before this one runs out: the line stays unbroken."""
        if not self.bulk or self._fetch is not None:
            return
        # Behind a line of replies a broadcast holds slots far ahead (its minimum share): it
        # keeps asking, so that they come one after another rather than one per line.
        if not self._slots or self._slots[-1] <= now + BULK_HORIZON * 0.8 or self._slots[-1] > now + 2 * BULK_HORIZON:
            self._fetch = asyncio.create_task(self._take())
            self._fetch.add_done_callback(_unawaited)

    async def _refill(self) -> None:
        self._waiting += 1
        try:
            if self._fetch is None:
                self._fetch = asyncio.create_task(self._take())
            await asyncio.shield(self._fetch)
        finally:
            self._waiting -= 1

    async def _take(self) -> None:
        try:
            if self._offset_error == math.inf:
                for _ in range(CALIBRATE):
                    before = self._clock()
                    db_now = await self.repo.clock()
                    self._measure_offset(db_now, before, self._clock())
            while True:
                before = self._clock()
                grant = await self.repo.take(self.name, self.rate, self._want(),
                                             horizon=BULK_HORIZON if self.bulk else REPLY_HORIZON,
                                             bulk=self.bulk, min_share=MIN_SHARE, lead=self._lead())
                after = self._clock()
                self._measure_offset(grant.db_now, before, after)
                if grant.count:
                    self.taken += grant.count
                    local = grant.first_at - self._offset
                    slots = [local + i * grant.interval for i in range(grant.count)]
                    # A grant that crossed an older one in flight still goes in order.
                    if self._slots and self._slots[-1] > slots[0]:
                        self._slots = collections.deque(sorted([*self._slots, *slots]))
                    else:
                        self._slots.extend(slots)
                    if self.bulk and self._behind_replies(grant):
                        continue
                    return
                await asyncio.sleep(max(0.001, grant.retry_at - self._offset - self._clock()))
        finally:
            self._fetch = None

    def _lead(self) -> float:
        """How far ahead a slot must be to reach this process in time: a round trip, and a
        little for the event loop."""
        return min(MOST_LEAD, 2 * self._offset_error + LEAD_EXTRA)

    def _behind_replies(self, grant: Grant) -> bool:
        """A broadcast's slot far back in the replies' line (its minimum share) while it is
        still sending: it asks for the next one at once, so that they keep coming at that share,
        not one per line; a few at most, and not after the broadcast has stopped asking."""
        now = self._clock()
        return (grant.first_at - grant.db_now > 2 * BULK_HORIZON
                and len(self._slots) < math.ceil(REPLY_HORIZON * self.rate * MIN_SHARE) + 1
                and bool(self._recent) and self._recent[-1] > now - REPLY_HORIZON)

    def _measure_offset(self, db_now: float, before: float, after: float) -> None:
        """The database read its clock between ``before`` and ``after``: a measurement is kept
        while its bound, grown by the drift since, is tighter than the new one's."""
        error = (after - before) / 2
        if error <= self._measured_error(after):
            if error > MOST_UNCERTAIN and not self._warned:
                self._warned = True
                log.warning("rate budget %s: the database's clock is known within %.1f ms only (round trip "
                            "%.1f ms); trusted to %.1f ms", self.name, error * 1000, 2 * error * 1000,
                            MOST_UNCERTAIN * 1000)
            self._offset = db_now - (before + after) / 2
            self._offset_error, self._offset_at = error, after


def _unawaited(task: asyncio.Task) -> None:
    """A batch taken ahead that failed (the database away): the next acquire() asks again and
    meets the fault itself; here it is only logged, not left as "never retrieved"."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.warning("rate budget: taking slots ahead failed: %s", exc.__class__.__name__)


def sends_a_message(endpoint: str) -> bool:
    """Whether a Bot API method puts a new message into a chat: what Telegram's ~30 a second in
    bulk counts. Answering a press, editing a message in place, reading (getMe, getFile) and the
    webhook's own calls do not: a surge of presses must not queue behind a broadcast's budget."""
    return endpoint.startswith(_SENDING) and endpoint != "sendChatAction"


_SENDING = ("send", "copyMessage", "forwardMessage")


class SharedRateLimiter(AIORateLimiter):
    """PTB's AIORateLimiter (groups' 20 a minute, RetryAfter waited out and retried) whose every
    call that sends a message (sends_a_message) first takes a slot of the bot's shared budget; a
    retried one takes another."""

    def __init__(self, budget: SharedBudget, max_retries: int = 3) -> None:
        super().__init__(overall_max_rate=0, max_retries=max_retries)
        self.budget = budget

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        if not sends_a_message(endpoint):
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        budget = self.budget

        async def paced(*call_args, **call_kwargs):
            await budget.acquire()
            return await callback(*call_args, **call_kwargs)
        return await super().process_request(paced, args, kwargs, endpoint, data, rate_limit_args)
