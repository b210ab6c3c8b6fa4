"""The citizen's voting journey, N citizens at once, against the loopback Bot API.

    .venv/bin/python -m bench.journey [--users 1000] [--latency 0.1] [--baseline-users 40] [--quick]

Three processes, so the bot's figures are its own: the loopback Bot API server
(``python -m bot.devtools.localapi --latency L``), the bot (``python -m bench.run_bot``) and this driver,
which seeds the database through the services before the bot starts, then drives every simulated
citizen through /start → neighbourhood → «🗳 …» → share contact → ballot → three votes, each
step waiting for the bot's answer before the next.

Four configurations are measured, each on a fresh server, database and bot process:
  saturation  per-user concurrent processing (bot.app.CONCURRENT_UPDATES), aiohttp transport;
              closed loop, no think time, all citizens from t=0: the bot's capacity (updates/s)
  surge       the same bot; the citizens start within --ramp-s and read and tap for
              uniform(--think-s) seconds after every answer: latency at a realistic peak load
  baseline    PTB's one-at-a-time processing (concurrent_updates=1), same transport, fewer users
  httpx       like saturation, PTB's default httpx transport

One figure per line on stdout, then ``targets:`` and ``checks:`` blocks; progress goes to stderr.
See README.md.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import json
import math
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import (
    BOT_USERNAME,
    ROOT,
    TOKEN,
    bench_config,
    proposals_moment,
    voting_moment,
)
from bot.app import CONCURRENT_UPDATES
from bot.campaign.calendar import phase_at
from bot.campaign.clock import ManualClock
from bot.campaign.config import Config
from bot.campaign.roles import Actor
from bot.campaign.services import Services
from bot.campaign.services.proposals import Gate, TextCheck
from bot.devtools.localapi import LocalApiClient
from bot.messenger.render import phase_line

BENCH = Actor.tool("bench")  # the seeding acts as the operator's tool (bot/campaign/roles.py)
from messages_fa import buttons as b
from messages_fa import texts
from messages_fa.markup import PlainMarkup
from messages_fa.numbers import fa_digits
from storage.db import Database
from storage.repositories import Repositories

PYTHON = sys.executable
# Calls that are not part of serving a citizen: start-up and the long poll.
EXCLUDED_METHODS = ("getUpdates", "getMe", "setMyCommands", "deleteWebhook")
STEPS = ("start", "neighbourhood", "vote_menu", "contact", "vote_1", "vote_2", "vote_3")
# What the bot says when it could not do what a citizen asked, or refuses to: none of it belongs
# in a journey. Counted in messages and in press answers (alerts) after every run.
ERROR_TEXTS = {texts.error_try_again(): "error_try_again", texts.flood_notice(): "flood_notice",
               texts.flood_notice_buttons(): "flood_notice_buttons", texts.button_expired(): "button_expired"}
USER_BASE = 1_000_000  # simulated citizens: USER_BASE + 1 … (their shared phone is 98912 + id)
AUTHOR_BASE = 5_000_000  # authors of the seeded proposals
SEEDED_NEIGHBOURHOODS = 8
PROPOSALS_PER_NEIGHBOURHOOD = (3, 8)  # inclusive range; a ballot page shows 5
VOTES = 3
TARGETS = (  # (figure, comparison, bound, which run) from the issue
    ("saturation_updates_per_s", ">=", 300.0, "capacity: closed loop, no think time"),
    ("speedup_vs_one_at_a_time", ">=", 30.0, "saturation vs PTB one-at-a-time"),
    ("surge_latency_p99_ms", "<=", 1000.0, "surge: citizens who read and tap"),
    # 13 since issue 16: the neighbourhood list is edited to show the choice and lose its buttons
    # (an edit, outside the sending budget, after the menu: the step's wait is unchanged).
    ("saturation_api_calls_per_journey", "<=", 13.0, "saturation run"),
    ("journey_vs_echo_cpu_ratio", "<=", 1.5, "bot CPU per update, saturation vs the bare PTB echo bot"),
    ("tenk_error_messages_to_citizens", "<=", 0.0, "10,000 citizens at once"),
    ("tenk_callbacks_answered_again", "<=", 0.0, "10,000 citizens at once"),
)
# The surge: a person reads a short Persian answer and taps the next button in a few seconds.
# Chosen from that, before any result was seen; not tuned to the outcome (see README.md).
SURGE_THINK_S = (1.5, 3.5)
SURGE_RAMP_S = 5.0
SURGE_MIN_OFFERED = 300.0  # the surge's p99 speaks for the target only at the target's load
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ processes


class Child:
    """A child process whose first stdout line says it is ready; stderr goes to a log file."""

    def __init__(self, name: str, argv: list[str], log_path: Path, env: dict | None = None) -> None:
        self.name, self.argv, self.log_path = name, argv, log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._log, env={**os.environ, **(env or {})})
        self.pid = self.proc.pid

    async def ready(self, prefix: str, timeout: float = 60.0) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise RuntimeError(f"{self.name} not ready within {timeout}s; log tail:\n{self.log_tail()}")
            try:
                line = await asyncio.wait_for(loop.run_in_executor(None, self.proc.stdout.readline), remaining)
            except TimeoutError:
                continue
            if not line:
                self.proc.wait(5)
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; log tail:\n{self.log_tail()}")
            text = line.decode(errors="replace").strip()
            if text.startswith(prefix):
                # Keep draining stdout so the child can never block on a full pipe.
                threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()
                return text

    def cpu_seconds(self) -> float:
        """utime + stime of the whole process (all threads), from /proc/<pid>/stat."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def thread_cpu(self) -> dict[int, float]:
        """CPU seconds per thread id (the event loop is the thread whose id is the pid)."""
        out = {}
        for tid in os.listdir(f"/proc/{self.pid}/task"):
            try:
                with open(f"/proc/{self.pid}/task/{tid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            out[int(tid)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
        return out

    def status_kb(self, key: str) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return 0

    def log_tail(self, lines: int = 20) -> str:
        self._log.flush()
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def count_log(self, needle: str) -> int:
        self._log.flush()
        try:
            return sum(needle in line for line in self.log_path.read_text(errors="replace").splitlines())
        except OSError:
            return 0

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (graceful), then SIGKILL; always reaps the process."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"{self.name} ignored SIGTERM for {timeout}s; killing pid {self.pid}")
                self.proc.kill()
                self.proc.wait()
        self._log.close()


# ------------------------------------------------------------------- seeding


@dataclasses.dataclass(frozen=True)
class Ballot:
    neighbourhood_id: str
    name: str
    proposal_ids: tuple[int, ...]  # ballot order (by id); page 0 shows the first 5


async def seed_database(config: Config, seed: int) -> list[Ballot]:
    """Approved proposals in several neighbourhoods, written through the services as citizens
    and staff would (submission in the proposals phase, approval afterwards)."""
    rng = random.Random(seed)
    clock = ManualClock(proposals_moment(config))
    db = Database(config.database)
    await db.open()
    ballots = []
    try:
        services = Services.build(config, clock, Repositories(db))
        author = AUTHOR_BASE
        for hood in rng.sample(list(config.neighbourhoods), SEEDED_NEIGHBOURHOODS):
            ids = []
            for n in range(rng.randint(*PROPOSALS_PER_NEIGHBOURHOOD)):
                author += 1
                citizen, _ = await services.citizens.enter("telegram", author, author)
                await services.citizens.choose_neighbourhood(citizen, hood.id)
                citizen = await services.repos.citizens.get(citizen.id)
                gate, _ = await services.proposals.start(citizen)
                if gate is not Gate.OK:
                    raise RuntimeError("seeding: proposals phase not open")
                await services.proposals.set_category(citizen, rng.choice(config.categories).id)
                checks = [
                    await services.proposals.set_title(citizen, f"پروژهٔ {hood.name} شمارهٔ {fa_digits(n + 1)}"),
                    await services.proposals.set_description(
                        citizen, f"پیشنهاد شمارهٔ {fa_digits(n + 1)} برای محلهٔ {hood.name}: "
                                 + rng.choice(_DESCRIPTIONS)),
                ]
                if any(c.check is not TextCheck.OK for c in checks):
                    raise RuntimeError(f"seeding: text refused {checks}")
                submitted = await services.proposals.submit(citizen)
                if submitted.gate is not Gate.OK:
                    raise RuntimeError(f"seeding: submit refused ({submitted.gate})")
                decided = await services.proposals.decide(BENCH, submitted.proposal.id, approve=True)
                # Only feasible proposals with a cost are on the ballot.
                await services.proposals.judge(BENCH, decided.proposal.id, True, "bench")
                await services.proposals.set_cost(BENCH, decided.proposal.id, "100000000")
                ids.append(decided.proposal.id)
            ballots.append(Ballot(hood.id, hood.name, tuple(sorted(ids))))
    finally:
        await db.close()
    return ballots


_DESCRIPTIONS = (
    "کاشت درخت در پیاده‌روی خیابان اصلی تا تابستان سایه داشته باشیم.",
    "نصب نیمکت و سایه‌بان در ایستگاه اتوبوس برای سالمندان و کودکان.",
    "بازسازی زمین بازی پارک محله با کفپوش ایمن و وسایل تازه.",
    "روشنایی بیشتر برای کوچه‌های تاریک مسیر مدرسه.",
    "ساخت رمپ برای دسترسی ویلچر و کالسکه به پیاده‌رو.",
    "برگزاری کارگاه‌های هنری رایگان برای نوجوانان در فرهنگسرا.",
)


# ------------------------------------------------------------------- journeys


async def chat_changes(api, uid: int, after: int, deadline: float):
    """The chat's messages each time the bot changes something in it (long-polling the loopback
    server from `after`), until the loop time `deadline`: then TimeoutError."""
    loop = asyncio.get_running_loop()
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise TimeoutError
        snap = await api.watch(TOKEN, uid, after, timeout=min(remaining, 30.0))
        if not snap["timed_out"]:
            after = snap["seq"]
            yield snap["messages"]


class JourneyFailed(Exception):
    pass


@dataclasses.dataclass
class Expect:
    """What the chat must look like once the bot has answered a step."""
    welcome: str
    ask_phone: str
    verified: str
    error: str

    @classmethod
    def build(cls, config: Config) -> "Expect":
        m, moment = PlainMarkup(), voting_moment(config)
        line = phase_line(config, phase_at(config.calendar, moment), moment)
        return cls(texts.welcome(m, line, None), texts.ask_phone(), texts.phone_verified(), texts.error_try_again())

    def hood_set(self, ballot: Ballot) -> str:
        return texts.neighbourhood_set(PlainMarkup(), ballot.name)


def _buttons(msg: dict) -> list[dict]:
    markup = msg.get("reply_markup") or {}
    return [btn for row in markup.get("inline_keyboard", []) for btn in row]


def _reply_labels(msg: dict) -> list[str]:
    markup = msg.get("reply_markup") or {}
    return [btn if isinstance(btn, str) else btn.get("text", "") for row in markup.get("keyboard", []) for btn in row]


@dataclasses.dataclass
class UserOutcome:
    latencies: list[tuple[str, float, float, float]]  # (step, posted at, first bot call, complete) in s
    completed: bool
    failure: str | None
    violations: list[str]
    started: float  # loop time of the first action
    ended: float  # loop time of the last answer (or of giving up)


class Citizen:
    def __init__(self, api: LocalApiClient, uid: int, ballot: Ballot, votes: list[int], expect: Expect,
                 step_timeout: float, thinks: list[float]) -> None:
        """thinks[k]: seconds the citizen reads and taps after the answer to step k (none: 0)."""
        self.api, self.uid, self.ballot, self.votes, self.expect = api, uid, ballot, votes, expect
        self.step_timeout, self.thinks = step_timeout, thinks
        self.latencies: list[tuple[str, float, float, float]] = []
        self.violations: list[str] = []
        self.msgs: list[dict] = []
        self.pressed: list[str] = []  # callback query ids of the citizen's presses

    def violation(self, step: str, what: str) -> None:
        self.violations.append(f"{step}: {what}")

    async def step(self, name: str, action, done) -> list[dict]:
        """Post the action, long-poll the chat until done(messages); record both latencies."""
        done_steps = len(self.latencies)
        if done_steps and done_steps <= len(self.thinks) and self.thinks[done_steps - 1] > 0:
            await asyncio.sleep(self.thinks[done_steps - 1])  # reading the last answer, tapping
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        posted = await action()
        if "callback_query_id" in posted:
            self.pressed.append(posted["callback_query_id"])
        first = None
        try:
            async for msgs in chat_changes(self.api, self.uid, posted["seq"], t0 + self.step_timeout):
                now = loop.time()
                first = first if first is not None else now - t0
                if any(m.get("text") == self.expect.error for m in msgs):
                    raise JourneyFailed(f"{name}: the bot answered with its error message")
                if done(msgs):
                    self.latencies.append((name, t0, first, now - t0))
                    self.msgs = msgs
                    return msgs
        except TimeoutError:
            raise JourneyFailed(f"{name}: no complete answer within {self.step_timeout:.0f}s") from None
        raise AssertionError("unreachable: chat_changes ends only by TimeoutError")

    async def run(self) -> UserOutcome:
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            await self._journey()
            return UserOutcome(self.latencies, True, None, self.violations, started, loop.time())
        except JourneyFailed as exc:
            return UserOutcome(self.latencies, False, str(exc), self.violations, started, loop.time())
        except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as exc:
            return UserOutcome(self.latencies, False, f"{type(exc).__name__}: {exc}", self.violations, started,
                               loop.time())

    async def _journey(self) -> None:
        api, uid, hood, ex = self.api, self.uid, self.ballot, self.expect

        msgs = await self.step("start", lambda: api.send_text(TOKEN, uid, "/start"), lambda m: len(m) >= 1)
        welcome = msgs[0]
        if welcome.get("text") != ex.welcome or len(msgs) != 1:
            self.violation("start", f"expected the welcome alone, got {_show(msgs)}")
        if f"n:{hood.neighbourhood_id}" not in [btn.get("callback_data") for btn in _buttons(welcome)]:
            raise JourneyFailed(f"start: no button for {hood.neighbourhood_id}")

        msgs = await self.step(
            "neighbourhood",
            lambda: api.press(TOKEN, uid, welcome["message_id"], f"n:{hood.neighbourhood_id}"),
            lambda m: len(m) >= 2)
        if len(msgs) != 2 or msgs[1].get("text") != ex.hood_set(hood) or b.VOTE not in _reply_labels(msgs[1]):
            self.violation("neighbourhood", f"expected the neighbourhood set with the menu, got {_show(msgs[1:])}")

        # A person taps the menu button: press_button checks that it is really on the keyboard.
        msgs = await self.step("vote_menu", lambda: api.press_button(TOKEN, uid, b.VOTE), lambda m: len(m) >= 3)
        if len(msgs) != 3 or msgs[2].get("text") != ex.ask_phone:
            self.violation("vote_menu", f"expected the phone request, got {_show(msgs[2:])}")

        # The request_contact button: shares the user's own number.
        msgs = await self.step("contact", lambda: api.press_button(TOKEN, uid, b.SHARE_PHONE),
                               lambda m: len(m) >= 5)
        ballot_msg = msgs[4]
        if len(msgs) != 5 or msgs[3].get("text") != ex.verified \
                or not (ballot_msg.get("text") or "").startswith(f"پیشنهادهای محلهٔ {hood.name}") \
                or texts.votes_used(0, VOTES) not in ballot_msg.get("text", ""):
            self.violation("contact", f"expected verified then the ballot, got {_show(msgs[3:])}")

        for n, proposal_id in enumerate(self.votes, start=1):
            data = f"v:{proposal_id}:0"
            if data not in [btn.get("callback_data") for btn in _buttons(ballot_msg)]:
                raise JourneyFailed(f"vote_{n}: no button {data} on the ballot")
            msgs = await self.step(
                f"vote_{n}", lambda d=data, shown=ballot_msg: api.press(TOKEN, uid, shown["message_id"], d),
                lambda m, n=n: len(m) >= 5 and m[4].get("edit_count", 0) >= n)
            ballot_msg = msgs[4]
            if len(msgs) != 5 or ballot_msg.get("edit_count") != n \
                    or texts.votes_used(n, VOTES) not in ballot_msg.get("text", ""):
                self.violation(f"vote_{n}", f"expected the ballot edited to {n} votes, got {_show(msgs[4:])}")

        # The final ballot: exactly the chosen proposals are shown as voted («✅ …» buttons).
        voted = {int(btn["callback_data"].split(":")[1]) for btn in _buttons(ballot_msg)
                 if btn.get("callback_data", "")[:2] in ("v:", "w:") and btn["text"].startswith("✅")}
        if voted != set(self.votes):
            self.violation("final", f"ballot marks {sorted(voted)} as voted, expected {sorted(self.votes)}")


def _show(msgs: list[dict]) -> str:
    return repr([(m.get("text") or "")[:40] + f" (edits {m.get('edit_count')})" for m in msgs])


class EchoCitizen(Citizen):
    """The echo run's citizen: as many messages as a journey has steps, each waiting for its echo."""

    async def _journey(self) -> None:
        for n, name in enumerate(STEPS, start=1):
            text = f"پیام {n} از {self.uid}"
            msgs = await self.step(name, lambda t=text: self.api.send_text(TOKEN, self.uid, t),
                                   lambda m, n=n: len(m) >= n)
            if len(msgs) != n or msgs[-1].get("text") != text:
                self.violation(name, f"expected the echo of {text!r}, got {_show(msgs[n - 1:])}")


async def audit(api: LocalApiClient, citizens: list[Citizen]) -> tuple[Counter, int]:
    """After the drive, from the server's records: every message and press answer the citizens got
    that is one of ERROR_TEXTS (by text), and how many presses were never answered."""
    errors: Counter = Counter()
    unanswered = 0
    gate = asyncio.Semaphore(32)

    async def one(citizen: Citizen) -> None:
        nonlocal unanswered
        async with gate:
            for msg in await api.messages(TOKEN, citizen.uid):
                if (name := ERROR_TEXTS.get(msg.get("text") or "")) is not None:
                    errors[f"message:{name}"] += 1
            for cq_id in citizen.pressed:
                answer = await api.callback_answer(TOKEN, cq_id)
                if answer is None:
                    unanswered += 1
                elif (name := ERROR_TEXTS.get(answer.get("text") or "")) is not None:
                    errors[f"alert:{name}"] += 1
    await asyncio.gather(*(one(c) for c in citizens))
    return errors, unanswered


# ------------------------------------------------------------------ one run


@dataclasses.dataclass
class RunResult:
    label: str
    users: int
    concurrency: int
    transport: str
    completed: int = 0
    steps: int = 0
    elapsed: float = 0.0
    complete_lat: list[float] = dataclasses.field(default_factory=list)
    first_lat: list[float] = dataclasses.field(default_factory=list)
    step_lat: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    failures: Counter = dataclasses.field(default_factory=Counter)
    violations: list[str] = dataclasses.field(default_factory=list)
    violating_users: int = 0
    calls: Counter = dataclasses.field(default_factory=Counter)
    call_errors: Counter = dataclasses.field(default_factory=Counter)
    updates_pushed: int = 0
    max_in_flight: int = 0
    bot_cpu: float = 0.0
    bot_loop_cpu: float = 0.0
    bot_hwm_kb: int = 0
    server_cpu: float = 0.0
    driver_cpu: float = 0.0
    bot_errors_logged: int = 0
    error_messages: Counter = dataclasses.field(default_factory=Counter)  # ERROR_TEXTS citizens got
    presses: int = 0
    presses_unanswered: int = 0
    db_probe: dict | None = None
    foreign_cores: float = 0.0
    think: tuple[float, float] | None = None  # surge: uniform think time range, seconds
    ramp_s: float = 0.0
    posted_at: list[float] = dataclasses.field(default_factory=list)  # s since the drive began, per step
    answered_at: list[float] = dataclasses.field(default_factory=list)  # same order as posted_at
    spans: list[tuple[float, float]] = dataclasses.field(default_factory=list)  # per citizen: first post, end

    @property
    def updates_per_s(self) -> float:
        return self.steps / self.elapsed if self.elapsed else 0.0

    @property
    def journey_calls(self) -> int:
        return sum(n for method, n in self.calls.items() if method not in EXCLUDED_METHODS)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / CLK_TCK, sum(values) / CLK_TCK


def code_version() -> str:
    """The commit measured (+dirty when tracked files differ from it); other people edit concurrently."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        diff = subprocess.run(["git", "diff", "HEAD"], cwd=ROOT, capture_output=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + (f"+dirty.{hashlib.sha1(diff).hexdigest()[:8]}" if diff else "")


def _driver_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run_config(label: str, args: argparse.Namespace, workdir: Path, users: int, concurrency: int,
                     transport: str, investigate: bool = False, think: tuple[float, float] | None = None,
                     ramp_s: float = 0.0) -> RunResult:
    """One configuration on a fresh server, database and bot. Without think/ramp_s: the closed
    loop, every citizen acting the moment the previous answer is complete, all from t=0. With
    them: the k-th citizen starts at ramp_s*k/users and pauses uniform(*think) seconds (seeded)
    after each answer before acting again."""
    result = RunResult(label, users, concurrency, transport, think=think, ramp_s=ramp_s)
    rundir = workdir / label
    rundir.mkdir()
    children: list[Child] = []
    try:
        server = Child("server", [PYTHON, "-m", "bot.devtools.localapi", "--port", "0", "--latency", str(args.latency),
                                  "--bot", f"{TOKEN}={BOT_USERNAME}", "--seed", str(args.seed)],
                       rundir / "server.log")
        children.append(server)
        url = (await server.ready("listening on ")).removeprefix("listening on ").strip()

        config = bench_config(url, rundir / "bot.sqlite3")
        echo = label == "echo"
        ballots = [Ballot("-", "-", (0,) * VOTES)] if echo else await seed_database(config, args.seed)
        log(f"{label}: server {url}, seeded {sum(len(x.proposal_ids) for x in ballots)} approved proposals in "
            f"{len(ballots)} neighbourhoods; starting the bot ({transport}, concurrency {concurrency})")

        kind = {"echo": ["--echo"], "skeleton": ["--skeleton", "ptb"], "skeleton_io": ["--skeleton", "bot-io"]}.get(label, [])
        bot = Child("bot", [PYTHON, "-m", "bench.run_bot", "--api", url, "--db", str(config.database),
                            "--concurrency", str(concurrency), "--transport", transport] + kind,
                    rundir / "bot.log", env=_investigation_env(args, rundir) if investigate else None)
        children.append(bot)
        await bot.ready("ready")

        rng = random.Random(args.seed)
        plan = []
        for i in range(users):
            ballot = rng.choice(ballots)
            plan.append((USER_BASE + 1 + i, ballot, rng.sample(list(ballot.proposal_ids[:5]), VOTES)))

        connector = aiohttp.TCPConnector(limit=0)  # one connection per citizen's long poll
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as http:
            api = LocalApiClient(url, session=http)
            expect = Expect.build(config)
            think_rng = random.Random(f"{args.seed}:think")  # its own stream: the plan above is unchanged
            citizens = [(EchoCitizen if echo else Citizen)(api, uid, ballot, votes, expect, args.step_timeout,
                                [think_rng.uniform(*think) for _ in STEPS[1:]] if think else [])
                        for uid, ballot, votes in plan]
            await api.reset_stats()
            before = await api.stats()
            cpu0, loop0, srv0, drv0 = bot.cpu_seconds(), bot.thread_cpu().get(bot.pid, 0.0), \
                server.cpu_seconds(), _driver_cpu()
            machine0 = _machine_busy()
            log(f"{label}: driving {users} citizens"
                + (f", think {think[0]:g}-{think[1]:g} s, ramp {ramp_s:g} s" if think else ", no think time"))
            t0 = time.perf_counter()
            loop_t0 = asyncio.get_running_loop().time()

            async def start(i: int, citizen: Citizen) -> UserOutcome:
                if ramp_s:
                    await asyncio.sleep(ramp_s * i / max(1, users))
                return await citizen.run()

            outcomes = await asyncio.gather(*(start(i, c) for i, c in enumerate(citizens)))
            result.elapsed = time.perf_counter() - t0
            result.bot_cpu = bot.cpu_seconds() - cpu0
            result.bot_loop_cpu = bot.thread_cpu().get(bot.pid, 0.0) - loop0
            result.server_cpu = server.cpu_seconds() - srv0
            result.driver_cpu = _driver_cpu() - drv0
            result.bot_hwm_kb = bot.status_kb("VmHWM")
            busy = _machine_busy()[0] - machine0[0]
            # CPU used by anything but these three processes (other people's tests, ...), in cores.
            result.foreign_cores = max(0.0, busy - result.bot_cpu - result.server_cpu - result.driver_cpu) \
                / result.elapsed
            after = await api.stats()
            # After the measurements: reading the server's records costs the bot nothing.
            result.error_messages, result.presses_unanswered = await audit(api, citizens)
            result.presses = sum(len(c.pressed) for c in citizens)

        for outcome in outcomes:
            result.completed += outcome.completed
            result.steps += len(outcome.latencies)
            result.spans.append(((outcome.latencies[0][1] if outcome.latencies else outcome.started) - loop_t0,
                                 outcome.ended - loop_t0))
            for step, posted, first, complete in outcome.latencies:
                result.posted_at.append(posted - loop_t0)
                result.answered_at.append(posted - loop_t0 + complete)
                result.first_lat.append(first)
                result.complete_lat.append(complete)
                result.step_lat.setdefault(step, []).append(complete)
            if outcome.failure:
                result.failures[outcome.failure.split(":")[0]] += 1
                if len(result.violations) < 5:
                    result.violations.append(f"failure: {outcome.failure}")
            if outcome.violations:
                result.violating_users += 1
                result.violations.extend(outcome.violations[: max(0, 10 - len(result.violations))])

        for method, statuses in after["methods"].items():
            old = before["methods"].get(method, {})
            for status, n in statuses.items():
                delta = n - old.get(status, 0)
                result.calls[method] += delta
                if status != "200":
                    result.call_errors[f"{method}:{status}"] += delta
        result.updates_pushed = after["updates_pushed"] - before["updates_pushed"]
        result.max_in_flight = after["max_in_flight"]
        result.bot_errors_logged = bot.count_log(" ERROR ")
        if result.bot_errors_logged:
            log(f"{label}: the bot logged {result.bot_errors_logged} errors; tail:\n{bot.log_tail()}")
        log(f"{label}: {result.completed}/{users} journeys in {result.elapsed:.1f}s")
        return result
    finally:
        for child in reversed(children):  # the bot first, so it does not poll a dead server
            child.stop()
        probe = rundir / "dbprobe.json"
        if probe.exists():
            result.db_probe = json.loads(probe.read_text())


def _investigation_env(args: argparse.Namespace, rundir: Path) -> dict[str, str]:
    env = {}
    if args.profile:
        env["BENCH_PROFILE"] = str(Path(args.profile).resolve())
    if args.db_probe:
        env["BENCH_DB_PROBE"] = str(rundir / "dbprobe.json")
    return env


# ------------------------------------------------------------------ report


def _fmt(value: float, digits: int = 1) -> str:
    return "nan" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _per(n: float, d: float) -> float:
    return n / d if d else math.nan


def busy_window(r: RunResult) -> tuple[float, float, str]:
    """The surge's plateau: from the last citizen's first action to the first citizen's end, when
    every citizen is mid-journey. If that is under 2 s (a tiny run), the middle 80% of answers."""
    if r.spans:
        start, end = max(s for s, _ in r.spans), min(e for _, e in r.spans)
        if end - start >= 2.0:
            return start, end, "all citizens mid-journey"
    ordered = sorted(r.answered_at)
    if len(ordered) < 2:
        return 0.0, r.elapsed, "whole run"
    return percentile(ordered, 10), percentile(ordered, 90), "middle 80% of answers"


def per_second(times: list[float], until: float) -> list[int]:
    bins = [0] * max(1, math.ceil(until))
    for t in times:
        bins[min(len(bins) - 1, max(0, int(t)))] += 1
    return bins


def max_in_flight(r: RunResult) -> int:
    """Most updates posted by citizens and not yet completely answered, at any moment."""
    events = sorted([(t, 1) for t in r.posted_at] + [(t, -1) for t in r.answered_at], key=lambda e: (e[0], e[1]))
    level = peak = 0
    for _, delta in events:
        level += delta
        peak = max(peak, level)
    return peak


def report(args: argparse.Namespace, runs: dict[str, RunResult]) -> list[str]:
    lines: list[str] = []
    figures: dict[str, float] = {}

    def put(name: str, value: Any, digits: int = 1) -> None:
        if isinstance(value, float):
            figures[name] = value
            value = _fmt(value, digits)
        elif isinstance(value, int):
            figures[name] = float(value)
        lines.append(f"{name} {value}")

    def latencies(p: str, values: list[float]) -> None:
        ms = [x * 1000 for x in values]
        put(f"{p}latency_p50_ms", percentile(ms, 50), 0)
        put(f"{p}latency_p95_ms", percentile(ms, 95), 0)
        put(f"{p}latency_p99_ms", percentile(ms, 99), 0)
        put(f"{p}latency_max_ms", max(ms) if ms else math.nan, 0)

    def common(p: str, r: RunResult) -> None:
        """What both concurrent runs report: answers, calls, resources."""
        first = [x * 1000 for x in r.first_lat]
        put(f"{p}first_reply_p50_ms", percentile(first, 50), 0)
        put(f"{p}first_reply_p99_ms", percentile(first, 99), 0)
        for step in STEPS:
            values = [x * 1000 for x in r.step_lat.get(step, [])]
            put(f"{p}step_{step}_p50_p99_ms", f"{_fmt(percentile(values, 50), 0)}/{_fmt(percentile(values, 99), 0)}")
        put(f"{p}api_calls_per_journey", _per(r.journey_calls, r.completed), 2)
        put(f"{p}api_calls_by_method", ",".join(f"{m}={n}" for m, n in sorted(r.calls.items())
                                                if m not in EXCLUDED_METHODS) or "-")
        put(f"{p}getUpdates_calls", r.calls.get("getUpdates", 0))
        put(f"{p}updates_per_getUpdates", _per(r.updates_pushed, r.calls.get("getUpdates", 0)), 1)
        put(f"{p}api_errors", ",".join(f"{k}={v}" for k, v in sorted(r.call_errors.items())) or "0")
        put(f"{p}server_max_in_flight", r.max_in_flight)
        put(f"{p}bot_peak_rss_mb", r.bot_hwm_kb / 1024)
        put(f"{p}bot_cpu_ms_per_update", _per(r.bot_cpu * 1000, r.steps), 2)
        put(f"{p}bot_cpu_utilisation", _per(r.bot_cpu, r.elapsed), 2)
        put(f"{p}bot_cpu_event_loop_share", _per(r.bot_loop_cpu, r.bot_cpu), 2)
        put(f"{p}server_cpu_ms_per_update", _per(r.server_cpu * 1000, r.steps), 2)
        put(f"{p}driver_cpu_ms_per_update", _per(r.driver_cpu * 1000, r.steps), 2)
        put(f"{p}bot_errors_logged", r.bot_errors_logged)
        put(f"{p}other_processes_cpu_cores", r.foreign_cores, 2)

    surge_kept = None
    sat = runs.get("saturation")
    for closed in (sat, runs.get("tenk")):  # the closed-loop runs: 1,000 and 10,000 citizens
        if not closed:
            continue
        p = f"{closed.label}_"
        put(f"{p}users", closed.users)
        put(f"{p}journeys_completed", closed.completed)
        put(f"{p}updates_sent", closed.updates_pushed)
        put(f"{p}updates_per_s", closed.updates_per_s)
        latencies(p, closed.complete_lat)
        put(f"{p}little_law_latency_ms", _per(closed.users * 1000, closed.updates_per_s), 0)
        common(p, closed)
        if closed.db_probe:
            db_probe_lines(put, closed)

    surge = runs.get("surge")
    if surge:
        p = "surge_"
        lo, hi = surge.think
        start, end, how = busy_window(surge)
        width = end - start
        offered = _per(sum(start <= t <= end for t in surge.posted_at), width)
        achieved = _per(sum(start <= t <= end for t in surge.answered_at), width)
        busy = [lat for t, lat in zip(surge.posted_at, surge.complete_lat, strict=True) if start <= t <= end]
        answered = per_second(surge.answered_at, max(surge.answered_at, default=1.0))
        posted = per_second(surge.posted_at, max(surge.answered_at, default=1.0))
        put(f"{p}users", surge.users)
        put(f"{p}think_s", f"uniform {lo:g}-{hi:g} after every answer (mean {(lo + hi) / 2:g}), seed {args.seed}")
        put(f"{p}ramp_s", surge.ramp_s, 1)
        put(f"{p}journeys_completed", surge.completed)
        put(f"{p}updates_sent", surge.updates_pushed)
        put(f"{p}busy_window_s", f"{start:.1f}-{end:.1f} ({width:.1f} s, {how})")
        put(f"{p}offered_updates_per_s", offered)
        put(f"{p}updates_per_s", achieved)
        surge_kept = achieved >= 0.95 * offered
        put(f"{p}kept_up", f"{'yes' if surge_kept else 'NO'} "
                           f"(answered/offered {_fmt(_per(achieved, offered), 3)} in the busy window)")
        put(f"{p}peak_1s_updates_per_s", max(answered))
        put(f"{p}whole_run_updates_per_s", surge.updates_per_s)
        put(f"{p}max_updates_in_flight", max_in_flight(surge))
        latencies(p, surge.complete_lat)
        put(f"{p}busy_latency_p50_ms", percentile([x * 1000 for x in busy], 50), 0)
        put(f"{p}busy_latency_p99_ms", percentile([x * 1000 for x in busy], 99), 0)
        put(f"{p}posted_per_second", ",".join(map(str, posted)))
        put(f"{p}answered_per_second", ",".join(map(str, answered)))
        common(p, surge)

    base = runs.get("baseline")
    if base:
        put("baseline_users", base.users)
        put("baseline_journeys_completed", base.completed)
        put("baseline_updates_per_s", base.updates_per_s, 2)
        put("baseline_latency_p99_ms", percentile([x * 1000 for x in base.complete_lat], 99), 0)
        put("baseline_api_calls_per_journey", _per(base.journey_calls, base.completed), 2)
        put("baseline_other_processes_cpu_cores", base.foreign_cores, 2)
        put("baseline_bot_cpu_ms_per_update", _per(base.bot_cpu * 1000, base.steps), 2)
    if sat and base and base.updates_per_s:
        put("speedup_vs_one_at_a_time", sat.updates_per_s / base.updates_per_s, 1)
    echo = runs.get("echo")
    if echo:
        put("echo_users", echo.users)
        put("echo_updates_completed", echo.steps)
        put("echo_updates_per_s", echo.updates_per_s)
        put("echo_latency_p99_ms", percentile([x * 1000 for x in echo.complete_lat], 99), 0)
        put("echo_bot_cpu_ms_per_update", _per(echo.bot_cpu * 1000, echo.steps), 3)
        put("echo_other_processes_cpu_cores", echo.foreign_cores, 2)
    if sat and echo and echo.steps and sat.steps:
        put("journey_vs_echo_cpu_ratio", _per(sat.bot_cpu / sat.steps, echo.bot_cpu / echo.steps), 2)
    for name in ("skeleton", "skeleton_io"):
        skeleton = runs.get(name)
        if not skeleton:
            continue
        put(f"{name}_journeys_completed", skeleton.completed)
        put(f"{name}_api_calls_per_journey", _per(skeleton.journey_calls, skeleton.completed), 2)
        put(f"{name}_updates_per_s", skeleton.updates_per_s)
        put(f"{name}_bot_cpu_ms_per_update", _per(skeleton.bot_cpu * 1000, skeleton.steps), 3)
        put(f"{name}_other_processes_cpu_cores", skeleton.foreign_cores, 2)
        if echo and echo.steps and skeleton.steps:
            put(f"{name}_vs_echo_cpu_ratio", _per(skeleton.bot_cpu / skeleton.steps, echo.bot_cpu / echo.steps), 2)
        if sat and sat.steps and skeleton.steps:
            put(f"journey_vs_{name}_cpu_ratio", _per(sat.bot_cpu / sat.steps, skeleton.bot_cpu / skeleton.steps), 2)
    hx = runs.get("httpx")
    if hx:
        put("httpx_users", f"{hx.users} ({'same users as saturation' if sat and hx.users == sat.users else 'subset'})")
        put("httpx_journeys_completed", hx.completed)
        put("httpx_updates_per_s", hx.updates_per_s)
        put("httpx_latency_p99_ms", percentile([x * 1000 for x in hx.complete_lat], 99), 0)
        put("httpx_bot_cpu_ms_per_update", _per(hx.bot_cpu * 1000, hx.steps), 2)
        put("httpx_other_processes_cpu_cores", hx.foreign_cores, 2)
    for r in runs.values():
        # The citizens' side of backpressure: nobody is told «try again», every press answered once
        # (the server refuses a second answer: each refusal is a press answered again, or tried).
        put(f"{r.label}_error_messages_to_citizens", sum(r.error_messages.values()))
        put(f"{r.label}_error_messages_by_text", ",".join(f"{k}={v}" for k, v in sorted(r.error_messages.items()))
            or "-")
        put(f"{r.label}_callbacks_answered_again", sum(n for k, n in r.call_errors.items()
                                                       if k.startswith("answerCallbackQuery:")))
        put(f"{r.label}_callbacks_unanswered", f"{r.presses_unanswered} of {r.presses}")
    violations = sum(r.violating_users for r in runs.values())
    put("order_violations", violations)
    failures = Counter()
    for r in runs.values():
        failures.update({f"{r.label}:{k}": v for k, v in r.failures.items()})
    put("journeys_failed", ",".join(f"{k}={v}" for k, v in sorted(failures.items())) or "0")
    for r in runs.values():
        for v in r.violations[:5]:
            log(f"{r.label}: {v}")

    lines.append("targets:")
    for name, op, bound, what in TARGETS:
        value = figures.get(name)
        if value is None or math.isnan(value):
            verdict = "NOT MEASURED"
        else:
            verdict = "PASS" if (value >= bound if op == ">=" else value <= bound) else "FAIL"
        if name.startswith("surge_") and verdict == "PASS" \
                and not figures.get("surge_offered_updates_per_s", 0.0) >= SURGE_MIN_OFFERED:
            # A low latency at a load below the target's says nothing about the target.
            verdict = f"INCONCLUSIVE, offered < {SURGE_MIN_OFFERED:g}/s"
        lines.append(f"  {name} {op} {bound:g}: {verdict} ({_fmt(value, 1) if value is not None else '-'}) — {what}")
    lines.append("checks:")
    if surge:
        offered = figures.get("surge_offered_updates_per_s", math.nan)
        lines.append(f"  surge_offered_updates_per_s >= {SURGE_MIN_OFFERED:g} (the surge is as heavy as the target): "
                     f"{'PASS' if offered >= SURGE_MIN_OFFERED else 'FAIL'} ({_fmt(offered)})")
        lines.append(f"  surge_kept_up (answered >= 95% of offered in the busy window): "
                     f"{'PASS' if surge_kept else 'FAIL'}")
        busy = figures.get("surge_busy_latency_p99_ms", math.nan)
        lines.append(f"  surge_busy_latency_p99_ms <= 1000 (steps posted in the busy window only): "
                     f"{'PASS' if busy <= 1000 else 'FAIL'} ({_fmt(busy)})")
    for r in runs.values():
        errors = figures.get(f"{r.label}_error_messages_to_citizens", 0.0)
        again = figures.get(f"{r.label}_callbacks_answered_again", 0.0)
        lines.append(f"  {r.label} error_messages_to_citizens == 0: {'FAIL' if errors else 'PASS'} ({errors:g})")
        lines.append(f"  {r.label} every press answered once: "
                     f"{'FAIL' if again or r.presses_unanswered else 'PASS'} "
                     f"({again:g} answered again, {r.presses_unanswered} unanswered)")
        if r.completed < r.users:
            lines.append(f"  {r.label} journeys_completed == users: FAIL ({r.completed}/{r.users})")
    lines.append(f"  order_violations == 0: {'FAIL' if violations else 'PASS'} ({violations})")
    return lines


def db_probe_lines(put, r: RunResult) -> None:
    """--db-probe: Database.read/write per update, and the time the handlers waited in them."""
    probe = r.db_probe
    updates = probe["updates"]
    calls = probe["calls"]["read"] + probe["calls"]["write"]
    attributed = sum(probe["per_update_calls"])
    waits = [x * 1000 for x in probe["per_update_wait_s"]]
    walls = [x * 1000 for x in probe["per_update_wall_s"]]
    put("db_updates_probed", updates)
    put("db_calls_per_update", _per(attributed, updates), 2)
    put("db_calls_per_update_histogram", ",".join(
        f"{n}:{c}" for n, c in sorted(Counter(probe["per_update_calls"]).items())))
    put("db_calls_by_update_kind", ",".join(
        f"{kind}={_fmt(_per(row[1], row[0]), 2)}(w{_fmt(_per(row[2], row[0]), 2)})x{row[0]}"
        for kind, row in sorted(probe["by_kind"].items())))
    put("db_reads_writes_total", f"{probe['calls']['read']}/{probe['calls']['write']}")
    put("db_background_calls", probe["background_calls"])
    put("db_calls_per_journey", _per(calls, r.completed), 2)
    put("db_round_trips", f"{probe['round_trips']} ({'=' if probe['round_trips'] == calls else '!='} "
                          f"read+write calls {calls})")
    put("db_wait_ms_per_update_mean", _per(sum(waits), len(waits)), 2)
    put("db_wait_ms_per_update_p50_p99", f"{_fmt(percentile(waits, 50), 2)}/{_fmt(percentile(waits, 99), 2)}")
    put("db_wait_share_of_update_time", _per(sum(waits), sum(walls)), 3)
    put("db_thread_ms_per_update_mean", _per(1000 * sum(probe["per_update_exec_s"]), updates), 3)
    put("db_call_mean_wait_ms", _per(1000 * probe["await_s"], calls), 3)
    put("db_round_trip_mean_ms_queue_thread_resume", "/".join(
        _fmt(_per(1000 * probe[k], probe["round_trips"]), 3) for k in ("queue_s", "exec_s", "resume_s")))
    put("db_thread_busy_fraction", _per(probe["exec_s"], probe["span_s"]), 3)
    put("db_top_functions", ",".join(f"{k}={v}" for k, v in list(probe["by_function"].items())[:8]))


# -------------------------------------------------------------------- main


RUNS = ("saturation", "surge", "baseline", "httpx", "echo", "skeleton", "skeleton_io", "tenk")
DEFAULT_RUNS = ("saturation", "surge", "baseline", "httpx", "echo")  # tenk takes minutes: on request
TENK_USERS = 10_000


def _think_range(text: str) -> tuple[float, float]:
    lo, _, hi = text.partition(",")
    lo, hi = float(lo), float(hi or lo)
    if not 0 <= lo <= hi:
        raise argparse.ArgumentTypeError("expected LO,HI seconds with 0 <= LO <= HI")
    return lo, hi


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.journey", description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=None,
                    help="citizens in the saturation run (default 1000; --quick 100)")
    ap.add_argument("--surge-users", type=int, default=None, help="citizens in the surge run (default: --users)")
    ap.add_argument("--latency", type=float, default=0.1, help="seconds the server adds to every Bot API call")
    ap.add_argument("--baseline-users", type=int, default=None,
                    help="citizens in the one-at-a-time run (default 40; --quick 10)")
    ap.add_argument("--httpx-users", type=int, default=None, help="citizens in the httpx run (default: --users)")
    ap.add_argument("--echo-users", type=int, default=None,
                    help="citizens in the echo run, a bare PTB echo bot (default: --users)")
    ap.add_argument("--tenk-users", type=int, default=None,
                    help=f"citizens in the tenk run (default {TENK_USERS:,}; --quick 1,000)")
    ap.add_argument("--concurrency", type=int, default=CONCURRENT_UPDATES,
                    help=f"concurrent updates of the saturation, surge and httpx runs (default {CONCURRENT_UPDATES}, "
                         f"the bot's)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 100 citizens, 10 in the baseline")
    ap.add_argument("--runs", default=",".join(DEFAULT_RUNS),
                    help=f"which of {','.join(RUNS)} to run (main = saturation; default: all but tenk)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the proposals, neighbourhoods and votes")
    ap.add_argument("--step-timeout", type=float, default=120.0, help="give up on a citizen after this many seconds")
    ap.add_argument("--think-s", type=_think_range, default=SURGE_THINK_S, metavar="LO,HI",
                    help="surge: seconds a citizen reads and taps after each answer, uniform "
                         f"(default {SURGE_THINK_S[0]:g},{SURGE_THINK_S[1]:g})")
    ap.add_argument("--ramp-s", type=float, default=SURGE_RAMP_S,
                    help=f"surge: the citizens' first actions are spread over this many seconds (default {SURGE_RAMP_S:g})")
    ap.add_argument("--profile", metavar="FILE", help="cProfile the saturation run's bot event loop into FILE")
    ap.add_argument("--db-probe", action="store_true",
                    help="count and time the saturation run's Database.read/write per update (investigation aid)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, databases)")
    args = ap.parse_args(argv)
    args.users = args.users if args.users is not None else (100 if args.quick else 1000)
    args.baseline_users = args.baseline_users if args.baseline_users is not None else (10 if args.quick else 40)
    args.httpx_users = args.httpx_users if args.httpx_users is not None else args.users
    args.surge_users = args.surge_users if args.surge_users is not None else args.users
    args.echo_users = args.echo_users if args.echo_users is not None else args.users
    args.tenk_users = args.tenk_users if args.tenk_users is not None else (1000 if args.quick else TENK_USERS)
    args.runs = [{"main": "saturation"}.get(r.strip(), r.strip()) for r in args.runs.split(",") if r.strip()]
    unknown = set(args.runs) - set(RUNS)
    if unknown:
        ap.error(f"unknown runs {sorted(unknown)}")
    return args


async def _main(args: argparse.Namespace, workdir: Path) -> list[str]:
    # SIGTERM cancels the run like Ctrl-C does, so the finally blocks stop the child processes.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
    version = code_version()
    runs: dict[str, RunResult] = {}
    plan = {
        "saturation": (args.users, args.concurrency, "aiohttp"),
        "surge": (args.surge_users, args.concurrency, "aiohttp"),
        "baseline": (args.baseline_users, 1, "aiohttp"),
        "httpx": (args.httpx_users, args.concurrency, "httpx"),
        "echo": (args.echo_users, args.concurrency, "aiohttp"),
        "skeleton": (args.users, args.concurrency, "aiohttp"),
        "skeleton_io": (args.users, args.concurrency, "aiohttp"),
        "tenk": (args.tenk_users, args.concurrency, "aiohttp"),
    }
    for label in RUNS:
        if label in args.runs:
            users, concurrency, transport = plan[label]
            surge = label == "surge"
            runs[label] = await run_config(label, args, workdir, users, concurrency, transport,
                                           investigate=label == "saturation",
                                           think=args.think_s if surge else None, ramp_s=args.ramp_s if surge else 0.0)
    lines = report(args, runs)
    after = code_version()
    lines.insert(0, f"code_version {version}" if after == version
                 else f"code_version {version} -> {after} (CHANGED DURING THE RUN: measure again)")
    return lines


def main(argv: list[str] | None = None) -> int:
    return run_in_workdir("bench-journey-", _parse(argv), _main)


def run_in_workdir(prefix: str, args: argparse.Namespace, run) -> int:
    """``run(args, workdir)`` in a fresh temporary folder (kept with --keep); its figure lines
    are printed at the end, one a line."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    log(f"work directory {workdir}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    try:
        lines = asyncio.run(run(args, workdir))
    except (KeyboardInterrupt, asyncio.CancelledError):
        log("interrupted; child processes stopped")
        return 130
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print("\n".join(lines), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
