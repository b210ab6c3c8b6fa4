"""The reply ledger: the Bot API calls a worker made for an update, with the messenger's answers
(PostgreSQL only; bot/cluster/reply_ledger.py writes and reads it).

A worker killed after an update's replies went out but before the update was marked done leaves the
update to another worker, which handles it again: the ledger lets that worker give PTB the recorded
answers instead of sending the same replies a second time.

Rows belong to an inbox row (platform, update_id): a foreign key with ON DELETE CASCADE, so they go
when the inbox forgets the update (storage/inbox.InboxRepository.prune), a day after it was done.
The table: storage/migrations_postgres.py, entry 6.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# Calls written in one transaction at most.
BATCH_MAX = 500
# Calls waiting at most while the database is away: beyond, new ones are not recorded (their
# updates are not done either, so a re-run sends them again: as without a ledger).
WAITING_MAX = 50_000


@dataclass(frozen=True)
class LedgerCall:
    platform: str
    update_id: int
    seq: int  # the call's place among the update's recorded calls, from 1
    method: str  # the Bot API method, as in the URL (sendMessage)
    chat_id: str  # the call's chat_id, else callback_query_id / inline_message_id, else ""
    status: int  # the HTTP status of the messenger's answer; 0: sent, no answer recorded (yet)
    response: str  # the messenger's answer, the JSON body as received ("" without one)

    @property
    def answered(self) -> bool:
        """The messenger took it: a re-run gets this answer instead of sending it again."""
        return 200 <= self.status < 300


# A call is written twice: as it leaves (status 0), then with its answer, which replaces the first.
_UPSERT = ("ON CONFLICT (platform, update_id, seq) DO UPDATE SET method = excluded.method, "
           "chat_id = excluded.chat_id, status = excluded.status, response = excluded.response")


def _record(conn: Any, rows: Sequence[tuple]) -> None:
    conn.executemany(
        "INSERT INTO reply_ledger (platform, update_id, seq, method, chat_id, status, response) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) " + _UPSERT, rows)


class ReplyLedgerRepository:
    """The reply ledger on a PostgreSQL database (storage.postgres.PgDatabase)."""

    def __init__(self, db: Any) -> None:
        self.db = db

    async def record(self, calls: Sequence[LedgerCall]) -> None:
        """Stores calls (one transaction, committed when this returns)."""
        rows = [(c.platform, c.update_id, c.seq, c.method, c.chat_id, c.status, c.response) for c in calls]
        if rows:
            await self.db.write(_record, rows)

    async def calls_of(self, platform: str, update_id: int) -> list[LedgerCall]:
        """The calls recorded for one update, in their order."""
        rows = await self.db.read(lambda conn: conn.execute(
            "SELECT seq, method, chat_id, status, response FROM reply_ledger "
            "WHERE platform = ? AND update_id = ? ORDER BY seq", (platform, update_id)).fetchall())
        return [LedgerCall(platform, update_id, r[0], r[1], r[2], r[3], r[4]) for r in rows]


# One statement for a whole batch (not a statement per row).
_INSERT = ("INSERT INTO reply_ledger (platform, update_id, seq, method, chat_id, status, response) "
           "SELECT * FROM unnest(%s::text[], %s::bigint[], %s::int[], %s::text[], %s::text[], %s::int[], %s::text[]) "
           + _UPSERT)


def _without_waiting_for_disk(url: str) -> str:
    """``url`` with synchronous_commit off for the connection, as a startup option: not a SET, which
    behind pgbouncer in transaction mode would stay on a server connection other clients get next
    (pgbouncer forwards no startup options: there the commits simply wait for the disk)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    params["options"] = f"{params.get('options') or ''} -c synchronous_commit=off".strip()
    return make_conninfo(**params)


class LedgerWriter:
    """Writes recorded calls as soon as they come, on a thread with a PostgreSQL connection of its own:
    neither behind the pool's queue of the bot's other writes nor behind a busy event loop (measured
    in the cluster test: through the pool, 150 ms from the answer to the commit at the median, 0.8 s
    at p99; this way about a round trip). Whatever came while a batch was written goes in the next.

    ``synchronous_commit = off`` for this connection: a commit is visible to the other workers at
    once and does not wait for the disk; only a crash of PostgreSQL itself loses the last few
    milliseconds of the ledger (and then the updates handled again send those replies again)."""

    def __init__(self, url: str, on_written: Callable[[list[float]], None] | None = None) -> None:
        self.url = url
        self.on_written = on_written  # hears, from the thread, each written call's wait in seconds
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Condition()
        self._put = self._written = 0
        self._thread: threading.Thread | None = None
        self._closing = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="reply-ledger", daemon=True)
        self._thread.start()

    def put(self, call: LedgerCall, written: Callable[[], None] | None = None) -> bool:
        """Queues ``call``; ``written`` is called (on the writer's thread) once it is committed.
        False: not queued (too many waiting: the database is away)."""
        with self._lock:
            if self._put - self._written >= WAITING_MAX:
                return False
            self._put += 1
        self._queue.put((call, time.monotonic(), written))
        return True

    def wait_written(self, timeout: float) -> bool:
        """Blocks until every call put so far is written (True), or ``timeout`` seconds (False)."""
        with self._lock:
            goal = self._put
            return self._lock.wait_for(lambda: self._written >= goal, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Writes what is waiting (up to ``timeout``), then ends the thread."""
        self._closing = True
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        import psycopg

        conn = None
        batch: list[tuple[LedgerCall, float, Callable[[], None] | None]] = []
        stop = False
        wait = 0.5
        while True:
            if not batch:
                item = self._queue.get()
                if item is None:
                    if conn is not None:
                        conn.close()
                    return
                batch.append(item)
            while len(batch) < BATCH_MAX:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            try:
                if conn is None:
                    conn = psycopg.connect(_without_waiting_for_disk(self.url), autocommit=True,
                                           prepare_threshold=None, connect_timeout=5)
                # One row per call: a call's answer may share a batch with its leaving (its wait for
                # that write timed out), and one statement cannot update a row twice; the later wins.
                calls = list({(c.platform, c.update_id, c.seq): c for c, _, _ in batch}.values())
                # One statement in autocommit: one round trip, after which this thread waits for the
                # GIL once. (BEGIN; SET LOCAL …; INSERT; COMMIT pipelined took 31 ms at the median
                # against 7 with a thread spinning beside it: each result wants the GIL back.)
                conn.execute(_INSERT, ([c.platform for c in calls], [c.update_id for c in calls],
                                       [c.seq for c in calls], [c.method for c in calls], [c.chat_id for c in calls],
                                       [c.status for c in calls], [c.response for c in calls]))
            except psycopg.Error as exc:
                log.warning("reply ledger: writing %d call(s) failed (%s); trying again in %g s", len(batch),
                            exc.__class__.__name__, wait)
                if conn is not None:
                    conn.close()
                    conn = None
                if self._closing:
                    return
                time.sleep(wait)
                wait = min(wait * 2, 10.0)
                continue
            wait = 0.5
            now = time.monotonic()
            if self.on_written is not None:
                self.on_written([now - at for call, at, _ in batch if call.status])
            for _, _, written in batch:
                if written is not None:
                    written()
            with self._lock:
                self._written += len(batch)
                self._lock.notify_all()
            batch = []
            if stop:
                if conn is not None:
                    conn.close()
                return
