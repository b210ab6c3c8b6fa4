"""The inbox: updates received from the messengers, waiting for a worker (PostgreSQL only).

``manshahrdaram receive`` adds each update here before it answers the messenger (bot/cluster/receiver.py);
``manshahrdaram worker`` processes claim them (bot/cluster/worker.py). The rules the table keeps:

- an update is stored once: (platform, update_id) is unique and a re-delivery is ON CONFLICT DO NOTHING;
- a person's updates are handled one at a time, in the order they arrived: ``claim`` takes, for each
  person, only their oldest update not done, and only when nobody holds a live claim on it. A
  person's next update therefore waits until the previous one is *done*, which is committed in the
  transaction that records it in the processed-updates journal and saves the conversation states it
  left (``InboxJournalRepository.record``): whichever worker takes the next one reads those states;
- different people's updates go to different workers: ``FOR UPDATE SKIP LOCKED``, so two workers
  claiming at the same moment never wait for each other and never take the same row;
- a claim lasts ``ttl`` seconds of the database's clock and is renewed while its worker is alive; a
  dead worker's claims expire and are taken over (``attempts`` counts the takes).

Done rows are kept for a day (``prune``): a messenger that re-delivers an update (its webhook call
timed out after we had committed) finds it stored. Telegram keeps an undelivered update 24 hours.

Person key: the platform and the effective user's id, else the chat's (0 for the rare update with
neither: those run one at a time among themselves), as bot/messenger/update_processor.py keys them.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from storage.flood_buckets import write_buckets
from storage.processed_updates import ProcessedUpdateRepository, States, _write_states
from storage.rows import _ts

# The table: storage/migrations_postgres.py, entries 3 and 5.

# How long a done update is kept for re-deliveries to find.
KEEP_DONE = dt.timedelta(days=1)

# Update kinds whose object names the person in "from" (or "user"), else in "chat".
_PERSON_FIELDS = ("from", "user")


def person_of(update: dict) -> int:
    """The person an update (as the Bot API sends it) belongs to: the effective user, else the chat,
    else 0. Read from the raw update, so the receiver needs no PTB to store it."""
    for field, value in update.items():
        if field == "update_id" or not isinstance(value, dict):
            continue
        for name in _PERSON_FIELDS:
            who = value.get(name)
            if isinstance(who, dict) and isinstance(who.get("id"), int):
                return who["id"]
        chat = value.get("chat")
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return chat["id"]
        # A callback query's chat is its message's; a poll answer's "voter_chat".
        for nested in ("message", "voter_chat", "actor_chat"):
            inner = value.get(nested)
            if isinstance(inner, dict):
                chat = inner.get("chat", inner)
                if isinstance(chat, dict) and isinstance(chat.get("id"), int):
                    return chat["id"]
    return 0


@dataclass(frozen=True)
class Claimed:
    id: int
    platform: str
    update_id: int
    person: int
    body: dict
    attempts: int
    # The conversation states (name as stored, e.g. "telegram:citizen" → state) the person had in
    # their private chat (key private_key(person)) when this was claimed, for every conversation
    # name the claim was asked about (absent: none); None when it was asked about none.
    states: dict[str, str] | None = None


@dataclass(frozen=True)
class InboxCounts:
    waiting: int  # not done and not claimed (or the claim expired)
    claimed: int  # held by a live worker's claim
    oldest_seconds: float  # how long the oldest update not done has waited (0: none)


# The channel a commit of new updates notifies (InboxListener): idle workers claim at once instead of
# at their next look.
CHANNEL = "manshahrdaram_inbox"


def _add(conn: Any, rows: Sequence[tuple[str, int, int, str]]) -> int:
    added = 0
    for row in rows:
        added += conn.execute(
            "INSERT INTO inbox (platform, update_id, person, body) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (platform, update_id) DO NOTHING", row).rowcount
    if added:
        # Sent at the commit, to every LISTENing worker (none: nothing happens).
        conn.execute(f"NOTIFY {CHANNEL}")
    return added


# One statement (so autocommit: no BEGIN and COMMIT round trips): a dead worker's updates first (the
# index inbox_claims), then those nobody holds (inbox_unclaimed), neither reading past the updates live
# workers hold; with each update, the conversation states its person has in a private chat (see
# claim), so the worker need not read them in a round trip of its own per update.
_READY = """
    SELECT i.id FROM inbox i
    WHERE i.done_at IS NULL AND i.platform = ANY(%(platforms)s) AND {which}
      AND NOT EXISTS (SELECT 1 FROM inbox e WHERE e.platform = i.platform AND e.person = i.person
                      AND e.done_at IS NULL AND e.id < i.id)
    ORDER BY {order}
    LIMIT {limit}
    FOR UPDATE OF i SKIP LOCKED"""
_CLAIM = f"""
WITH expired AS ({_READY.format(which="i.claimed_until <= now()", order="i.claimed_until", limit="%(limit)s")}
), free AS ({_READY.format(which="i.claimed_until IS NULL", order="i.id",
                           limit="(SELECT %(limit)s - count(*) FROM expired)")}
), taken AS (
    UPDATE inbox SET claimed_by = %(worker)s, claimed_until = now() + %(ttl)s * interval '1 second',
                     attempts = inbox.attempts + 1
    FROM (SELECT id FROM expired UNION ALL SELECT id FROM free) ready WHERE inbox.id = ready.id
    RETURNING inbox.id, inbox.platform, inbox.update_id, inbox.person, inbox.body, inbox.attempts
)
SELECT t.id, t.platform, t.update_id, t.person, t.body, t.attempts,
       (SELECT json_object_agg(c.name, c.state) FROM conversations c
        WHERE c.name = ANY(SELECT t.platform || ':' || n FROM unnest(%(conversations)s::text[]) n)
          AND c.key = '[' || t.person || ', ' || t.person || ']')
FROM taken t ORDER BY t.id
"""


def private_key(person: int) -> str:
    """The key (as stored: JSON) of a person's conversation in their private chat with the bot:
    PTB's (chat id, user id), both the person's id there."""
    return f"[{person}, {person}]"


def _claim(conn: Any, platforms: list[str], limit: int, worker: str, ttl: float,
           conversations: list[str]) -> list[Claimed]:
    # The raw connection: named parameters (each used in several places), sent as they are.
    rows = conn.raw.execute(_CLAIM, {"platforms": platforms, "limit": limit, "worker": worker, "ttl": ttl,
                                     "conversations": conversations}).fetchall()
    return [Claimed(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5],
                    ({} if r[6] is None else r[6]) if conversations else None) for r in rows]


def _finish(conn: Any, platform: str, update_ids: list[int]) -> int:
    # claimed_by stays: which worker handled it (for the operator, and the tests).
    return conn.execute(
        "UPDATE inbox SET done_at = now(), claimed_until = NULL "
        "WHERE platform = ? AND update_id = ANY(?) AND done_at IS NULL", (platform, update_ids)).rowcount


class InboxRepository:
    """The inbox on a PostgreSQL database (storage.postgres.PgDatabase)."""

    def __init__(self, db: Any) -> None:
        self.db = db

    async def add(self, platform: str, updates: Iterable[dict]) -> int:
        """Stores updates as received (each once); returns how many were new. One transaction:
        committed when this returns, so the messenger may be told they arrived."""
        rows = [(platform, update["update_id"], person_of(update), json.dumps(update, ensure_ascii=False))
                for update in updates]
        return await self.db.write(_add, rows) if rows else 0

    async def claim(self, platforms: Sequence[str], limit: int, worker: str, ttl: float,
                    conversations: Sequence[str] = ()) -> list[Claimed]:
        """Up to ``limit`` updates, each the oldest not done of its person, none claimed live by
        anyone; claimed for ``worker`` for ``ttl`` seconds. Oldest first.

        With each, the states of the ``conversations`` (names without the platform: "citizen") its
        person has in their private chat (Claimed.states). They are the ones the update must start
        from: an update is claimable only once the person's previous one is done, committed in the
        transaction that saved the states it left (InboxJournalRepository.record), and only the
        person's own updates change their conversation."""
        return await self.db.write_one(_claim, list(platforms), limit, worker, ttl, list(conversations))

    async def renew(self, worker: str, ttl: float) -> int:
        """Extends every claim ``worker`` holds on updates not done yet; returns how many."""
        return await self.db.write(lambda conn: conn.execute(
            "UPDATE inbox SET claimed_until = now() + ? * interval '1 second' "
            "WHERE claimed_by = ? AND done_at IS NULL", (ttl, worker)).rowcount)

    async def release(self, worker: str, ids: Sequence[int] | None = None) -> int:
        """Gives claims back at once (the worker could not handle them, or stops): the next claim
        takes them. ``ids`` None: every claim of ``worker`` on an update not done."""
        if ids is None:
            return await self.db.write(lambda conn: conn.execute(
                "UPDATE inbox SET claimed_by = NULL, claimed_until = NULL "
                "WHERE claimed_by = ? AND done_at IS NULL", (worker,)).rowcount)
        return await self.db.write(lambda conn: conn.execute(
            "UPDATE inbox SET claimed_by = NULL, claimed_until = NULL "
            "WHERE claimed_by = ? AND id = ANY(?) AND done_at IS NULL", (worker, list(ids))).rowcount)

    async def finish(self, platform: str, update_ids: Sequence[int]) -> int:
        """Marks updates done without handling them (given up on); returns how many."""
        return await self.db.write(_finish, platform, list(update_ids))

    async def counts(self) -> InboxCounts:
        row = await self.db.read(lambda conn: conn.execute(
            "SELECT count(*) FILTER (WHERE claimed_until IS NULL OR claimed_until <= now()), "
            "count(*) FILTER (WHERE claimed_until > now()), "
            "coalesce(extract(epoch FROM now() - min(received_at)), 0) "
            "FROM inbox WHERE done_at IS NULL").fetchone())
        return InboxCounts(int(row[0]), int(row[1]), float(row[2]))

    async def ping(self) -> None:
        await self.db.read(lambda conn: conn.execute("SELECT 1").fetchone())

    async def prune(self, keep: dt.timedelta = KEEP_DONE) -> int:
        """Forgets updates done more than ``keep`` ago; returns how many."""
        return await self.db.write(lambda conn: conn.execute(
            "DELETE FROM inbox WHERE done_at < now() - ? * interval '1 second'",
            (keep.total_seconds(),)).rowcount)


class InboxJournalRepository(ProcessedUpdateRepository):
    """The update journal's storage in a worker (bot/messenger/update_journal.py): an update is marked
    handled, its conversation states saved and its inbox row done, in one transaction. ``on_done``
    hears which update ids are done once that transaction has committed."""

    def __init__(self, db: Any, platform: str, on_done: Callable[[str, list[int]], None] | None = None,
                 flood: dict[int, tuple] | None = None) -> None:
        super().__init__(db)
        self.platform = platform
        self.on_done = on_done
        # The flood buckets each update left (bot/messenger/flood_door.SharedFlood), by update id:
        # written with the update done (storage/flood_buckets.py).
        self.flood = flood if flood is not None else {}

    async def record(self, key: str, update_ids: Iterable[int], states: States, now: dt.datetime) -> None:
        ids = list(update_ids)
        markers = [(key, update_id, _ts(now)) for update_id in ids]
        platform = self.platform
        buckets = [row for update_id in ids if (row := self.flood.get(update_id)) is not None]

        def record(conn: Any) -> None:
            if markers:
                conn.executemany(
                    "INSERT INTO processed_updates (platform, update_id, processed_at) VALUES (?, ?, ?) "
                    "ON CONFLICT DO NOTHING", markers)
                _finish(conn, platform, ids)
            if buckets:
                write_buckets(conn, buckets)
            _write_states(conn, states)
        await self.db.write(record)
        for update_id in ids:
            self.flood.pop(update_id, None)
        if ids and self.on_done is not None:
            self.on_done(platform, ids)

    async def save_step(self, update_id: int, states: States, before: States) -> None:
        """A conversation step's new ``states``, committed before its reply goes out, and — in the same
        transaction — the states ``update_id`` found ``before`` it (the first time only: a step saved
        again, or a re-run's step, keeps the original), which a re-run of the update starts from."""
        platform = self.platform
        rows = [(platform, update_id, name, key, state) for (name, key), state in before.items()]

        def save(conn: Any) -> None:
            if rows:
                conn.executemany(
                    "INSERT INTO conversation_before (platform, update_id, name, key, state) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING", rows)
            _write_states(conn, states)
        await self.db.write(save)

    async def states(self, wanted: Sequence[tuple[str, str]],
                     before_of: int | None = None) -> dict[tuple[str, str], str]:
        """The stored state of each (conversation name, key) asked for; absent: no conversation.
        ``before_of``: an update handled again (taken over), whose earlier attempt may have moved these
        conversations on already: for those, the state that attempt started from (save_step)."""
        platform = self.platform

        def states(conn: Any) -> dict[tuple[str, str], str]:
            found: dict[tuple[str, str], str] = {}
            for name, key in wanted:
                row = None
                if before_of is not None:
                    row = conn.execute(
                        "SELECT state FROM conversation_before WHERE platform = ? AND update_id = ? AND name = ? "
                        "AND key = ?", (platform, before_of, name, key)).fetchone()
                if row is None:
                    row = conn.execute("SELECT state FROM conversations WHERE name = ? AND key = ?",
                                       (name, key)).fetchone()
                if row is not None and row[0] is not None:
                    found[(name, key)] = row[0]
            return found
        return await self.db.read(states)


class InboxListener:
    """Calls ``news()`` whenever a receiver commits new updates (PostgreSQL LISTEN on a connection of
    its own). Behind pgbouncer in transaction mode LISTEN is not delivered: the workers then find new
    updates by looking at the inbox, as they do anyway every POLL_MAX (bot/cluster/worker.py)."""

    def __init__(self, url: str, news: Callable[[], None]) -> None:
        self.url, self.news = url, news
        self.listening = False

    async def run(self) -> None:
        """Until cancelled; reconnects after a failure."""
        import asyncio

        import psycopg

        wait = 1.0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening, wait = True, 1.0
                    self.news()  # whatever came while nobody listened
                    async for _ in conn.notifies():
                        self.news()
            except psycopg.Error:
                self.listening = False
                await asyncio.sleep(wait)
                wait = min(wait * 2, 30.0)


class ClaimKeeper:
    """Renews a worker's claims every ``every`` seconds from a thread with a PostgreSQL connection of
    its own (bot/cluster/worker.py). Through the worker's pool a renewal waited behind the bot's own
    statements: with every pool thread waiting on a row lock (a hot counter row, seconds under load)
    or the event loop busy, a live worker's claims expired and other workers took its updates over
    while it still handled them. ``holding()`` (read from the thread) says whether there is anything
    to renew. A SIGKILL ends the thread with the process: the claims then expire, as they must."""

    SQL = ("UPDATE inbox SET claimed_until = now() + %s * interval '1 second' "
           "WHERE claimed_by = %s AND done_at IS NULL")

    def __init__(self, url: str, worker: str, ttl: float, every: float, holding: Callable[[], bool]) -> None:
        import threading

        self.url, self.worker, self.ttl, self.every, self.holding = url, worker, ttl, every, holding
        self.renewals = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="inbox:claims", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        import logging

        import psycopg

        log = logging.getLogger(__name__)
        conn = None
        failing = False
        while not self._stop.wait(self.every):
            if not self.holding():
                continue
            try:
                if conn is None:
                    conn = psycopg.connect(self.url, autocommit=True, prepare_threshold=None, connect_timeout=5)
                conn.execute(self.SQL, (self.ttl, self.worker))
                self.renewals += 1
                if failing:
                    failing = False
                    log.info("worker %s: renewing claims again", self.worker)
            except psycopg.Error as exc:
                if not failing:  # once per outage; the claims last three rounds
                    log.warning("worker %s: renewing claims failed (%s)", self.worker, exc.__class__.__name__)
                failing = True
                if conn is not None:
                    conn.close()
                    conn = None
        if conn is not None:
            conn.close()
