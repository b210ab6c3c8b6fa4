"""A broadcast to 100,000 citizens through the loopback Bot API: rate, duplicates, misses, memory,
a crash in the middle, and what it costs citizens pressing buttons meanwhile.

    .venv/bin/python -m bench.broadcast [--recipients 100000] [--rate 1000] [--latency 0.05] [--quick]

Three processes, as in bench.journey: the loopback Bot API server (``python -m bot.devtools.localapi
--latency L``), the bot (``python -m bench.run_bot --broadcast-rate R``) and this driver. Three
runs, each on a fresh server, database and bot process:

  main     N citizens on Telegram, --blocked-share (2%) of them have blocked the bot (403), and
           --fault-429-rate (1%) of sendMessage calls answer 429 with retry_after 1; one broadcast
           to everyone: achieved rate ÷ configured rate, duplicates and misses (the server's chats
           against the database's delivery rows), the bot's peak RSS above its idle RSS
  crash    the same, the bot SIGKILLed at a seeded random moment mid-broadcast and started again:
           duplicates, misses, 'uncertain' rows, misses ⊆ uncertain
  latency  citizens walk the voting journey (bench.journey's Citizen) before, during and after a
           broadcast (no 429 rule: it would hit their replies too): the ratio of step latencies
           during the broadcast to those without one

One figure a line on stdout, then ``targets:`` and ``checks:`` blocks; progress goes to stderr.
See README.md, section bench.broadcast.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import itertools
import math
import random
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import BOT_USERNAME, TOKEN, bench_config, voting_clock, voting_moment
from bench.journey import (
    AUTHOR_BASE,
    PYTHON,
    STEPS,
    VOTES,
    Ballot,
    Child,
    Citizen,
    Expect,
    UserOutcome,
    _driver_cpu,
    _machine_busy,
    _think_range,
    code_version,
    log,
    percentile,
    run_in_workdir,
    seed_database,
)
from bot.campaign.config import Config
from bot.campaign.roles import Actor
from bot.campaign.services import Services
from bot.devtools.localapi import LocalApiClient
from domain import (
    CANCELLED,
    DONE,
    EVERYONE,
    SENT,
    UNCERTAIN,
    UNREACHABLE,
    Audience,
)
from storage.db import Database
from storage.repositories import Repositories

RECIPIENT_BASE = 10_000_000  # recipients: RECIPIENT_BASE + 1 … + N, chat_id = user_id
STAFF_ID = 900_000_001  # the staff member who sends the broadcast and watches its progress message
# bench_config names no admins: the bench acts as the operator's tool (bot/campaign/roles.py), named
# as that staff member so the draft and the audit log read as theirs.
STAFF = Actor.tool(f"telegram:{STAFF_ID}")
MARKER = "bench-broadcast-7f3a"  # in the broadcast's text: the server counts only those messages
TEXT = f"📣 رأی‌گیری محلهٔ شما آغاز شد؛ از منوی ربات رأی بدهید. ({MARKER})"
# The journey's citizens of the latency run: a block of ids per phase (same plan, other people).
LATENCY_BASES = {"before": 1_000_000, "during": 1_100_000, "after": 1_200_000}
AUTHOR_RANGE = 1_000  # bench.journey's seeded authors are AUTHOR_BASE + 1 …; all made known to the server
DEFAULT_RATE = 1000.0
BLOCKED_SHARE = 0.02
FAULT_429_RATE = 0.01
RETRY_AFTER = 1
RSS_SAMPLE_S = 0.1
CALLS_POLL_S = 0.5
MEMORY_BOUND_MB = 50.0
STALL_BOUND = 0.05  # issue 13: no stall above 50 ms
RATE_BOUND = 0.95


# ------------------------------------------------------------------ seeding


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def _insert_citizens(conn, platform: str, first: int, count: int, created_at: str) -> int:
    # Bench-only SQL: CitizenRepository has no bulk insert (see README.md). One statement, no Python
    # loop: 100,000 rows in well under a second.
    conn.execute(
        "WITH RECURSIVE n(x) AS (SELECT ? UNION ALL SELECT x + 1 FROM n WHERE x < ?) "
        "INSERT INTO citizens (platform, user_id, chat_id, created_at) SELECT ?, x, x, ? FROM n",
        (first, first + count - 1, platform, created_at))
    return count


async def seed_citizens(database: Path, first_user_id: int, count: int, now: dt.datetime,
                        platform: str = "telegram") -> int:
    """``count`` citizens on ``platform``, user ids (= chat ids) first_user_id …, who started the bot
    and did nothing else: no neighbourhood, no phone, not subscribed. The schema comes from storage
    (Database.open runs the migrations); the rows from one INSERT … SELECT in a transaction."""
    if count <= 0:
        return 0
    db = Database(database)
    await db.open()
    try:
        return await db.write(_insert_citizens, platform, first_user_id, count, _iso(now))
    finally:
        await db.close()


def _delivery_rows(conn, broadcast_id: int) -> list[tuple[int, str, int]]:
    # Bench-only SQL, read-only: the per-recipient rows, to compare with what the server received.
    return [tuple(row) for row in conn.execute(
        "SELECT chat_id, status, attempts FROM deliveries WHERE broadcast_id = ?", (broadcast_id,))]


def _broadcast_ids(conn) -> list[int]:
    return [row[0] for row in conn.execute("SELECT id FROM broadcasts ORDER BY id")]


def _rows_in_status(conn, broadcast_id: int, status: str) -> int:
    return conn.execute("SELECT COUNT(*) FROM deliveries WHERE broadcast_id = ? AND status = ?",
                        (broadcast_id, status)).fetchone()[0]


# ------------------------------------------------------------------ processes


def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def count_in_log(child: Child, needle: str) -> int:
    """Lines of a child's log containing needle (also once the child is stopped)."""
    try:
        return sum(needle in line for line in child.log_path.read_text(errors="replace").splitlines())
    except OSError:
        return 0


def reset_peak_rss(pid: int) -> bool:
    """VmHWM := VmRSS (Linux: writing 5 to clear_refs), so the peak is the broadcast's alone."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


@dataclasses.dataclass
class Stage:
    """One run's server, database and driver-side services."""
    label: str
    rundir: Path
    server: Child
    url: str
    api: LocalApiClient
    config: Config
    db: Database
    services: Services
    blocked: set[int]
    ballots: list[Ballot]
    epoch: float  # the wall time at which every clock of the run (bots, driver) reads voting_moment
    bots: list[Child] = dataclasses.field(default_factory=list)

    @property
    def repo(self):
        return self.services.repos.broadcasts


async def prepare(label: str, args: argparse.Namespace, workdir: Path, http: aiohttp.ClientSession,
                  journey: bool, children: list[Child]) -> Stage:
    rundir = workdir / label
    rundir.mkdir()
    # Watched like the bot (bench.loop_lag --server): a pause of the server's loop is a gap between
    # sends too, and it is a Python process on the same cores.
    server = Child("server", [PYTHON, "-m", "bench.loop_lag", "--server", "--port", "0", "--latency", str(args.latency),
                              "--bot", f"{TOKEN}={BOT_USERNAME}", "--seed", str(args.seed)], rundir / "server.log",
                   env={"LOOP_LAG_FILE": str(rundir / "server.lag")})
    children.append(server)
    url = (await server.ready("listening on ")).removeprefix("listening on ").strip()
    config = bench_config(url, rundir / "bot.sqlite3", args.rate)
    t0 = time.perf_counter()
    ballots = await seed_database(config, args.seed) if journey else []
    await seed_citizens(config.database, RECIPIENT_BASE + 1, args.recipients, voting_moment(config))
    seeded = time.perf_counter() - t0
    api = LocalApiClient(url, session=http)
    await api.add_users(TOKEN, RECIPIENT_BASE + 1, args.recipients)
    if journey:
        await api.add_users(TOKEN, AUTHOR_BASE + 1, AUTHOR_RANGE)
    await api.add_user(STAFF_ID, first_name="Bench staff")
    blocked = await api.block_share(TOKEN, RECIPIENT_BASE + 1, args.recipients, args.blocked_share, seed=args.seed)
    db = Database(config.database)
    await db.open()
    # One clock for the run: the driver's and every bot's (a restarted one too) read the same time.
    epoch = time.time()
    services = Services.build(config, voting_clock(config, epoch), Repositories(db))
    log(f"{label}: server {url}; seeded {args.recipients} citizens in {seeded:.1f}s"
        + (f" and {sum(len(b.proposal_ids) for b in ballots)} proposals" if journey else "")
        + f"; {blocked['blocked']} have blocked the bot")
    return Stage(label, rundir, server, url, api, config, db, services, set(blocked["user_ids"]), ballots, epoch)


def lag_path(stage: Stage, name: str) -> Path:
    return stage.rundir / f"{name}.lag"


async def start_bot(stage: Stage, args: argparse.Namespace, name: str, children: list[Child],
                    env: dict | None = None) -> Child:
    # bench.loop_lag is bench.run_bot with a watch on its event loop (the bot's own stalls).
    bot = Child(name, [PYTHON, "-m", "bench.loop_lag", "--api", stage.url, "--db", str(stage.config.database),
                       "--broadcast-rate", str(args.rate), "--clock-epoch", repr(stage.epoch)],
                stage.rundir / f"{name}.log", env={**(env or {}), "LOOP_LAG_FILE": str(lag_path(stage, name))})
    children.append(bot)
    stage.bots.append(bot)
    await bot.ready("ready")
    return bot


async def settle(bot: Child, timeout: float = 30.0) -> int:
    """The bot's RSS (kB) once start-up has settled: no change over 0.5 MB for 3 s."""
    samples: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        samples.append(_status_kb(bot.pid, "VmRSS"))
        window = samples[-7:]
        if len(window) == 7 and max(window) - min(window) < 512:
            break
        await asyncio.sleep(0.5)
    return samples[-1]


async def trigger(stage: Stage) -> tuple[int, float]:
    """What a staff member's /broadcast does: a text draft, everyone, send now (the worker in the
    bot process picks it up from the database, as it would one sent from another process)."""
    svc = stage.services.broadcasts
    by = STAFF
    draft = await svc.draft(by, "text", TEXT, None, None)
    if not await svc.choose(by, draft.id, Audience(EVERYONE)):
        raise RuntimeError("could not choose the audience")
    t = time.time()
    if not await svc.send_now(by, draft.id, "telegram", STAFF_ID):
        raise RuntimeError("send_now refused")
    return draft.id, t


# ------------------------------------------------------------------ watching a broadcast


@dataclasses.dataclass
class Send:
    t: float  # server's time.time() when it logged the call
    chat_id: int
    status: int  # 200, 403, 429, 0 (the client hung up), …


class Monitor:
    """Follows one broadcast from outside the bot: every sendMessage carrying the marker (from the
    server's call log, polled incrementally), the bot's RSS, and the broadcast's status."""

    def __init__(self, stage: Stage, broadcast_id: int) -> None:
        self.stage, self.broadcast_id = stage, broadcast_id
        self.sends: list[Send] = []
        self.all_send_messages = 0  # every sendMessage entry seen (marker or not): checks nothing fell off the log
        self.seq = 0
        self.rss_max_kb = 0
        self.bot: Child | None = None
        self.done_at: float | None = None
        self.status: str | None = None
        self._stop = False

    async def poll_calls(self) -> None:
        calls = await self.stage.api.calls(TOKEN, "sendMessage", since=self.seq)
        for c in calls:
            self.seq = max(self.seq, c["seq"])
            self.all_send_messages += 1
            if MARKER in (c["params"].get("text") or ""):
                self.sends.append(Send(c["time"], c["chat_id"], c["status"]))

    async def _calls_loop(self) -> None:
        while not self._stop:
            await self.poll_calls()
            await asyncio.sleep(CALLS_POLL_S)

    async def _rss_loop(self) -> None:
        while not self._stop:
            if self.bot is not None and self.bot.proc.poll() is None:
                self.rss_max_kb = max(self.rss_max_kb, _status_kb(self.bot.pid, "VmRSS"))
            await asyncio.sleep(RSS_SAMPLE_S)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._calls_loop()), asyncio.create_task(self._rss_loop())]

    async def stop(self) -> None:
        self._stop = True
        await asyncio.gather(*self._tasks)
        await self.poll_calls()  # the last ones

    async def first_send(self, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while not self.sends:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no broadcast message sent within {timeout:.0f}s")
            await asyncio.sleep(0.05)
        return self.sends[0].t

    async def until_done(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            broadcast = await self.stage.repo.get(self.broadcast_id)
            if broadcast.status in (DONE, CANCELLED):
                self.done_at, self.status = time.time(), broadcast.status
                return True
            await asyncio.sleep(0.25)
        self.status = (await self.stage.repo.get(self.broadcast_id)).status
        return False


@dataclasses.dataclass
class Verdict:
    rows: int
    by_status: Counter
    received_chats: int
    received_messages: int
    duplicate_chats: int
    misses: set[int]
    uncertain: set[int]
    extra: int  # chats that got the broadcast without a delivery row (not recipients)
    blocked_rows: int
    blocked_not_unreachable: int  # blocked recipients whose row says anything but unreachable/uncertain
    blocked_received: int
    sent_not_received: int  # rows 'sent' whose chat has no message
    received_not_sent: int  # chats with a message whose row is not 'sent' (uncertain ones that arrived …)
    uncertain_received: int
    attempts_histogram: Counter

    @property
    def misses_outside_uncertain(self) -> int:
        return len(self.misses - self.uncertain)


async def verify(stage: Stage, broadcast_id: int) -> Verdict:
    """Every recipient's row against the chats the server saw the marked message arrive in."""
    rows = await stage.db.read(_delivery_rows, broadcast_id)
    server = await stage.api.deliveries(TOKEN, marker=MARKER, with_chat_ids=True, max_duplicates=10)
    received = set(server["chat_ids"])
    status_of = {chat: status for chat, status, _ in rows}
    expected = set(status_of)
    blocked = stage.blocked & expected
    reachable = expected - blocked
    uncertain = {chat for chat, status in status_of.items() if status == UNCERTAIN}
    sent = {chat for chat, status in status_of.items() if status == SENT}
    return Verdict(
        rows=len(rows), by_status=Counter(status_of.values()),
        received_chats=server["chats"], received_messages=server["messages"],
        duplicate_chats=server["duplicate_chats"], misses=reachable - received, uncertain=uncertain,
        extra=len(received - expected), blocked_rows=len(blocked),
        blocked_not_unreachable=sum(status_of[c] not in (UNREACHABLE, UNCERTAIN) for c in blocked),
        blocked_received=len(blocked & received), sent_not_received=len(sent - received),
        received_not_sent=len(received - sent), uncertain_received=len(uncertain & received),
        attempts_histogram=Counter(attempts for _, _, attempts in rows),
    )


# ------------------------------------------------------------------ figures


class Report:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.figures: dict[str, float] = {}

    def put(self, name: str, value: Any, digits: int = 1) -> None:
        if isinstance(value, bool):
            self.figures[name] = float(value)
            value = "yes" if value else "no"
        elif isinstance(value, float):
            self.figures[name] = value
            value = _fmt(value, digits)
        elif isinstance(value, int):
            self.figures[name] = float(value)
        self.lines.append(f"{name} {value}")


def _fmt(value: float | None, digits: int = 1) -> str:
    return "nan" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _per(n: float, d: float) -> float:
    return n / d if d else math.nan


def first_pass_gaps(sends: list[Send]) -> list[tuple[Send, Send]]:
    """Consecutive sends while recipients were left to try for the first time: a long gap there is
    a stall. The retry tail (waiting out retry_after before the last retries) is pacing."""
    sends = sorted(sends, key=lambda s: s.t)
    seen: set[int] = set()
    last_first = sends[0].t if sends else 0.0
    for s in sends:
        if s.chat_id not in seen:
            seen.add(s.chat_id)
            last_first = s.t
    return [(a, b) for a, b in itertools.pairwise(sends) if b.t <= last_first]


def sends_figures(r: Report, p: str, sends: list[Send], configured: float, outcomes: int) -> None:
    """Rate and pacing of one broadcast from the server's log of its calls."""
    if not sends:
        r.put(f"{p}sends_logged", 0)
        return
    sends = sorted(sends, key=lambda s: s.t)
    t_first, t_last = sends[0].t, sends[-1].t
    span = t_last - t_first
    seen: set[int] = set()
    t_last_first_attempt, first_attempts = t_first, 0
    for s in sends:
        if s.chat_id not in seen:
            seen.add(s.chat_id)
            t_last_first_attempt, first_attempts = s.t, first_attempts + 1
    gaps = [b.t - a.t for a, b in itertools.pairwise(sends)]
    long_gaps = [g for g in gaps if g >= 0.25]
    statuses = Counter(s.status for s in sends)
    achieved = _per(outcomes, span)
    r.put(f"{p}configured_rate_per_s", configured, 0)
    r.put(f"{p}send_span_s", span, 2)
    r.put(f"{p}outcomes_sent_plus_unreachable", outcomes)
    r.put(f"{p}achieved_rate_per_s", achieved, 1)
    r.put(f"{p}rate_ratio", _per(achieved, configured), 3)
    r.put(f"{p}calls_per_s", _per(len(sends), span), 1)
    r.put(f"{p}send_calls_by_status", ",".join(f"{k}={v}" for k, v in sorted(statuses.items())))
    r.put(f"{p}calls_429", statuses.get(429, 0))
    first_span = t_last_first_attempt - t_first
    r.put(f"{p}first_pass_rate_per_s", _per(first_attempts, first_span), 1)
    r.put(f"{p}retry_tail_s", t_last - t_last_first_attempt, 2)
    r.put(f"{p}longest_gap_s", max(gaps, default=0.0), 3)
    first_pass = [b.t - a.t for a, b in first_pass_gaps(sends)]
    r.put(f"{p}longest_stall_s", max(first_pass, default=0.0), 3)
    r.put(f"{p}stalls_over_50ms", sum(g > STALL_BOUND for g in first_pass))
    r.put(f"{p}gaps_over_250ms", f"{len(long_gaps)} ({sum(long_gaps):.1f} s in all)")
    r.put(f"{p}gaps_over_250ms_at_s", ",".join(f"{a.t - t_first:.1f}+{b.t - a.t:.2f}"
                                                for a, b in itertools.pairwise(sends) if b.t - a.t >= 0.25) or "-")
    # Diagnostic, not the target: what the pacing itself achieves between the pauses.
    r.put(f"{p}rate_without_gaps_over_250ms_per_s", _per(outcomes, span - sum(long_gaps)), 1)
    bins = [0] * max(1, math.ceil(span + 1e-9))
    for s in sends:
        bins[min(len(bins) - 1, int(s.t - t_first))] += 1
    r.put(f"{p}sends_per_second", ",".join(map(str, bins)))


def loop_stall_figures(r: Report, p: str, stage: Stage, sends: list[Send]) -> None:
    """The bot's and the server's own event-loop stalls, the bot's full collections and its slow
    database transactions (bench.loop_lag) while the broadcast was being sent: they tell who held
    up a gap between sends."""
    if not sends:
        return
    t_first, t_last = min(s.t for s in sends), max(s.t for s in sends)

    def read(name: str) -> dict[str, list[tuple[float, float]]]:
        """(end, seconds) by kind: "" (a loop lag), "gc", "db", "db checkpoint"; wall time."""
        found: dict[str, list[tuple[float, float]]] = {"": [], "gc": [], "db": [], "db checkpoint": []}
        try:
            lines = (stage.rundir / f"{name}.lag").read_text().splitlines()
        except OSError:
            return found
        for end, seconds, *kind in (line.split() for line in lines):
            if t_first <= float(end) <= t_last + 1:
                found[" ".join(kind)].append((float(end), float(seconds)))
        return found

    bot: dict[str, list[tuple[float, float]]] = {"": [], "gc": [], "db": [], "db checkpoint": []}
    for child in stage.bots:
        for kind, items in read(child.name).items():
            bot[kind] += items
    server = read("server")
    lags, transactions = bot[""], bot["db"] + bot["db checkpoint"]
    r.put(f"{p}bot_loop_longest_stall_s", max((lag for _, lag in lags), default=0.0), 3)
    r.put(f"{p}bot_loop_stalls_over_50ms", sum(lag > STALL_BOUND for _, lag in lags))
    r.put(f"{p}bot_full_gc", f"{len(bot['gc'])}, the longest {max((s for _, s in bot['gc']), default=0.0):.3f} s")
    r.put(f"{p}bot_db_transactions_over_20ms",
          f"{len(transactions)} ({len(bot['db checkpoint'])} with a checkpoint), the longest "
          f"{max((s for _, s in transactions), default=0.0):.3f} s, the longest checkpoint "
          f"{max((s for _, s in bot['db checkpoint']), default=0.0):.3f} s")
    r.put(f"{p}server_loop_longest_stall_s", max((lag for _, lag in server['']), default=0.0), 3)
    r.put(f"{p}server_loop_stalls_over_50ms", sum(lag > STALL_BOUND for _, lag in server['']))
    r.put(f"{p}server_full_gc",
          f"{len(server['gc'])}, the longest {max((s for _, s in server['gc']), default=0.0):.3f} s")

    def held(spans: list[tuple[float, float]], a: float, b: float) -> float:
        return sum(max(0.0, min(b, end) - max(a, end - lag)) for end, lag in spans)
    stalls = [(a.t, b.t) for a, b in first_pass_gaps(sends) if b.t - a.t > STALL_BOUND]
    # A send stall at least half of which the bot's loop was held: the bot's; the others waited on
    # something else (the database thread, the server's answers, the CPU given to other processes).
    r.put(f"{p}stalls_over_50ms_with_bot_loop_held", sum(held(lags, a, b) >= (b - a) / 2 for a, b in stalls))
    r.put(f"{p}stalls_over_50ms_with_bot_db_held", sum(held(transactions, a, b) >= (b - a) / 2 for a, b in stalls))
    r.put(f"{p}stalls_over_50ms_with_server_loop_held", sum(held(server[''], a, b) >= (b - a) / 2 for a, b in stalls))
    r.put(f"{p}stalls_over_50ms_at_s", ",".join(f"{a - t_first:.1f}+{b - a:.3f}" for a, b in stalls[:40]) or "-")


def verdict_figures(r: Report, p: str, v: Verdict) -> None:
    r.put(f"{p}delivery_rows", v.rows)
    r.put(f"{p}rows_by_status", ",".join(f"{k}={n}" for k, n in sorted(v.by_status.items())))
    r.put(f"{p}blocked_recipients", v.blocked_rows)
    r.put(f"{p}chats_received", v.received_chats)
    r.put(f"{p}messages_received", v.received_messages)
    r.put(f"{p}duplicates", v.duplicate_chats)
    r.put(f"{p}misses", len(v.misses))
    r.put(f"{p}uncertain", len(v.uncertain))
    r.put(f"{p}misses_outside_uncertain", v.misses_outside_uncertain)
    r.put(f"{p}uncertain_that_arrived", v.uncertain_received)
    r.put(f"{p}received_without_row", v.extra)
    r.put(f"{p}blocked_received", v.blocked_received)
    r.put(f"{p}blocked_not_unreachable", v.blocked_not_unreachable)
    r.put(f"{p}sent_rows_not_received", v.sent_not_received)
    r.put(f"{p}received_rows_not_sent", v.received_not_sent)
    r.put(f"{p}attempts_histogram", ",".join(f"{k}:{n}" for k, n in sorted(v.attempts_histogram.items())))


@dataclasses.dataclass
class Cpu:
    bot: float
    bot_loop: float
    server: float
    driver: float
    machine: float
    t: float

    @classmethod
    def now(cls, bot: Child, server: Child) -> Cpu:
        return cls(bot.cpu_seconds(), bot.thread_cpu().get(bot.pid, 0.0), server.cpu_seconds(), _driver_cpu(),
                   _machine_busy()[0], time.time())


def cpu_figures(r: Report, p: str, a: Cpu, b: Cpu, messages: int) -> None:
    wall = b.t - a.t
    bot = b.bot - a.bot
    r.put(f"{p}bot_cpu_cores", _per(bot, wall), 2)
    r.put(f"{p}bot_cpu_event_loop_share", _per(b.bot_loop - a.bot_loop, bot), 2)
    r.put(f"{p}bot_cpu_ms_per_message", _per(bot * 1000, messages), 3)
    r.put(f"{p}server_cpu_cores", _per(b.server - a.server, wall), 2)
    r.put(f"{p}driver_cpu_cores", _per(b.driver - a.driver, wall), 2)
    others = (b.machine - a.machine) - bot - (b.server - a.server) - (b.driver - a.driver)
    r.put(f"{p}other_processes_cpu_cores", max(0.0, _per(others, wall)), 2)


# ------------------------------------------------------------------ the runs


def _expected_s(args: argparse.Namespace) -> float:
    return args.recipients / args.rate


async def run_main(args, workdir, http, r: Report, children: list[Child]) -> None:
    p = "main_"
    stage = await prepare("main", args, workdir, http, journey=False, children=children)
    try:
        env = {"BENCH_PROFILE": str(Path(args.profile).resolve())} if args.profile else None
        bot = await start_bot(stage, args, "bot", children, env=env)
        idle_kb = await settle(bot)
        reset_ok = reset_peak_rss(bot.pid)
        await stage.api.add_fault("sendMessage", "429", rate=args.fault_429_rate, retry_after=RETRY_AFTER, token=TOKEN)
        await stage.api.reset_stats()
        cpu0 = Cpu.now(bot, stage.server)
        broadcast_id, t_trigger = await trigger(stage)
        mon = Monitor(stage, broadcast_id)
        mon.bot = bot
        mon.start()
        log(f"main: broadcast {broadcast_id} to {args.recipients} at {args.rate:g}/s")
        try:
            t_first = await mon.first_send(60)
            done = await mon.until_done(_expected_s(args) * 3 + 120)
        finally:
            await mon.stop()
        cpu1 = Cpu.now(bot, stage.server)
        peak_kb = _status_kb(bot.pid, "VmHWM") if reset_ok else mon.rss_max_kb
        progress = await stage.repo.progress(broadcast_id)
        counts = Counter()
        for prog in progress.values():
            counts.update(dataclasses.asdict(prog))
        v = await verify(stage, broadcast_id)
        stats = await stage.api.stats()
        broadcasts = await stage.db.read(_broadcast_ids)
        bot.stop()
        r.put(f"{p}recipients", args.recipients)
        r.put(f"{p}finished", done)
        sends_figures(r, p, mon.sends, args.rate, counts["sent"] + counts["unreachable"])
        loop_stall_figures(r, p, stage, mon.sends)
        r.put(f"{p}start_delay_s", t_first - t_trigger, 2)
        r.put(f"{p}done_after_last_send_s", (mon.done_at or math.nan) - max(s.t for s in mon.sends), 2)
        verdict_figures(r, p, v)
        r.put(f"{p}flood_pauses_logged", count_in_log(bot, "asks to slow down"))
        r.put(f"{p}bot_errors_logged", count_in_log(bot, " ERROR "))
        # The final report may be sent after the monitor's last look: look once more, after the
        # server's count was taken, so the two are compared at the same moment or later.
        await mon.poll_calls()
        r.put(f"{p}call_log_complete", mon.all_send_messages >= sum(stats["methods"].get("sendMessage", {}).values()))
        r.put(f"{p}other_broadcasts", len(broadcasts) - 1)
        r.put(f"{p}idle_rss_mb", idle_kb / 1024, 1)
        r.put(f"{p}peak_rss_mb", peak_kb / 1024, 1)
        r.put(f"{p}peak_rss_source", "VmHWM reset after idle (clear_refs)" if reset_ok else "VmRSS sampled every 0.1 s")
        r.put(f"{p}sampled_max_rss_mb", mon.rss_max_kb / 1024, 1)
        r.put(f"{p}peak_rss_above_idle_mb", (peak_kb - idle_kb) / 1024, 1)
        cpu_figures(r, p, cpu0, cpu1, len(mon.sends))
    finally:
        await stage.db.close()


async def run_crash(args, workdir, http, r: Report, children: list[Child]) -> None:
    p = "crash_"
    stage = await prepare("crash", args, workdir, http, journey=False, children=children)
    try:
        bot = await start_bot(stage, args, "bot", children)
        await settle(bot)
        await stage.api.add_fault("sendMessage", "429", rate=args.fault_429_rate, retry_after=RETRY_AFTER, token=TOKEN)
        broadcast_id, _ = await trigger(stage)
        mon = Monitor(stage, broadcast_id)
        mon.start()
        try:
            t_first = await mon.first_send(60)
            after = random.Random(f"{args.seed}:crash").uniform(0.2, 0.8) * _expected_s(args)
            await asyncio.sleep(max(0.0, t_first + after - time.time()))
            bot.proc.send_signal(signal.SIGKILL)
            bot.proc.wait()
            t_kill = time.time()
            bot.stop()
            sending_at_kill = await stage.db.read(_rows_in_status, broadcast_id, "sending")
            progress_at_kill = await stage.repo.progress(broadcast_id)
            sent_at_kill = sum(prog.sent + prog.unreachable for prog in progress_at_kill.values())
            log(f"crash: SIGKILL {t_kill - t_first:.1f}s after the first send; {sending_at_kill} rows 'sending'; "
                f"restarting (the new process takes the dead one's lease over first)")
            bot2 = await start_bot(stage, args, "bot-restarted", children)
            t_restart = time.time()
            done = await mon.until_done(_expected_s(args) * 3 + 180)
        finally:
            await mon.stop()
        v = await verify(stage, broadcast_id)
        bot2.stop()
        before = [s for s in mon.sends if s.t <= t_kill]
        resumed = [s for s in mon.sends if s.t > t_restart]
        r.put(f"{p}recipients", args.recipients)
        r.put(f"{p}finished", done)
        r.put(f"{p}killed_after_first_send_s", t_kill - t_first, 2)
        r.put(f"{p}outcomes_written_before_kill", sent_at_kill)
        r.put(f"{p}rows_sending_at_kill", sending_at_kill)
        r.put(f"{p}resumed_after_restart_s", (resumed[0].t - t_restart) if resumed else math.nan, 2)
        r.put(f"{p}sends_before_kill", len(before))
        r.put(f"{p}sends_after_restart", len(resumed))
        if len(before) > 1:
            r.put(f"{p}rate_before_kill_per_s", _per(len(before), before[-1].t - before[0].t), 1)
        if len(resumed) > 1:
            r.put(f"{p}rate_after_restart_per_s", _per(len(resumed), resumed[-1].t - resumed[0].t), 1)
        verdict_figures(r, p, v)
        r.put(f"{p}uncertain_equals_sending_at_kill", len(v.uncertain) == sending_at_kill)
        r.put(f"{p}bot_errors_logged", count_in_log(bot, " ERROR ") + count_in_log(bot2, " ERROR "))
    finally:
        await stage.db.close()


async def drive(stage: Stage, args: argparse.Namespace, phase: str) -> list[UserOutcome]:
    """The journey's citizens, one phase: the same plan (neighbourhoods, votes, think times, start
    times) in every phase, other user ids."""
    rng = random.Random(args.seed)
    think_rng = random.Random(f"{args.seed}:think")
    expect = Expect.build(stage.config)
    citizens = []
    for i in range(args.citizens):
        ballot = rng.choice(stage.ballots)
        votes = rng.sample(list(ballot.proposal_ids[:5]), VOTES)
        thinks = [think_rng.uniform(*args.think_s) for _ in STEPS[1:]]
        citizens.append(Citizen(stage.api, LATENCY_BASES[phase] + 1 + i, ballot, votes, expect,
                                args.step_timeout, thinks))

    async def start(i: int, citizen: Citizen) -> UserOutcome:
        await asyncio.sleep(args.ramp_s * i / max(1, args.citizens))
        return await citizen.run()

    return await asyncio.gather(*(start(i, c) for i, c in enumerate(citizens)))


@dataclasses.dataclass
class Steps:
    latencies: list[float]  # complete answer, s
    posted: list[float]  # wall time of the action
    completed: int
    failures: Counter
    violations: int


def _steps(outcomes: list[UserOutcome], loop_to_wall: float) -> Steps:
    s = Steps([], [], 0, Counter(), 0)
    for o in outcomes:
        s.completed += o.completed
        s.violations += bool(o.violations)
        if o.failure:
            s.failures[o.failure.split(":")[0]] += 1
        for _step, posted, _first, complete in o.latencies:
            s.latencies.append(complete)
            s.posted.append(posted + loop_to_wall)
    return s


async def run_latency(args, workdir, http, r: Report, children: list[Child]) -> None:
    p = "latency_"
    stage = await prepare("latency", args, workdir, http, journey=True, children=children)
    loop = asyncio.get_running_loop()
    loop_to_wall = time.time() - loop.time()
    try:
        bot = await start_bot(stage, args, "bot", children)
        await settle(bot)
        log(f"latency: {args.citizens} citizens without a broadcast")
        before = _steps(await drive(stage, args, "before"), loop_to_wall)
        broadcast_id, _ = await trigger(stage)
        mon = Monitor(stage, broadcast_id)
        mon.start()
        try:
            await mon.first_send(60)
            log(f"latency: {args.citizens} citizens while broadcast {broadcast_id} goes out")
            during = _steps(await drive(stage, args, "during"), loop_to_wall)
            last_answer = max((t + lat for t, lat in zip(during.posted, during.latencies, strict=True)), default=0.0)
            done = await mon.until_done(_expected_s(args) * 3 + 120)
        finally:
            await mon.stop()
        log(f"latency: {args.citizens} citizens after the broadcast")
        after = _steps(await drive(stage, args, "after"), loop_to_wall)
        progress = await stage.repo.progress(broadcast_id)
        outcomes = sum(prog.sent + prog.unreachable for prog in progress.values())
        v = await verify(stage, broadcast_id)
        bot.stop()
        t_first, t_last = min(s.t for s in mon.sends), max(s.t for s in mon.sends)
        inside = [lat for lat, t in zip(during.latencies, during.posted, strict=True) if t_first <= t and t + lat <= t_last]
        ms = lambda xs, q: percentile([x * 1000 for x in xs], q)
        baseline = before.latencies + after.latencies
        r.put(f"{p}citizens_per_phase", args.citizens)
        r.put(f"{p}pacing", f"starts over {args.ramp_s:g} s, think uniform {args.think_s[0]:g}-{args.think_s[1]:g} s "
                            f"after every answer, {len(STEPS)} steps each")
        r.put(f"{p}offered_updates_per_s_during", _per(len(during.posted), max(during.posted) - min(during.posted)), 1)
        for name, s in (("before", before), ("during", during), ("after", after)):
            r.put(f"{p}{name}_steps", len(s.latencies))
            r.put(f"{p}{name}_p50_p99_ms", f"{_fmt(ms(s.latencies, 50), 0)}/{_fmt(ms(s.latencies, 99), 0)}")
        r.put(f"{p}during_steps_inside_broadcast", f"{len(inside)} of {len(during.latencies)} "
                                                  f"(posted and answered between its first and last send)")
        r.put(f"{p}broadcast_outlasted_drive", t_last >= last_answer)
        r.put(f"{p}baseline_p50_ms", ms(baseline, 50), 0)
        r.put(f"{p}baseline_p99_ms", ms(baseline, 99), 0)
        r.put(f"{p}during_broadcast_p50_ms", ms(inside, 50), 0)
        r.put(f"{p}during_broadcast_p99_ms", ms(inside, 99), 0)
        r.put(f"{p}ratio_p50", _per(ms(inside, 50), ms(baseline, 50)), 2)
        r.put(f"{p}ratio_p99", _per(ms(inside, 99), ms(baseline, 99)), 2)
        r.put(f"{p}journeys_completed", f"{before.completed}/{during.completed}/{after.completed} "
                                        f"of {args.citizens} (before/during/after)")
        r.put(f"{p}journeys_failed", ",".join(f"{k}={n}" for k, n in
                                              sorted((before.failures + during.failures + after.failures).items()))
              or "0")
        r.put(f"{p}order_violations", before.violations + during.violations + after.violations)
        r.put(f"{p}broadcast_finished", done)
        sends_figures(r, p + "broadcast_", mon.sends, args.rate, outcomes)
        r.put(f"{p}broadcast_duplicates", v.duplicate_chats)
        r.put(f"{p}broadcast_misses", len(v.misses))
        r.put(f"{p}bot_errors_logged", count_in_log(bot, " ERROR "))
    finally:
        await stage.db.close()


# ------------------------------------------------------------------ summary


def summary(r: Report, args: argparse.Namespace) -> None:
    f, runs = r.figures, args.runs

    def line(name: str, op: str, bound: float, what: str) -> None:
        value = f.get(name)
        if value is None or math.isnan(value):
            verdict = "NOT MEASURED"
        else:
            ok = {">=": value >= bound, "<=": value <= bound, "==": value == bound}[op]
            verdict = "PASS" if ok else "FAIL"
        r.lines.append(f"  {name} {op} {bound:g}: {verdict} ({_fmt(value, 3) if value is not None else '-'}) — {what}")

    r.lines.append("targets:")
    if "main" in runs:
        line("main_rate_ratio", ">=", RATE_BOUND, f"achieved ÷ configured {args.rate:g}/s, with {args.latency * 1000:g} ms, "
                                                  f"{args.blocked_share:.0%} 403, {args.fault_429_rate:.0%} 429")
        line("main_duplicates", "==", 0, "chats that got the broadcast twice or more")
        line("main_misses", "==", 0, "reachable recipients the broadcast never reached")
        line("main_peak_rss_above_idle_mb", "<=", MEMORY_BOUND_MB, "the bot's peak RSS during the broadcast − idle")
        line("main_longest_stall_s", "<=", STALL_BOUND, "the longest pause between two sends before the retry tail")
    if "crash" in runs:
        line("crash_duplicates", "==", 0, "after a SIGKILL mid-broadcast and a restart")
        line("crash_misses_outside_uncertain", "==", 0, "every miss is one of the reported in-flight ('uncertain')")
    if "latency" in runs:
        for q in ("p50", "p99"):
            value = f.get(f"latency_ratio_{q}")
            r.lines.append(f"  latency_ratio_{q}: REPORTED ({_fmt(value, 2)}; the issue sets no bound) — a citizen's "
                           f"step during a broadcast ÷ without one")
    r.lines.append("checks:")

    def check(name: str, ok: bool | None, detail: str) -> None:
        r.lines.append(f"  {name}: {'PASS' if ok else 'FAIL'} ({detail})")

    for p in [x + "_" for x in runs if x in ("main", "crash")]:
        check(f"{p}finished", f.get(f"{p}finished") == 1.0, "the broadcast reached 'done'")
        check(f"{p}no_extra_recipients", f.get(f"{p}received_without_row") == 0.0 and f.get(f"{p}blocked_received") == 0.0,
              "nobody outside the delivery rows, and no blocked user, got it")
        check(f"{p}blocked_are_unreachable", f.get(f"{p}blocked_not_unreachable") == 0.0,
              "every blocked recipient's row is 'unreachable' (or 'uncertain' after a crash)")
        check(f"{p}sent_rows_arrived", f.get(f"{p}sent_rows_not_received") == 0.0, "no row says 'sent' for a chat without it")
    if "main" in runs:
        check("main_faults_injected", f.get("main_calls_429", 0) > 0 and f.get("main_blocked_recipients", 0) > 0,
              "some sends answered 429 and some recipients had blocked the bot")
        check("main_call_log_complete", f.get("main_call_log_complete") == 1.0,
              "the driver saw every sendMessage the server logged (the rate's timestamps)")
        check("main_one_broadcast", f.get("main_other_broadcasts") == 0.0, "no calendar announcement went out meanwhile")
        foreign = f.get("main_other_processes_cpu_cores", math.nan)
        check("main_quiet_machine", foreign <= 0.1, f"other processes used {_fmt(foreign, 2)} cores")
    if "crash" in runs:
        check("crash_uncertain_equals_sending_at_kill", f.get("crash_uncertain_equals_sending_at_kill") == 1.0,
              "the rows left 'sending' by the killed process are exactly the 'uncertain' ones")
    if "latency" in runs:
        check("latency_broadcast_outlasted_drive", f.get("latency_broadcast_outlasted_drive") == 1.0,
              "the broadcast was still sending when the last citizen got the last answer (else: more recipients)")
        check("latency_order_violations", f.get("latency_order_violations") == 0.0, "every answer as expected")


# ------------------------------------------------------------------ main

RUNS = ("main", "crash", "latency")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.broadcast", description=__doc__.splitlines()[0])
    ap.add_argument("--recipients", type=int, default=None, help="citizens on Telegram (default 100000; --quick 10000)")
    ap.add_argument("--rate", type=float, default=DEFAULT_RATE,
                    help=f"configured broadcast_rate, messages/s (default {DEFAULT_RATE:g})")
    ap.add_argument("--latency", type=float, default=0.05, help="seconds the server adds to every Bot API call")
    ap.add_argument("--blocked-share", type=float, default=BLOCKED_SHARE, help="share of recipients who blocked the bot")
    ap.add_argument("--fault-429-rate", type=float, default=FAULT_429_RATE,
                    help=f"share of sendMessage calls answering 429 retry_after {RETRY_AFTER} (main and crash runs)")
    ap.add_argument("--citizens", type=int, default=None, help="latency run: citizens per phase (default 100; --quick 30)")
    ap.add_argument("--ramp-s", type=float, default=None, help="latency run: their starts spread over (default 20; --quick 4)")
    ap.add_argument("--think-s", type=_think_range, default=None, metavar="LO,HI",
                    help="latency run: seconds a citizen reads and taps after each answer (default 1.5,3.5; --quick 0.3,0.8)")
    ap.add_argument("--step-timeout", type=float, default=120.0)
    ap.add_argument("--runs", default=",".join(RUNS), help=f"which of {','.join(RUNS)}")
    ap.add_argument("--seed", type=int, default=1, help="blocked users, 429s, the moment of the kill, the citizens")
    ap.add_argument("--quick", action="store_true", help="smoke run: 10,000 recipients, 30 citizens")
    ap.add_argument("--profile", metavar="FILE", help="cProfile the main run's bot event loop into FILE")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, databases)")
    args = ap.parse_args(argv)
    q = args.quick
    args.recipients = args.recipients if args.recipients is not None else (10_000 if q else 100_000)
    args.citizens = args.citizens if args.citizens is not None else (30 if q else 100)
    args.ramp_s = args.ramp_s if args.ramp_s is not None else (4.0 if q else 20.0)
    args.think_s = args.think_s if args.think_s is not None else ((0.3, 0.8) if q else (1.5, 3.5))
    args.runs = [x.strip() for x in args.runs.split(",") if x.strip()]
    if unknown := set(args.runs) - set(RUNS):
        ap.error(f"unknown runs {sorted(unknown)}")
    return args


async def _main(args: argparse.Namespace, workdir: Path) -> list[str]:
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
    version = code_version()
    r = Report()
    r.put("recipients", args.recipients)
    r.put("configured_rate_per_s", args.rate, 0)
    r.put("server_latency_s", args.latency, 3)
    r.put("faults", f"{args.blocked_share:.0%} of recipients blocked (403); {args.fault_429_rate:.0%} of sendMessage "
                    f"answer 429 retry_after {RETRY_AFTER} (main, crash)")
    r.put("rate_definition", "(delivery rows 'sent' + 'unreachable') ÷ (server time of the last − the first "
                             "sendMessage of the broadcast, retries included)")
    children: list[Child] = []
    connector = aiohttp.TCPConnector(limit=0)
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as http:
            for name, run in (("main", run_main), ("crash", run_crash), ("latency", run_latency)):
                if name in args.runs:
                    await run(args, workdir, http, r, children)
                    for child in reversed(children):  # the bots first, so they do not poll a dead server
                        child.stop()
                    children.clear()
    finally:
        for child in reversed(children):
            child.stop()
    summary(r, args)
    after = code_version()
    r.lines.insert(0, f"code_version {version}" if after == version
                   else f"code_version {version} -> {after} (CHANGED DURING THE RUN: measure again)")
    return r.lines


def main(argv: list[str] | None = None) -> int:
    return run_in_workdir("bench-broadcast-", _parse(argv), _main)


if __name__ == "__main__":
    sys.exit(main())
