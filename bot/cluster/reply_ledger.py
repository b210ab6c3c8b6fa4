"""A worker's replies recorded, so an update handled again after a kill is not answered twice.

The window it closes (bot/cluster/worker.py): a worker killed after an update's replies went out
and before the commit that marks the update done leaves it to another worker, which handles it
again and — without this — sends the same replies again (the citizen sees a question twice, a press
is answered twice and the second answer fails).

How: every application of a worker sends through a ``LedgerRequest`` around its HTTP transport.
While the worker handles an update (``ReplyLedger.handling``, a context variable around the update's
handling: tasks the update starts inherit it), each Bot API call that changes something for someone
(send*, edit*, copy*, forward*, delete*, answerCallbackQuery, …: ``changes``) is numbered within the
update and, once the messenger has answered it, recorded — (platform, update_id, seq, method, chat,
the answer) — in PostgreSQL (storage/reply_ledger.py). When an update is claimed again (its inbox
row counts an earlier attempt), the calls recorded for it are loaded first; a call of the re-run that
matches a recorded one is not sent: PTB gets the recorded answer (the message it sent, with its id,
which later edits use). A call that matches none (the re-run took another path: e.g. the state the
first run committed before its reply now reads the same input as the next step's) is sent, and
logged at INFO.

Matching: the re-run's k-th call of a (method, chat) pair matches the k-th recorded call of that
pair. Not the bare sequence number: a press's answer and its edit go out together (handlers/voting.py)
and reach the transport in either order, behind the shared rate budget.

The record is written asynchronously, on a thread with a connection of its own that writes each
call as soon as it is answered, together with whatever else was answered meanwhile
(storage/reply_ledger.LedgerWriter): a reply costs no wait and a fraction of a transaction, and the
write waits neither for the pool's queue nor for a busy event loop. What remains:
- a kill between the messenger's answer and that commit (the answer's way through the event loop to
  the transport, then a round trip to PostgreSQL: ``ReplyLedger.delays`` keeps the measured figures
  from the transport to the commit, logged when the worker stops). Measured in
  tests/cluster/test_e2e_cluster.py on 2 cores shared with other runs (load 4-8): p50 5-12 ms,
  p99 50-105 ms; with a worker's pool instead of this thread it was 150 ms / 840 ms. The kills there
  come right after bursts of answers (a claimed batch replies at once), so a whole batch can fall
  in it: 8-48 held updates per run were still answered twice (without the ledger 36, 82, 113);
- a call recorded when its answer came, not when it went out: with the real messenger's round trip
  (~100 ms) the message is delivered well before it is recorded. Recording the call as it leaves
  would close that part, at the price of guessing an answer for a call whose outcome nobody knows;
- a kill while a call is at the messenger (sent, not yet answered): nothing can know whether it
  arrived;
- a call whose answer was an error is not recorded: it is tried again.
The single SQLite process has no ledger (bot/messenger/update_journal.py describes its window).
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

from storage.reply_ledger import LedgerCall, LedgerWriter, ReplyLedgerRepository

log = logging.getLogger(__name__)

# Methods that change nothing for anyone although their names say so: never recorded, sent each time.
_NOT_CHANGES = frozenset({"sendchataction", "deletewebhook", "deletemycommands", "editmycommands"})
_CHANGES_PREFIXES = ("send", "edit", "copy", "forward", "delete", "answercallbackquery", "answerinlinequery",
                     "pinchatmessage", "unpinchatmessage", "unpinallchatmessages", "setmessagereaction",
                     "stoppoll", "stopmessagelivelocation")
# Where a call is addressed, in the order looked for.
_TARGETS = ("chat_id", "callback_query_id", "inline_message_id", "inline_query_id", "user_id")
# Calls waiting for the committer at most: beyond, the oldest are dropped (the database is away;
# the updates they belong to are not done either and will be handled again, sending them again).
PENDING_MAX = 50_000
# Delays (answer -> commit) kept for the figures.
DELAYS_KEPT = 10_000


def changes(method: str) -> bool:
    """Whether a Bot API call changes something someone sees (so sending it twice shows twice)."""
    name = method.lower()
    return name not in _NOT_CHANGES and name.startswith(_CHANGES_PREFIXES)


def target_of(request_data: RequestData | None) -> str:
    if request_data is None:
        return ""
    parameters = request_data.parameters
    for name in _TARGETS:
        value = parameters.get(name)
        if value is not None:
            return str(value)
    return ""


@dataclass
class UpdateCalls:
    """One update's calls while a worker handles it."""
    platform: str
    update_id: int
    # Recorded by an earlier attempt and not matched yet, per (method, chat), in their order.
    earlier: dict[tuple[str, str], deque[LedgerCall]] = field(default_factory=dict)
    seq: int = 0
    replayed: int = 0  # calls answered from the ledger
    sent_anew: int = 0  # calls of a re-run that matched nothing recorded

    def take(self, method: str, target: str) -> LedgerCall | None:
        queue = self.earlier.get((method, target))
        if not queue:
            return None
        call = queue.popleft()
        if not queue:
            del self.earlier[(method, target)]
        return call


_CURRENT: contextvars.ContextVar[UpdateCalls | None] = contextvars.ContextVar("reply_ledger_update", default=None)


class ReplyLedger:
    """One per worker process: the update being handled (a context variable), the recorded calls
    waiting for their commit, and the committer."""

    def __init__(self, repo: ReplyLedgerRepository | None = None) -> None:
        self.repo = repo  # set by the worker once the runtime's database is open (attach)
        self.writer: LedgerWriter | None = None
        self.recorded = 0
        self.replayed = 0
        self.sent_anew = 0
        self.delays: deque[float] = deque(maxlen=DELAYS_KEPT)  # seconds from an answer to its commit
        self._pending: list[tuple[LedgerCall, float]] = []
        self._committer: asyncio.Task | None = None

    def attach(self, db: Any) -> None:
        """Records on ``db`` (the runtime's, open): on PostgreSQL through a connection and thread of
        its own (storage/reply_ledger.LedgerWriter), else through ``db``'s writes."""
        self.repo = ReplyLedgerRepository(db)
        url = getattr(db, "url", None)
        if url is not None and self.writer is None:
            self.writer = LedgerWriter(url, self._written)
            self.writer.start()

    def _written(self, delays: list[float]) -> None:
        # On the writer's thread: counters only.
        self.recorded += len(delays)
        self.delays.extend(delays)

    async def close(self) -> None:
        """Writes what is waiting, then lets the writer's connection go."""
        await self.flush()
        if self.writer is not None:
            writer, self.writer = self.writer, None
            await asyncio.to_thread(writer.close)

    def wrap(self, platform: str, request: BaseRequest) -> BaseRequest:
        """For Runtime.wrap_request: the applications' transport, recording."""
        return LedgerRequest(request, self)

    async def calls_for(self, platform: str, update_id: int, attempts: int) -> UpdateCalls:
        """The update's calls so far: those recorded by earlier attempts when its inbox row counts
        one (``attempts`` > 1; a first attempt costs no read)."""
        calls = UpdateCalls(platform, update_id)
        if attempts <= 1 or self.repo is None:
            return calls
        recorded = await self.repo.calls_of(platform, update_id)
        for call in recorded:
            calls.earlier.setdefault((call.method, call.chat_id), deque()).append(call)
        calls.seq = max((c.seq for c in recorded), default=0)
        if recorded:
            log.info("%s: update %d handled again: %d call(s) of the earlier attempt recorded", platform,
                     update_id, len(recorded), extra={"update_id": update_id, "platform": platform})
        return calls

    @contextmanager
    def handling(self, calls: UpdateCalls):
        """The calls made inside (and in the tasks started inside) belong to ``calls``' update."""
        token = _CURRENT.set(calls)
        try:
            yield calls
        finally:
            _CURRENT.reset(token)
            self.replayed += calls.replayed
            self.sent_anew += calls.sent_anew

    # -- recording --------------------------------------------------------------------------------

    def record(self, call: LedgerCall) -> None:
        if self.writer is not None:
            self.writer.put(call)
            return
        if self.repo is None:
            return
        self._pending.append((call, time.monotonic()))
        if len(self._pending) > PENDING_MAX:
            del self._pending[: len(self._pending) - PENDING_MAX]
        if self._committer is None:
            self._committer = asyncio.get_running_loop().create_task(self._drain(), name="reply-ledger",
                                                                     context=contextvars.Context())

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    await self.repo.record([call for call, _ in batch])
                except Exception as exc:  # noqa: BLE001 — the committer must outlive a database away
                    self._pending[:0] = batch  # the next call's commit, or flush(), tries again
                    log.warning("reply ledger: recording %d call(s) failed (%s)", len(batch), exc.__class__.__name__)
                    return
                now = time.monotonic()
                self.recorded += len(batch)
                self.delays.extend(now - at for _, at in batch)
        finally:
            self._committer = None

    async def flush(self) -> None:
        """Everything recorded so far, committed (or tried once more)."""
        if self.writer is not None:
            if not await asyncio.to_thread(self.writer.wait_written, 5.0):
                log.warning("reply ledger: calls still not written after 5 s")
        if self._committer is not None:
            await asyncio.shield(self._committer)
        if self._pending:
            self._committer = asyncio.get_running_loop().create_task(self._drain(), name="reply-ledger")
            await asyncio.shield(self._committer)

    def figures(self) -> str:
        delays = sorted(self.delays)
        if not delays:
            return f"{self.recorded} call(s) recorded, {self.replayed} answered from it"
        p50, p99 = delays[len(delays) // 2], delays[min(len(delays) - 1, int(len(delays) * 0.99))]
        return (f"{self.recorded} call(s) recorded (answer to commit: p50 {p50 * 1000:.1f} ms, "
                f"p99 {p99 * 1000:.1f} ms, max {delays[-1] * 1000:.1f} ms), {self.replayed} answered from it, "
                f"{self.sent_anew} re-run call(s) sent anew")


class LedgerRequest(BaseRequest):
    """A worker's BaseRequest: sends through ``inner``; inside an update's handling, records the calls
    that change something, and answers a re-run's calls recorded already from the ledger."""

    __slots__ = ("inner", "ledger")

    def __init__(self, inner: BaseRequest, ledger: ReplyLedger) -> None:
        self.inner, self.ledger = inner, ledger

    @property
    def read_timeout(self) -> float | None:
        return self.inner.read_timeout

    @property
    def calls_made(self) -> int:
        # Read by the broadcast sender (bot/runtime.py); AttributeError when the transport has none.
        return self.inner.calls_made

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = BaseRequest.DEFAULT_NONE, write_timeout: Any = BaseRequest.DEFAULT_NONE,
                         connect_timeout: Any = BaseRequest.DEFAULT_NONE,
                         pool_timeout: Any = BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        calls = _CURRENT.get()
        api_method = url.rsplit("/", 1)[-1]
        if calls is None or not changes(api_method):
            return await self.inner.do_request(url, method, request_data, read_timeout, write_timeout,
                                               connect_timeout, pool_timeout)
        target = target_of(request_data)
        earlier = calls.take(api_method, target)
        if earlier is not None:
            calls.replayed += 1
            log.debug("%s: update %d: %s recorded by the earlier attempt; not sent again", calls.platform,
                      calls.update_id, api_method)
            return earlier.status, earlier.response.encode()
        if calls.replayed or calls.earlier:
            calls.sent_anew += 1
            log.info("%s: update %d handled again: %s matches no recorded call; sent", calls.platform,
                     calls.update_id, api_method, extra={"update_id": calls.update_id, "platform": calls.platform})
        calls.seq += 1
        seq = calls.seq
        status, body = await self.inner.do_request(url, method, request_data, read_timeout, write_timeout,
                                                   connect_timeout, pool_timeout)
        if 200 <= status < 300:
            self.ledger.record(LedgerCall(calls.platform, calls.update_id, seq, api_method, target, status,
                                          body.decode("utf-8", "replace")))
        return status, body
