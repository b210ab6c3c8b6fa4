"""Paced sending on one messenger, with each outcome written back durably.

Order of writes, which is what makes a crash safe: recipients are read ahead without writing
anything; once their rate slots have come (and their chats' one-second gap has passed) they are
marked 'sending' and committed, and only then do their requests leave; each outcome is committed
after its answer. A row found 'sending' at start-up was a request in flight when a process died:
it may have arrived, so it is reported as uncertain and never sent again. A row read ahead, or
waiting for its slot, is still pending and is sent by the next process. The mark is one commit
for the slots that come within BATCH_SPAN of each other, so a high rate costs a commit per batch,
not per message; outcomes are written as soon as the previous write is done.

On PostgreSQL the slots come from the bot's budget shared with every process's replies
(bot/messenger/shared_rate.py: ``budget``), which also gives replies their priority; on SQLite
this process keeps the rate itself and gives way to the replies it counts (``replies_made``).

The rate itself is found from the messenger's answers (adaptive.py): it starts at the configured
one, drops when 429s show the bot over the messenger's limit and probes upwards while none come,
up to ``ceiling`` (and on PostgreSQL the shared budget's rate).
"""
from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
import math
import warnings
from collections.abc import Callable

from telegram import Bot
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from bot.campaign.clock import Clock
from bot.messenger.broadcast.adaptive import AdaptiveRate, Send
from bot.messenger.broadcast.content import Content
from bot.messenger.shared_rate import SharedBudget
from domain import FAILED, SENT, UNREACHABLE, Delivery, DeliveryResult
from storage.broadcasts import BroadcastRepository

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # a 5xx or a timeout is tried again after 1, 2, 4, 8 s, then counted failed
# Not above the broadcast bot's connections (bot.runtime.BROADCAST_POOL): a request queued for a
# connection has not left, and must not be marked in flight meanwhile.
MAX_IN_FLIGHT = 128
READ_AHEAD = 1.0  # seconds of sending read from the database at once (nothing is written for them)
CATCH_UP = 0.05  # slots missed while waiting for the database are made up, at most 50 ms of them
# Slots gathered into one commit of 'sending' marks: at 1,000/s ten messages leave together every
# 10 ms; at 25/s (a slot every 40 ms) each message is its own batch. The ones waiting are unmarked.
BATCH_SPAN = 0.01
PER_CHAT_GAP = 1.0  # never more than one broadcast message a second to one chat
# A 429 for one message may be about that chat; many of them mean the whole bot is over its
# limit, and then everything waits. The window is at least a second of sending: over only 100
# outcomes, 1% of stray 429s reach 5% by chance a dozen times per 100,000 messages (bench/).
FLOOD_MIN_WINDOW = 100
FLOOD_SHARE = 0.05

WRITE_ATTEMPTS_AT_STOP = 5
TOKEN_PAUSE = 60

# Citizens' replies on the same bot take broadcast slots, down to this share of the rate.
MIN_SHARE = 0.2
MEASURE_EVERY = 0.5  # seconds between looks at the replies' rate

# 400 answers that mean the person cannot be reached, not that the message was wrong.
_GONE = ("chat not found", "user is deactivated", "user not found", "peer_id_invalid")


def _retry_after(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        # PTB 22.2+ warns that the type becomes timedelta; both are handled here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class PlatformSender:
    def __init__(self, platform: str, bot: Bot, repo: BroadcastRepository, clock: Clock, rate: float,
                 replies_made: Callable[[], int] | None = None, budget: SharedBudget | None = None,
                 ceiling: float | None = None) -> None:
        """``rate``: the one to start at; ``ceiling``: the most it may probe up to (None: ``rate``).
        ``replies_made``: how many API calls the bot has made for citizens so far (a counter).
        ``budget``: the bot's rate shared across processes; the slots come from it then."""
        self.platform, self.bot, self.repo, self.clock = platform, bot, repo, clock
        self.budget = budget
        self.adaptive = AdaptiveRate(rate, rate if ceiling is None else ceiling)
        if budget is not None:
            self.adaptive.cap(budget.configured)
            budget.cap(self.adaptive.rate)
        self.replies_made = replies_made
        self._replies_seen: tuple[float, int] | None = None
        self._replies_rate = 0.0
        self._interval = 1 / self.rate
        self.read_ahead = max(1, min(500, math.ceil(rate * READ_AHEAD)))
        self.paused_until = 0.0  # loop time; set by a flood of 429s
        self._next_slot = 0.0
        self._recent_429: collections.deque[bool] = collections.deque(maxlen=max(FLOOD_MIN_WINDOW, math.ceil(rate)))
        self._429s = 0  # how many True are in _recent_429
        self._last_to_chat: dict[int, float] = {}
        self._chat_order: collections.deque[tuple[float, int]] = collections.deque()
        self._results: list[DeliveryResult] = []
        self._results_ready = asyncio.Event()
        # Results handed to the writer and written so far; the count after the last postponement.
        self._handed = self._written = self._postponed_upto = 0
        self._wrote = asyncio.Event()
        self._closing = False
        self._writer: asyncio.Task | None = None
        # Requests that have left and whose outcomes are not yet handed to the writer; they may
        # outlive one run() (see ``until``).
        self._in_flight: set[asyncio.Task] = set()
        self.sent_calls = 0

    @property
    def rate(self) -> float:
        """Messages a second this sender goes at now (the bot's, replies included, on SQLite)."""
        return self.adaptive.rate

    async def run(self, broadcast_id: int, content: Content, keep_going: Callable[[], bool],
                  until: float | None = None) -> None:
        """Sends what can be sent now; returns when nothing is due (finished, cancelled, or only
        postponed recipients are left) or ``keep_going()`` turns false, once every request that
        left has its outcome written.

        ``until`` (loop time): return then too, but leave the requests in flight and their writer
        running — the worker only looks at what has become due and calls run() again. Waiting for
        them there (the server's latency, 50 ms and more) stopped the broadcast every few seconds."""
        loop = asyncio.get_running_loop()
        in_flight = self._in_flight
        if self._writer is None:
            self._closing = False
            self._writer = asyncio.create_task(self._write_results())
        sliced = False
        try:
            queue: collections.deque[Delivery] = collections.deque()
            while keep_going():
                if until is not None and loop.time() >= until:
                    sliced = True
                    break
                if not queue:
                    # Postponed rows are still due in the database until their new time is written.
                    await self._postponements_written()
                    queue.extend(await self.repo.next_due(broadcast_id, self.platform, self.read_ahead,
                                                          self.clock.now()))
                    if not queue:
                        break
                try:
                    uploads = await content.prepare(self.platform)
                except Exception:  # noqa: BLE001 — the send tries the download again, and counts its failure
                    uploads = True
                batch = await self._due(queue, loop, keep_going, 1 if uploads else MAX_IN_FLIGHT, until)
                if batch is None:
                    break
                if not batch:
                    continue
                while in_flight and len(in_flight) + len(batch) > MAX_IN_FLIGHT:
                    await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                marked = await self.repo.mark_sending(broadcast_id, [d.id for d in batch])
                if marked is None:  # stopped by staff
                    break
                tasks = [asyncio.create_task(self._deliver(d, content)) for d in batch if d.id in marked]
                for task in tasks:
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                if uploads and tasks:
                    await tasks[0]  # everyone after it gets the file_id this upload returns
            # What was read ahead and not sent is still pending: nothing to put back.
        finally:
            if not sliced:
                await self.drain()

    async def drain(self) -> None:
        """Every request that left gets its outcome written (also after a run() ended in an error)."""
        if self._in_flight:
            await asyncio.gather(*self._in_flight)
        if self._writer is not None:
            # Not cancelled: a write cut off half-way would leave its rows 'sending'.
            self._closing = True
            self._results_ready.set()
            writer, self._writer = self._writer, None
            await writer

    async def _due(self, queue: collections.deque[Delivery], loop: asyncio.AbstractEventLoop,
                   keep_going: Callable[[], bool], limit: int, until: float | None = None) -> list[Delivery] | None:
        """The next recipients whose slots have come: the first waits for its slot, the others join
        while theirs come within BATCH_SPAN of it. Those whose chat had a message less than a second
        ago are postponed. None: told to stop while waiting. Empty at ``until``."""
        batch: list[Delivery] = []
        closes = math.inf
        while queue and len(batch) < limit:
            if not self._slot_due(closes):
                break
            if not batch and until is not None and loop.time() >= until:
                break
            if not await self._pace(loop, keep_going):
                return None
            closes = min(closes, loop.time() + BATCH_SPAN)
            delivery = queue.popleft()
            if (wait := self._chat_wait(delivery.chat_id, self.clock.now().timestamp())) > 0:
                self._result(DeliveryResult(delivery.id, "pending", self.clock.now() + dt.timedelta(seconds=wait),
                                            attempted=False))
                self._postponed_upto = self._handed
                continue
            batch.append(delivery)
        return batch

    def _slot_due(self, moment: float) -> bool:
        """Whether the next slot comes by ``moment`` (loop time)."""
        if self.budget is not None:
            return self.paused_until <= moment and (
                moment == math.inf or self.budget.due_within(moment - asyncio.get_running_loop().time()))
        return self.paused_until <= moment and self._next_slot <= moment

    async def _pace(self, loop: asyncio.AbstractEventLoop, keep_going: Callable[[], bool]) -> bool:
        """Waits for the next slot; False if told to stop meanwhile (a pause can be long)."""
        now = loop.time()
        while self.paused_until > now:
            await asyncio.sleep(min(self.paused_until - now, 0.5))
            if not keep_going():
                return False
            now = loop.time()
        if self.budget is not None:
            await self.budget.acquire()
            return True
        # Slots missed while waiting for the database are not made up in a burst beyond CATCH_UP.
        self._next_slot = max(self._next_slot, now - CATCH_UP)
        if self._next_slot > now:
            await asyncio.sleep(self._next_slot - now)
        self._next_slot += self._current_interval(now)
        return True

    def _current_interval(self, now: float) -> float:
        """The messenger's limit is for the whole bot: every reply a citizen gets in a second is
        one broadcast message fewer in that second (down to MIN_SHARE of the rate)."""
        if self.replies_made is not None and (
                self._replies_seen is None or now - self._replies_seen[0] >= MEASURE_EVERY):
            count = self.replies_made()
            if self._replies_seen is not None:
                self._replies_rate = (count - self._replies_seen[1]) / (now - self._replies_seen[0])
            self._replies_seen = (now, count)
        self._interval = 1 / max(self.rate * MIN_SHARE, self.rate - self._replies_rate)
        return self._interval

    def _chat_wait(self, chat_id: int, now: float) -> float:
        while self._chat_order and self._chat_order[0][0] <= now - PER_CHAT_GAP:
            moment, chat = self._chat_order.popleft()
            if self._last_to_chat.get(chat) == moment:
                del self._last_to_chat[chat]
        last = self._last_to_chat.get(chat_id)
        if last is not None:
            return last + PER_CHAT_GAP - now
        self._last_to_chat[chat_id] = now
        self._chat_order.append((now, chat_id))
        return 0.0

    async def _deliver(self, delivery: Delivery, content: Content) -> None:
        now = self.clock.now
        is_429 = False
        send = self.adaptive.sent(asyncio.get_running_loop().time())
        try:
            self.sent_calls += 1
            await content.send(self.bot, self.platform, delivery.chat_id)
            result = DeliveryResult(delivery.id, SENT)
        except RetryAfter as exc:
            is_429 = True
            wait = _retry_after(exc)
            self._note_429(wait)
            result = DeliveryResult(delivery.id, "pending", now() + dt.timedelta(seconds=wait))
        except Forbidden:
            result = DeliveryResult(delivery.id, UNREACHABLE)
        except InvalidToken:
            # The whole bot is refused (a revoked token, a messenger outage answering 401/404):
            # nobody is failed for it; everything waits and the operator is told.
            if self.paused_until < asyncio.get_running_loop().time():
                log.error("%s: the messenger refuses the bot's token; broadcasts paused for %d s",
                          self.platform, TOKEN_PAUSE)
            self.paused_until = asyncio.get_running_loop().time() + TOKEN_PAUSE
            self.adaptive.restart_window()
            result = DeliveryResult(delivery.id, "pending", now() + dt.timedelta(seconds=TOKEN_PAUSE), attempted=False)
        except BadRequest as exc:
            gone = any(phrase in exc.message.lower() for phrase in _GONE)
            if not gone:
                log.warning("%s: broadcast message to one chat refused: %s", self.platform, exc.message)
            result = DeliveryResult(delivery.id, UNREACHABLE if gone else FAILED)
        except NetworkError as exc:  # 5xx, timeouts, dropped connections
            if delivery.attempts >= MAX_ATTEMPTS:
                log.warning("%s: broadcast message failed after %d attempts: %s", self.platform, delivery.attempts,
                            exc.__class__.__name__)
                result = DeliveryResult(delivery.id, FAILED)
            else:
                result = DeliveryResult(delivery.id, "pending", now() + dt.timedelta(seconds=2 ** (delivery.attempts - 1)))
        except TelegramError as exc:
            log.warning("%s: broadcast message failed: %s", self.platform, exc.__class__.__name__)
            result = DeliveryResult(delivery.id, FAILED)
        except Exception:  # noqa: BLE001 — every marked row must get an outcome, or it stays 'sending'
            log.exception("%s: broadcast message failed", self.platform)
            result = DeliveryResult(delivery.id, FAILED)
        if not is_429:
            self._note_outcome(False)
        self._adapt(send, is_429)
        self._result(result)

    def _adapt(self, send: Send, is_429: bool) -> None:
        before = self.adaptive.rate
        if self.adaptive.outcome(send, is_429, asyncio.get_running_loop().time(), self._replies_rate):
            self._rate_changed(before)

    def _rate_changed(self, before: float) -> None:
        rate = self.adaptive.rate
        if rate < before:  # the steps up are many and small: not logged
            log.warning("%s: 429s show the bot over the messenger's limit; broadcast rate %.1f -> %.1f messages/s",
                        self.platform, before, rate)
        if self.budget is not None:
            self.budget.cap(rate)
        self.read_ahead = max(1, min(500, math.ceil(rate * READ_AHEAD)))

    def _note_429(self, wait: float) -> None:
        self._note_outcome(True)
        if self._429s >= self._recent_429.maxlen * FLOOD_SHARE:
            loop = asyncio.get_running_loop()
            if self.paused_until < loop.time():
                log.warning("%s: the messenger asks to slow down; pausing broadcasts for %.0f s", self.platform, wait)
            self.paused_until = max(self.paused_until, loop.time() + wait)
            self._recent_429.clear()
            self._429s = 0

    def _note_outcome(self, is_429: bool) -> None:
        window = self._recent_429
        if len(window) == window.maxlen and window[0]:
            self._429s -= 1
        window.append(is_429)
        self._429s += is_429

    def _result(self, result: DeliveryResult) -> None:
        self._results.append(result)
        self._handed += 1
        self._results_ready.set()

    async def _postponements_written(self) -> None:
        while self._written < self._postponed_upto:
            self._wrote.clear()
            await self._wrote.wait()

    async def _write_results(self) -> None:
        failures = 0
        while not self._closing or self._results:
            # Results at hand are written without waiting (also any an earlier run gave up on).
            if not self._results:
                await self._results_ready.wait()
                self._results_ready.clear()
                continue
            results, self._results = self._results, []
            try:
                await self.repo.record(results, self.clock.now())
                failures = 0
                self._written += len(results)
                self._wrote.set()
            except Exception:  # noqa: BLE001 — e.g. the database locked past its timeout
                failures += 1
                self._results[:0] = results  # kept, in order, for the next try
                if self._closing and failures >= WRITE_ATTEMPTS_AT_STOP:
                    # Left 'sending': the next start counts them uncertain, never resends them.
                    log.error("%s: %d broadcast outcome(s) could not be written", self.platform, len(self._results))
                    return
                log.exception("%s: writing broadcast outcomes failed; trying again", self.platform)
                await asyncio.sleep(min(0.5 * 2 ** failures, 5.0))
