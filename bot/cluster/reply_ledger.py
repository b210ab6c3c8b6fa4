"""A worker's replies recorded, so an update handled again after a kill is not answered twice.

The window it closes (bot/cluster/worker.py): a worker killed after an update's replies went out
and before the commit that marks the update done leaves it to another worker, which handles it
again and — without this — sends the same replies again (the citizen sees a question twice, a press
is answered twice and the second answer fails).

How: every application of a worker sends through a ``LedgerRequest`` around its HTTP transport.
While the worker handles an update (``ReplyLedger.handling``, a context variable around the update's
handling: tasks the update starts inherit it), each Bot API call that changes something for someone
(send*, edit*, copy*, forward*, delete*, answerCallbackQuery, …: ``changes``) is numbered within the
update and recorded twice in PostgreSQL (storage/reply_ledger.py): as it leaves — (platform,
update_id, seq, method, chat), no answer (status 0) — and a call that makes a new message (send*,
copy*, forward*: ``creates``) waits for that commit before it goes (an edit or a press's answer sent
twice shows nothing twice, and does not wait); then with the messenger's answer, which replaces it. When an update is claimed again (its inbox
row counts an earlier attempt), the calls recorded for it are loaded first; a call of the re-run that
matches a recorded one with an answer is not sent: PTB gets the recorded answer (the message it sent,
with its id, which later edits use). One that matches a call recorded without an answer — it was at
the messenger when the worker died, or its answer was not committed yet — is sent again, under its
number, and logged ("in flight"); a call the messenger refused (429, 4xx) is not matched. A call that
matches nothing (the re-run took another path) is sent, and logged at INFO. The re-run starts from
the conversation states the first attempt found (bot/messenger/update_journal.TAKEN_OVER), so it
takes the same path.

Matching: the re-run's k-th call of a (method, chat) pair matches the k-th recorded call of that
pair. Not the bare sequence number: a press's answer and its edit go out together (handlers/voting.py)
and reach the transport in either order, behind the shared rate budget.

The records are written on a thread with a connection of its own (storage/reply_ledger.LedgerWriter,
synchronous_commit off), each batch as soon as it comes, together with whatever else came meanwhile:
a new message waits for about one round trip to PostgreSQL before it leaves (``ReplyLedger.leaving_waits``,
logged with the other figures when the worker stops: p50 22-28 ms, p99 116-154 ms in the cluster e2e
at load 7-10 on 2 shared cores; 30-120 ms / 0.4-1.3 s at load 12-18 when every call waited), and the
answers cost no wait. What remains:
- a kill while a call is out (its leaving recorded, its answer not yet): nothing can know whether
  it arrived; the re-run sends it again, so the citizen may see it twice. tests/cluster/test_e2e_cluster.py
  asserts that every step answered twice is such a one. Telegram's round trip (~100 ms) makes this
  window about that long per call;
- a call whose leaving could not be committed within LEAVE_WAIT (the database slow or away) is sent
  unrecorded, as without a ledger, and logged.
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
# A call waits this long at most for its record to be committed before it leaves (the database slow
# or away): then it goes unrecorded, as before the ledger, rather than hold the reply.
LEAVE_WAIT = 2.0


def changes(method: str) -> bool:
    """Whether a Bot API call changes something someone sees (so sending it twice shows twice)."""
    name = method.lower()
    return name not in _NOT_CHANGES and name.startswith(_CHANGES_PREFIXES)


# Calls that make something new each time they are sent (a message): sent twice, shown twice.
_CREATES_PREFIXES = ("send", "copy", "forward")


def creates(method: str) -> bool:
    """Whether sending the call twice shows twice (the record of its leaving is waited for)."""
    return method.lower().startswith(_CREATES_PREFIXES) and changes(method)


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
    in_flight: int = 0  # calls the earlier attempt sent without an answer recorded: sent again

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
        self.in_flight = 0  # calls sent again: the earlier attempt's had left with no answer recorded
        self.unrecorded = 0  # calls sent before their leaving was recorded (the database too slow)
        self.leaving_waits: deque[float] = deque(maxlen=DELAYS_KEPT)  # a call's wait for its record
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
        # Refused ones (429, 4xx) changed nothing: not matched (PTB's retry of one is the next row).
        for call in [c for c in recorded if c.answered or not c.status]:
            calls.earlier.setdefault((call.method, call.chat_id), deque()).append(call)
        calls.seq = max((c.seq for c in recorded), default=0)
        if recorded:
            log.info("%s: update %d handled again: %d call(s) of the earlier attempt recorded", platform,
                     update_id, len(recorded), extra={"update_id": update_id, "platform": platform})
        return calls

    async def leaving(self, call: LedgerCall) -> None:
        """Records ``call`` (no answer yet) and returns once that is committed, at most LEAVE_WAIT
        later: a worker killed from now on until the answer is recorded leaves a call the re-run
        sends again, knowing it may have arrived (the only duplicates left)."""
        started = time.monotonic()
        if self.writer is None:
            if self.repo is not None:
                await self.repo.record([call])
            return
        loop = asyncio.get_running_loop()
        written = loop.create_future()

        def done() -> None:  # on the writer's thread
            loop.call_soon_threadsafe(lambda: written.done() or written.set_result(None))
        if not self.writer.put(call, done):
            self.unrecorded += 1
            return
        try:
            await asyncio.wait_for(written, LEAVE_WAIT)
        except TimeoutError:
            self.unrecorded += 1
            log.warning("%s: update %d: %s sent before its record was committed (%g s)", call.platform,
                        call.update_id, call.method, LEAVE_WAIT, extra={"update_id": call.update_id})
        self.leaving_waits.append(time.monotonic() - started)

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
            self.in_flight += calls.in_flight

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
        def spread(values) -> str:
            ordered = sorted(values)
            if not ordered:
                return "none"
            p50, p99 = ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
            return f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms"
        return (f"{self.recorded} answer(s) recorded (answer to commit: {spread(self.delays)}; a call's wait for "
                f"its record before it leaves: {spread(self.leaving_waits)}), {self.replayed} answered from it, "
                f"{self.in_flight} sent again (in flight at a kill), {self.sent_anew} re-run call(s) sent anew, "
                f"{self.unrecorded} sent unrecorded")


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
        if earlier is not None and earlier.answered:
            calls.replayed += 1
            log.debug("%s: update %d: %s recorded by the earlier attempt; not sent again", calls.platform,
                      calls.update_id, api_method)
            return earlier.status, earlier.response.encode()
        if earlier is not None:
            # Left without an answer recorded (status 0: in flight when its worker died, or its answer
            # not committed yet), or refused: sent again, under its number.
            seq = earlier.seq
            if not earlier.status:
                calls.in_flight += 1
                log.info("%s: update %d handled again: %s was in flight when the earlier attempt ended; sent again",
                         calls.platform, calls.update_id, api_method,
                         extra={"update_id": calls.update_id, "platform": calls.platform})
        else:
            if calls.replayed or calls.earlier:
                calls.sent_anew += 1
                log.info("%s: update %d handled again: %s matches no recorded call; sent", calls.platform,
                         calls.update_id, api_method, extra={"update_id": calls.update_id, "platform": calls.platform})
            calls.seq += 1
            seq = calls.seq
        leaving = LedgerCall(calls.platform, calls.update_id, seq, api_method, target, 0, "")
        if creates(api_method):
            # Recorded before it leaves: a re-run never sends a new message of this attempt again unknowingly.
            await self.ledger.leaving(leaving)
        else:
            # An edit, a press's answer, a deletion: sent again, it shows nothing twice (the same edit
            # is "not modified", a second answer is refused), so it does not wait for its record.
            self.ledger.record(leaving)
        status, body = await self.inner.do_request(url, method, request_data, read_timeout, write_timeout,
                                                   connect_timeout, pool_timeout)
        answered = 200 <= status < 300
        self.ledger.record(LedgerCall(calls.platform, calls.update_id, seq, api_method, target, status,
                                      body.decode("utf-8", "replace") if answered else ""))
        return status, body
