"""One flooder against everyone else: do the other citizens notice?

    .venv/bin/python -m bench.flood [--users 60] [--latency 0.1] [--phase-s 20] [--rounds 2] [--quick]
    .venv/bin/python -m bench.flood --presses [--flooders 20] [--press-rate 50] [--flood-s 30] [--quick]

The same three processes as bench.journey: the loopback Bot API server (``python -m bot.devtools.localapi
--latency L``), the bot (``python -m bench.run_bot``, config.example.toml's flood limits) and this
driver. One server, database and bot serve the whole run. After seeding (bench.journey's ballots),
every normal citizen walks the voting journey once (not measured) and then keeps up a steady
exchange — withdraw or cast a vote on the ballot (a callback, the ballot edited in place), then
«📋 پیشنهادهای من» (a message, answered with a new one), and so on — reading for uniform
--think-s seconds after every answer.

The measurement alternates phases of --phase-s seconds: without a flooder, then with one (a new
user each time) sending --flood-rate text messages a second for the whole phase; --rounds such
pairs. The other citizens' step latencies (posting the action → the bot's complete answer) are
pooled per kind of phase; the figure that matters is p99 with ÷ p99 without (target ≤ 1.2). After
each flood phase the driver waits for the server's queue to drain and the bot to go quiet, then
reads the flooder's chat: the notices it got (must be 1) and the other answers (updates
processed); the rest of what it sent was dropped.

With ``--presses`` it measures something else, the bot's memory under a button flood
(issue 12): --flooders people (20) each press one button --press-rate times a second (50) for
--flood-s seconds, against --latency 0.05; the bot process's resident memory idle, at its peak
and after, and how long after the flood's end the bot was still at its backlog.

One figure per line on stdout, then ``targets:``; progress goes to stderr. See README.md.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import math
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from bench.common import BOT_USERNAME, ROOT, TOKEN, bench_config
from bench.journey import (
    PYTHON,
    SURGE_THINK_S,
    VOTES,
    Ballot,
    Child,
    Citizen,
    Expect,
    _driver_cpu,
    _machine_busy,
    chat_changes,
    code_version,
    log,
    percentile,
    run_in_workdir,
    seed_database,
)
from bot.devtools.localapi import LocalApiClient
from bot.devtools.localapi.errors import ControlError
from messages_fa import buttons as b
from messages_fa import texts

USER_BASE = 2_000_000  # normal citizens: USER_BASE + 1 …
FLOODER_BASE = 3_000_000  # one new flooder per flood phase: FLOODER_BASE + 1 …
RATIO_TARGET = 1.2
DISTURBED_CORES = 0.5  # CPU of other processes in a phase beyond which its latencies say little


def _think_range(text: str) -> tuple[float, float]:
    lo, _, hi = text.partition(",")
    lo, hi = float(lo), float(hi or lo)
    if not 0 <= lo <= hi:
        raise argparse.ArgumentTypeError("expected LO,HI seconds with 0 <= LO <= HI")
    return lo, hi


# ------------------------------------------------------------------ the normal citizens


class Exchange:
    """A citizen who has voted, keeping up a steady exchange with the bot."""

    def __init__(self, api: LocalApiClient, uid: int, votes: list[int], msgs: list[dict], step_timeout: float,
                 rng: random.Random, think: tuple[float, float]) -> None:
        self.api, self.uid, self.step_timeout, self.rng, self.think = api, uid, step_timeout, rng, think
        self.proposal = votes[0]
        self.voted = True
        self.ballot_id = msgs[4]["message_id"]  # the journey leaves the ballot fifth in the chat
        self.edits = msgs[4].get("edit_count", 0)
        self.seen = len(msgs)
        self.turn = 0
        self.failures: list[str] = []

    async def _step(self, action, done) -> float:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        posted = await action()
        try:
            async for msgs in chat_changes(self.api, self.uid, posted["seq"], t0 + self.step_timeout):
                if done(msgs):
                    return loop.time() - t0
        except TimeoutError:
            raise TimeoutError(f"no complete answer within {self.step_timeout:.0f}s") from None
        raise AssertionError("unreachable: chat_changes ends only by TimeoutError")

    async def one(self) -> float:
        """The next step of the exchange; its latency in seconds."""
        self.turn += 1
        if self.turn % 2:
            data = f"{'w' if self.voted else 'v'}:{self.proposal}:0"
            want = self.edits + 1

            def edited(msgs: list[dict]) -> bool:
                ballot = next((m for m in msgs if m["message_id"] == self.ballot_id), None)
                return ballot is not None and ballot.get("edit_count", 0) >= want

            latency = await self._step(lambda: self.api.press(TOKEN, self.uid, self.ballot_id, data), edited)
            self.edits, self.voted = want, not self.voted
            return latency
        want = self.seen + 1
        latency = await self._step(lambda: self.api.send_text(TOKEN, self.uid, b.MY_PROPOSALS),
                                   lambda msgs: len(msgs) >= want)
        self.seen = want
        return latency

    async def run_until(self, end: float, latencies: list[float]) -> None:
        """Think, act, until the phase ends; a step posted before the end is measured to its answer."""
        loop = asyncio.get_running_loop()
        # Citizens do not act in lockstep: the first action falls anywhere within one think time.
        await asyncio.sleep(self.rng.uniform(0, self.think[1]))
        while loop.time() < end:
            try:
                latencies.append(await self.one())
            except (TimeoutError, aiohttp.ClientError, KeyError) as exc:
                self.failures.append(f"{type(exc).__name__}: {exc}")
                return
            await asyncio.sleep(self.rng.uniform(*self.think))


# ------------------------------------------------------------------ the flooder


@dataclasses.dataclass
class Flood:
    uid: int
    sent: int = 0
    seconds: float = 0.0
    notices: int = 0
    processed: int = 0
    backlog_s: float = 0.0  # after the phase, until the bot had dealt with all of it

    @property
    def dropped(self) -> int:
        return self.sent - self.processed


async def flood(api: LocalApiClient, uid: int, rate: float, end: float) -> Flood:
    """``rate`` text messages a second until ``end`` (absolute schedule: a slow post does not
    lower the rate, the next ones catch up)."""
    loop = asyncio.get_running_loop()
    result = Flood(uid)
    start = loop.time()
    while (due := start + result.sent / rate) < end:
        if (wait := due - loop.time()) > 0:
            await asyncio.sleep(wait)
        await api.send_text(TOKEN, uid, f"سلام {result.sent}")
        result.sent += 1
    result.seconds = loop.time() - start
    return result


async def drain(api: LocalApiClient, timeout: float, quiet: float = 1.5) -> float:
    """Until the server holds no undelivered update and the bot made no call for ``quiet`` s;
    returns the seconds until the bot's last call (its backlog)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    deadline = start + timeout
    last_total, still_since = None, start
    while loop.time() < deadline:
        stats = await api.stats()
        pending = sum(stats["pending_updates"].values())
        total = stats["total"]
        if pending or total != last_total:  # (the long poll is always in flight: not a sign of work)
            last_total, still_since = total, loop.time()
        elif loop.time() - still_since >= quiet:
            return still_since - start
        await asyncio.sleep(0.1)
    log("drain: the bot was still busy at the timeout")
    return timeout


# ------------------------------------------------------------------ the run


@dataclasses.dataclass
class Phase:
    kind: str  # "without" or "with"
    latencies: list[float]
    seconds: float
    bot_cpu: float
    foreign_cores: float
    flood: Flood | None = None


async def _main(args: argparse.Namespace, workdir: Path) -> list[str]:
    # SIGTERM cancels the run like Ctrl-C does, so the finally block stops the child processes.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
    version = code_version()
    children: list[Child] = []
    try:
        server = Child("server", [PYTHON, "-m", "bot.devtools.localapi", "--port", "0", "--latency",
                                  str(args.latency), "--bot", f"{TOKEN}={BOT_USERNAME}", "--seed", str(args.seed)],
                       workdir / "server.log")
        children.append(server)
        url = (await server.ready("listening on ")).removeprefix("listening on ").strip()
        config = bench_config(url, workdir / "bot.sqlite3")
        ballots: list[Ballot] = await seed_database(config, args.seed)
        # --unprotected: the same bot with flood control out of the way (what it buys).
        bot_module = ["bench.flood", UNPROTECTED_BOT] if args.unprotected else ["bench.run_bot"]
        bot = Child("bot", [PYTHON, "-m", *bot_module, "--api", url, "--db", str(config.database)],
                    workdir / "bot.log")
        children.append(bot)
        await bot.ready("ready")
        limits = config.limits
        if args.unprotected:
            log(f"server {url}; bot up with flood control OFF (--unprotected)")
        else:
            log(f"server {url}; bot up; flood limits: messages {limits.flood_messages_burst} at once then "
                f"{limits.flood_messages_per_minute}/min, buttons {limits.flood_buttons_burst} then "
                f"{limits.flood_buttons_per_minute}/min, notice again after {limits.flood_quiet_seconds} s quiet")

        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as http:
            api = LocalApiClient(url, session=http)
            rng = random.Random(args.seed)
            expect = Expect.build(config)
            walkers = []
            for i in range(args.users):
                ballot = rng.choice(ballots)
                walkers.append(Citizen(api, USER_BASE + 1 + i, ballot,
                                       rng.sample(list(ballot.proposal_ids[:5]), VOTES), expect, args.step_timeout, []))
            log(f"{args.users} citizens walk the voting journey (not measured)")
            outcomes = await asyncio.gather(*(w.run() for w in walkers))
            failed = [o.failure for o in outcomes if not o.completed]
            if failed:
                raise RuntimeError(f"{len(failed)} set-up journeys failed, e.g. {failed[0]}")
            people = [Exchange(api, w.uid, w.votes, w.msgs, args.step_timeout, random.Random(f"{args.seed}:{w.uid}"),
                               args.think_s) for w in walkers]

            phases: list[Phase] = []
            floods = 0
            for round_no in range(args.rounds):
                for kind in ("without", "with"):
                    await drain(api, args.drain_timeout)
                    loop = asyncio.get_running_loop()
                    latencies: list[float] = []
                    cpu0, machine0, drv0, srv0 = bot.cpu_seconds(), _machine_busy()[0], _driver_cpu(), \
                        server.cpu_seconds()
                    t0 = loop.time()
                    end = t0 + args.phase_s
                    tasks = [asyncio.create_task(p.run_until(end, latencies)) for p in people]
                    flooder = None
                    if kind == "with":
                        floods += 1
                        flooder = asyncio.create_task(flood(api, FLOODER_BASE + floods, args.flood_rate, end))
                    await asyncio.gather(*tasks)
                    seconds = loop.time() - t0
                    result = await flooder if flooder else None
                    bot_cpu = bot.cpu_seconds() - cpu0
                    busy = _machine_busy()[0] - machine0
                    foreign = max(0.0, busy - bot_cpu - (server.cpu_seconds() - srv0) - (_driver_cpu() - drv0)) / seconds
                    if result is not None:
                        # Every flood update delivered and handled before counting.
                        result.backlog_s = await drain(api, args.drain_timeout)
                        replies = [m.get("text") for m in await api.messages(TOKEN, result.uid)]
                        result.notices = replies.count(texts.flood_notice())
                        result.processed = len(replies) - result.notices
                    phases.append(Phase(kind, latencies, seconds, bot_cpu, foreign, result))
                    log(f"round {round_no + 1} {kind} a flooder: {len(latencies)} steps, p99 "
                        f"{percentile(latencies, 99) * 1000:.0f} ms"
                        + (f"; flooder sent {result.sent}, notices {result.notices}, processed {result.processed}"
                           if result else ""))
            failures = [f for p in people for f in p.failures]
    finally:
        for child in reversed(children):  # the bot first, so it does not poll a dead server
            child.stop()
    lines = report(args, phases, failures)
    after = code_version()
    lines.insert(0, f"code_version {version}" if after == version
                 else f"code_version {version} -> {after} (CHANGED DURING THE RUN: measure again)")
    return lines


def report(args: argparse.Namespace, phases: list[Phase], failures: list[str]) -> list[str]:
    lines: list[str] = []

    def put(name: str, value) -> None:
        lines.append(f"{name} {value}")

    def ms(values: list[float], q: float) -> float:
        return percentile([v * 1000 for v in values], q)

    pooled = {kind: [x for p in phases if p.kind == kind for x in p.latencies] for kind in ("without", "with")}
    floods = [p.flood for p in phases if p.flood]
    put("flood_control", "off (--unprotected)" if args.unprotected else "on (config.example.toml's limits)")
    put("users", args.users)
    put("latency_s", args.latency)
    put("think_s", f"uniform {args.think_s[0]:g}-{args.think_s[1]:g} after every answer")
    put("phase_s", args.phase_s)
    put("rounds", f"{args.rounds} (each: without, then with a flooder)")
    for kind in ("without", "with"):
        values = pooled[kind]
        seconds = sum(p.seconds for p in phases if p.kind == kind)
        put(f"others_steps_{kind}", len(values))
        put(f"others_updates_per_s_{kind}", f"{len(values) / seconds:.1f}" if seconds else "nan")
        put(f"others_p50_ms_{kind}", f"{ms(values, 50):.0f}")
        put(f"others_p99_ms_{kind}", f"{ms(values, 99):.0f}")
        put(f"others_max_ms_{kind}", f"{max(values, default=math.nan) * 1000:.0f}")
    for p_index, p in enumerate(phases):
        put(f"round_{p_index // 2 + 1}_{p.kind}_p50_p99_ms", f"{ms(p.latencies, 50):.0f}/{ms(p.latencies, 99):.0f}")
    ratio = ms(pooled["with"], 99) / ms(pooled["without"], 99) if pooled["without"] else math.nan
    put("others_p99_ratio_with_over_without", f"{ratio:.3f}")
    pairs = list(zip(phases[0::2], phases[1::2], strict=False))
    put("round_p99_ratios", ",".join(f"{ms(w.latencies, 99) / ms(wo.latencies, 99):.3f}" for wo, w in pairs))
    put("others_p50_ratio_with_over_without", f"{ms(pooled['with'], 50) / ms(pooled['without'], 50):.3f}")
    put("flooder_rate_per_s", ",".join(f"{f.sent / f.seconds:.1f}" for f in floods))
    put("flooder_updates_sent", ",".join(str(f.sent) for f in floods))
    put("flooder_notices", ",".join(str(f.notices) for f in floods))
    put("flooder_updates_processed", ",".join(str(f.processed) for f in floods))
    put("flooder_updates_dropped", ",".join(str(f.dropped) for f in floods))
    put("flooder_backlog_after_phase_s", ",".join(f"{f.backlog_s:.1f}" for f in floods))
    for kind in ("without", "with"):
        chosen = [p for p in phases if p.kind == kind]
        seconds = sum(p.seconds for p in chosen)
        put(f"bot_cpu_utilisation_{kind}", f"{sum(p.bot_cpu for p in chosen) / seconds:.2f}")
        put(f"other_processes_cpu_cores_{kind}", f"{sum(p.foreign_cores * p.seconds for p in chosen) / seconds:.2f}")
    put("other_processes_cpu_cores_per_phase", ",".join(f"{p.foreign_cores:.2f}" for p in phases))
    put("others_failed_steps", len(failures))
    for failure in failures[:5]:
        log(f"failure: {failure}")
    lines.append("targets:")
    # Another process taking the machine's CPU makes a phase slow whatever the flooder does.
    worst = max((p.foreign_cores for p in phases), default=0.0)
    quiet = worst <= DISTURBED_CORES
    verdict = "PASS" if ratio <= RATIO_TARGET else "FAIL"
    lines.append(f"  others_p99_ratio_with_over_without <= {RATIO_TARGET:g}: {verdict} ({ratio:.3f})"
                 + ("" if quiet else f" — DISTURBED: other processes used up to {worst:.2f} cores in a phase, "
                                     "measure again on a quiet machine"))
    once = all(f.notices == 1 for f in floods) and bool(floods)
    shown = ",".join(str(f.notices) for f in floods) or "-"
    lines.append(f"  one notice per flooder: {'n/a, --unprotected' if args.unprotected else 'PASS' if once else 'FAIL'} "
                 f"({shown})")
    return lines


# ------------------------------------------------------------------ --presses: the bot's memory


PRESSER_BASE = 4_000_000  # the button flooders: PRESSER_BASE + 1 …
RSS_ABOVE_IDLE_TARGET_MB = 30.0
DRAIN_TARGET_S = 2.0
IN_FLIGHT = 64  # the driver's presses posted and not yet answered by the server, at most


@dataclasses.dataclass
class Presser:
    uid: int
    message_id: int  # the welcome, with its 27 neighbourhood buttons
    data: str
    sent: int = 0
    failed: int = 0


async def _welcome(api: LocalApiClient, uid: int, timeout: float) -> Presser:
    await api.send_text(TOKEN, uid, "/start")

    def buttons(msgs: list[dict]) -> list[tuple[int, str]]:
        return [(m["message_id"], button["callback_data"]) for m in msgs
                for row in (m.get("reply_markup") or {}).get("inline_keyboard", [])
                for button in row if str(button.get("callback_data", "")).startswith("n:")]

    msgs = await api.wait_for(TOKEN, uid, buttons, timeout=timeout)
    message_id, data = buttons(msgs)[0]
    return Presser(uid, message_id, data)


async def press_flood(api: LocalApiClient, pressers: list[Presser], rate: float, seconds: float) -> float:
    """Every presser presses its button ``rate`` times a second for ``seconds`` (an absolute
    schedule: a slow post does not lower the rate, the next ones catch up); returns the seconds
    until the last press was posted. Presses are posted concurrently (up to IN_FLIGHT), as many
    people's phones would."""
    loop = asyncio.get_running_loop()
    slots = asyncio.Semaphore(IN_FLIGHT)
    posting: set[asyncio.Task] = set()

    async def press(presser: Presser) -> None:
        try:
            # forge: the same button again and again, whatever the bot did to the message meanwhile.
            await api.press(TOKEN, presser.uid, presser.message_id, presser.data, forge=True)
            presser.sent += 1
        except (aiohttp.ClientError, ControlError):
            presser.failed += 1
        finally:
            slots.release()

    start = loop.time()
    tick = 0
    while (due := start + tick / rate) < start + seconds:
        if (wait := due - loop.time()) > 0:
            await asyncio.sleep(wait)
        for presser in pressers:
            await slots.acquire()
            task = asyncio.create_task(press(presser))
            posting.add(task)
            task.add_done_callback(posting.discard)
        tick += 1
    await asyncio.gather(*posting)
    return loop.time() - start


async def sample_rss(bot: Child, samples: list[float], interval: float = 0.1) -> None:
    """The bot's resident memory (MB) every ``interval`` seconds, until cancelled."""
    while True:
        samples.append(bot.status_kb("VmRSS") / 1024)
        await asyncio.sleep(interval)


async def backlog(api: LocalApiClient, timeout: float, quiet: float = 1.5) -> tuple[float, float]:
    """After a flood: (seconds until the server held no update the bot had not fetched, seconds
    until the bot's last call), the bot quiet for ``quiet`` s after it. The first is the bot's
    intake (getUpdates, then PTB building each update); the rest is its own queue."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    fetched = None
    last_total, still_since = None, start
    while loop.time() < start + timeout:
        stats = await api.stats()
        pending = sum(stats["pending_updates"].values())
        now = loop.time()
        if not pending and fetched is None:
            fetched = now - start
        if pending or stats["total"] != last_total:
            last_total, still_since = stats["total"], now
        elif now - still_since >= quiet:
            return fetched, still_since - start
        await asyncio.sleep(0.05)
    log("backlog: the bot was still busy at the timeout")
    return (fetched if fetched is not None else timeout), timeout


def _calls(stats: dict) -> dict[str, int]:
    return {method: sum(by_status.values()) for method, by_status in stats["methods"].items()}


def bot_code_path() -> str:
    """Which update processor the bot process imports: it runs with this driver's interpreter,
    environment (PYTHONPATH) and working directory (``ROOT``), so a baseline run can be checked."""
    probe = subprocess.run([PYTHON, "-c", "import bot.messenger.update_processor as m; print(m.__file__)"], cwd=ROOT,
                           capture_output=True, text=True, timeout=60, env=dict(os.environ))
    return probe.stdout.strip() or f"unknown ({probe.stderr.strip()[-200:]})"


async def _presses_main(args: argparse.Namespace, workdir: Path) -> list[str]:
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
    version, code = code_version(), bot_code_path()
    children: list[Child] = []
    lines: list[str] = []

    def put(name: str, value) -> None:
        lines.append(f"{name} {value}")

    try:
        server = Child("server", [PYTHON, "-m", "bot.devtools.localapi", "--port", "0", "--latency", str(args.latency),
                                  "--bot", f"{TOKEN}={BOT_USERNAME}", "--seed", str(args.seed)], workdir / "server.log")
        children.append(server)
        url = (await server.ready("listening on ")).removeprefix("listening on ").strip()
        config = bench_config(url, workdir / "bot.sqlite3")
        bot = Child("bot", [PYTHON, "-m", "bench.run_bot", "--api", url, "--db", str(config.database)],
                    workdir / "bot.log")
        children.append(bot)
        await bot.ready("ready")
        limits = config.limits
        log(f"server {url}; bot up ({code}); buttons {limits.flood_buttons_burst} at once, then "
            f"{limits.flood_buttons_per_minute}/min")
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as http:
            api = LocalApiClient(url, session=http)
            pressers = await asyncio.gather(*(_welcome(api, PRESSER_BASE + 1 + i, args.step_timeout)
                                              for i in range(args.flooders)))
            await drain(api, args.drain_timeout)
            await asyncio.sleep(1.0)
            idle = bot.status_kb("VmRSS") / 1024
            log(f"{args.flooders} flooders have the welcome; bot idle at {idle:.0f} MB; "
                f"{args.flooders} x {args.press_rate:g} presses/s for {args.flood_s:g} s")

            samples: list[float] = []
            sampler = asyncio.create_task(sample_rss(bot, samples))
            calls0, cpu0, machine0, drv0, srv0 = _calls(await api.stats()), bot.cpu_seconds(), \
                _machine_busy()[0], _driver_cpu(), server.cpu_seconds()
            seconds = await press_flood(api, pressers, args.press_rate, args.flood_s)
            flood_cpu = bot.cpu_seconds() - cpu0
            server_cpu, driver_cpu = server.cpu_seconds() - srv0, _driver_cpu() - drv0
            at_end = samples[-1] if samples else math.nan
            queued = sum((await api.stats())["pending_updates"].values())
            log(f"flood over after {seconds:.1f} s; bot at {at_end:.0f} MB, {queued} presses not yet fetched")
            fetched, drained = await backlog(api, args.drain_timeout)
            log(f"all presses fetched {fetched:.1f} s and the bot's last call {drained:.1f} s after the flood")
            await asyncio.sleep(args.after_s)
            sampler.cancel()
            after = bot.status_kb("VmRSS") / 1024
            peak = max(samples, default=math.nan)
            total_s = seconds + drained + args.after_s
            busy = _machine_busy()[0] - machine0
            foreign = max(0.0, busy - (bot.cpu_seconds() - cpu0) - (server.cpu_seconds() - srv0)
                          - (_driver_cpu() - drv0)) / total_s
            calls = _calls(await api.stats())
            spent = {m: calls.get(m, 0) - calls0.get(m, 0) for m in ("answerCallbackQuery", "sendMessage",
                                                                     "editMessageText", "getUpdates")}
    finally:
        for child in reversed(children):  # the bot first, so it does not poll a dead server
            child.stop()

    sent = sum(p.sent for p in pressers)
    after_version = code_version()
    put("code_version", version if after_version == version
        else f"{version} -> {after_version} (CHANGED DURING THE RUN: measure again)")
    put("bot_imports", code)
    put("scenario", "a button flood (--presses)")
    put("flooders", args.flooders)
    put("press_rate_per_flooder_per_s", f"{args.press_rate:g}")
    put("latency_s", args.latency)
    put("flood_s", f"{seconds:.1f}")
    put("presses_sent", sent)
    put("presses_failed", sum(p.failed for p in pressers))
    put("presses_per_s_achieved", f"{sent / seconds:.0f}")
    put("presses_not_yet_fetched_at_flood_end", queued)
    put("bot_rss_idle_mb", f"{idle:.1f}")
    put("bot_rss_at_flood_end_mb", f"{at_end:.1f}")
    put("bot_rss_peak_mb", f"{peak:.1f}")
    put("bot_rss_after_mb", f"{after:.1f}")
    put("bot_rss_peak_above_idle_mb", f"{peak - idle:.1f}")
    put("bot_rss_after_above_idle_mb", f"{after - idle:.1f}")
    put("all_fetched_after_flood_s", f"{fetched:.1f}")
    put("drain_after_flood_s", f"{drained:.1f}")
    put("bot_queue_after_last_fetch_s", f"{max(0.0, drained - fetched):.1f}")
    for method, count in spent.items():
        put(f"api_calls_{method}", count)
    put("bot_cpu_utilisation_during_flood", f"{flood_cpu / seconds:.2f}")
    put("server_cpu_utilisation_during_flood", f"{server_cpu / seconds:.2f}")
    put("driver_cpu_utilisation_during_flood", f"{driver_cpu / seconds:.2f}")
    put("other_processes_cpu_cores", f"{foreign:.2f}")
    lines.append("targets:")
    rss_ok = peak - idle <= RSS_ABOVE_IDLE_TARGET_MB
    lines.append(f"  bot_rss_peak_above_idle_mb <= {RSS_ABOVE_IDLE_TARGET_MB:g}: {'PASS' if rss_ok else 'FAIL'} "
                 f"({peak - idle:.1f})")
    drain_ok = drained <= DRAIN_TARGET_S
    lines.append(f"  drain_after_flood_s <= {DRAIN_TARGET_S:g}: {'PASS' if drain_ok else 'FAIL'} ({drained:.1f})")
    return lines


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.flood", description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=None, help="normal citizens (default 60; --quick 20)")
    ap.add_argument("--latency", type=float, default=None,
                    help="seconds the server adds to every Bot API call (default 0.1; --presses 0.05)")
    ap.add_argument("--phase-s", type=float, default=None, help="seconds of each phase (default 20; --quick 8)")
    ap.add_argument("--rounds", type=int, default=None,
                    help="pairs of phases, without then with a flooder (default 2; --quick 1)")
    ap.add_argument("--flood-rate", type=float, default=50.0, help="the flooder's messages per second")
    ap.add_argument("--think-s", type=_think_range, default=SURGE_THINK_S, metavar="LO,HI",
                    help=f"seconds a citizen reads after each answer (default {SURGE_THINK_S[0]:g},{SURGE_THINK_S[1]:g})")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--step-timeout", type=float, default=60.0)
    ap.add_argument("--drain-timeout", type=float, default=300.0,
                    help="seconds to wait for the bot to catch up between phases")
    ap.add_argument("--unprotected", action="store_true",
                    help="the bot without flood control (limits raised out of reach), for comparison")
    ap.add_argument("--presses", action="store_true",
                    help="a button flood instead: the bot's memory and backlog (--flooders, --press-rate, --flood-s)")
    ap.add_argument("--flooders", type=int, default=20, help="--presses: people pressing (default 20)")
    ap.add_argument("--press-rate", type=float, default=50.0, help="--presses: presses a second each (default 50)")
    ap.add_argument("--flood-s", type=float, default=None, help="--presses: seconds of flood (default 30; --quick 10)")
    ap.add_argument("--after-s", type=float, default=3.0,
                    help="--presses: seconds after the backlog before memory is read again")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 20 citizens, one round of 8 s phases (--presses: 10 s of flood)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, database)")
    args = ap.parse_args(argv)
    args.users = args.users if args.users is not None else (20 if args.quick else 60)
    args.phase_s = args.phase_s if args.phase_s is not None else (8.0 if args.quick else 20.0)
    args.rounds = args.rounds if args.rounds is not None else (1 if args.quick else 2)
    args.latency = args.latency if args.latency is not None else (0.05 if args.presses else 0.1)
    args.flood_s = args.flood_s if args.flood_s is not None else (10.0 if args.quick else 30.0)
    if args.users < 1 or args.rounds < 1 or args.phase_s <= 0 or args.flood_rate <= 0:
        ap.error("--users, --rounds, --phase-s and --flood-rate must be positive")
    if args.flooders < 1 or args.press_rate <= 0 or args.flood_s <= 0 or args.after_s < 0:
        ap.error("--flooders, --press-rate and --flood-s must be positive, --after-s not negative")
    if args.presses and args.unprotected:
        ap.error("--unprotected compares the citizens' latency; --presses measures today's bot")
    return args


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    args = _parse(argv)
    code = run_in_workdir("bench-flood-", args, _presses_main if args.presses else _main)
    log(f"took {time.perf_counter() - started:.0f} s")
    return code


UNPROTECTED_BOT = "--run-unprotected-bot"


def _unprotected_bot(argv: list[str]) -> int:
    """bench.run_bot with every flood allowance out of reach: the comparison for --unprotected."""
    from bench import run_bot  # only in the bot process this starts

    configured = run_bot.bench_config

    def without_flood_control(*args, **kwargs):
        config = configured(*args, **kwargs)
        off = dict.fromkeys(("flood_messages_burst", "flood_messages_per_minute", "flood_buttons_burst",
                             "flood_buttons_per_minute"), 10**9)
        return dataclasses.replace(config, limits=dataclasses.replace(config.limits, **off))

    run_bot.bench_config = without_flood_control
    return run_bot.main(argv)


if __name__ == "__main__":
    if sys.argv[1:2] == [UNPROTECTED_BOT]:
        sys.exit(_unprotected_bot(sys.argv[2:]))
    sys.exit(main())
