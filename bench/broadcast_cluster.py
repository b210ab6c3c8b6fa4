"""A broadcast to 100,000 citizens sent by one of three workers on PostgreSQL while the workers
serve citizens walking the voting journey: the bot's combined send rate against its one budget.

    .venv/bin/python -m bench.broadcast_cluster [--recipients 100000] [--rate 200] [--arrivals 3]
                                                [--latency 0.05] [--pg URL]

Processes, as in bench.cluster: the loopback Bot API server (``python -m bot.devtools.localapi``),
a receiver polling it into the inbox (``python -m bench.cluster receiver``) and three workers
(``python -m bench.cluster worker --broadcast-rate R``: telegram.broadcast_rate, the bot's one
budget of new messages on PostgreSQL, bot/messenger/shared_rate.py). Each worker runs the broadcast
sender; the one holding its lease sends, the others only answer citizens.

The server counts every message the bot sends (the "limit" fault with a limit nobody reaches:
bot/devtools/localapi/faults.py), from all processes together, by the moment it arrives:
``peak`` is the most in any one-second window (sliding), ``per_second`` by whole second.

The driver seeds a fresh PostgreSQL schema (bench.journey's ballots; N recipients by one INSERT …
SELECT generate_series), starts the processes, sends the broadcast as staff would (a draft to
everyone, send now), and meanwhile lets citizens arrive (--arrivals a second, each walking the
journey with 1–3 s of thinking between steps) until the broadcast is done.

Figures, one a line: recipients sent, the broadcast's seconds, the most messages in any second
(sliding and by whole second) against the budget, achieved/configured over the whole seconds of
the broadcast, the replies' share, the citizens' step p99, journey failures.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import logging
import os
import random
import statistics
import sys
import time
from pathlib import Path

import aiohttp

from bench import journey
from bench.cluster import DEFAULT_PG, drop_schema, new_schema, seed
from bench.common import BOT_USERNAME, TOKEN, bench_config, voting_clock
from bench.journey import (
    PYTHON,
    STEPS,
    USER_BASE,
    VOTES,
    Child,
    Citizen,
    Expect,
    LocalApiClient,
    log,
    percentile,
    run_in_workdir,
)
from bot.campaign.roles import Actor
from domain import EVERYONE, Audience

RECIPIENT_BASE = 10_000_000  # recipients RECIPIENT_BASE + 1 …; chat id = user id
STAFF_ID = 900_000_001
STAFF = Actor.tool(f"telegram:{STAFF_ID}")
TEXT = "📣 رأی‌گیری محلهٔ شما آغاز شد؛ از منوی ربات رأی بدهید. (bench.broadcast_cluster)"
UNREACHED = 1_000_000.0  # the counting rule's limit: never refuses


def _seed_recipients(url: str, count: int, created_at: dt.datetime) -> None:
    """Bench-only SQL: citizens who started the bot and did nothing else (no neighbourhood)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO citizens (platform, user_id, chat_id, created_at) "
                     "SELECT 'telegram', x, x, %s FROM generate_series(%s::bigint, %s::bigint) AS x",
                     (created_at.astimezone(dt.UTC).isoformat(), RECIPIENT_BASE + 1, RECIPIENT_BASE + count))


@dataclasses.dataclass
class Outcome:
    sent: int = 0
    started: float = 0.0  # wall time of the first broadcast message (the first delivery written)
    finished: float = 0.0
    steps: list[float] = dataclasses.field(default_factory=list)
    journeys: int = 0
    failures: int = 0
    violations: int = 0


async def _broadcast(services, outcome: Outcome, total: int, timeout: float) -> int:
    svc, repo = services.broadcasts, services.repos.broadcasts
    draft = await svc.draft(STAFF, "text", TEXT, None, None)
    if not await svc.choose(STAFF, draft.id, Audience(EVERYONE)):
        raise RuntimeError("could not choose the audience")
    if not await svc.send_now(STAFF, draft.id, "telegram", STAFF_ID):
        raise RuntimeError("send_now refused")
    deadline = time.time() + timeout
    last_log = 0.0
    while time.time() < deadline:
        progress = (await repo.progress(draft.id)).get("telegram")
        done = progress.finished if progress else 0
        if done and not outcome.started:
            outcome.started = time.time()
        # Everyone at the moment it started: the recipients, and the citizens who had arrived.
        if progress and progress.total >= total and not progress.pending and not progress.sending:
            outcome.finished, outcome.sent = time.time(), progress.sent
            return draft.id
        if time.time() - last_log >= 30:
            last_log = time.time()
            log(f"broadcast: {done}/{total}")
        await asyncio.sleep(0.5)
    raise RuntimeError(f"the broadcast did not finish within {timeout:.0f} s")


async def _citizens(api, config, ballots, args, outcome: Outcome, stop: asyncio.Event) -> None:
    """Citizens arrive at --arrivals a second until ``stop``; each walks the journey once."""
    rng = random.Random(args.seed)
    expect = Expect.build(config)
    running: list[asyncio.Task] = []
    uid = USER_BASE + 1

    async def one(citizen: Citizen) -> None:
        result = await citizen.run()
        outcome.journeys += result.completed
        outcome.steps.extend(complete for _step, _posted, _first, complete in result.latencies)
        outcome.failures += bool(result.failure)
        outcome.violations += bool(result.violations)

    while not stop.is_set():
        ballot = rng.choice(ballots)
        thinks = [rng.uniform(1.0, 3.0) for _ in STEPS[1:]]
        citizen = Citizen(api, uid, ballot, rng.sample(list(ballot.proposal_ids[:5]), VOTES), expect,
                          args.step_timeout, thinks)
        running.append(asyncio.create_task(one(citizen)))
        uid += 1
        await asyncio.sleep(rng.expovariate(args.arrivals))
    await asyncio.gather(*running)


async def _main(args: argparse.Namespace, workdir: Path) -> list[str]:
    from bot.campaign.services import Services
    from storage.engine import open_database
    from storage.repositories import Repositories

    children: list[Child] = []
    schema, url = new_schema(args.pg)
    try:
        server = Child("server", [PYTHON, "-m", "bot.devtools.localapi", "--port", "0", "--latency", str(args.latency),
                                  "--bot", f"{TOKEN}={BOT_USERNAME}", "--seed", str(args.seed)], workdir / "server.log")
        children.append(server)
        api_url = (await server.ready("listening on ")).removeprefix("listening on ").strip()
        config = bench_config(api_url, url, args.rate)
        t0 = time.perf_counter()
        ballots = await seed(config, args.seed)
        epoch = time.time()
        clock = voting_clock(config, epoch)
        _seed_recipients(url, args.recipients, clock.now())
        log(f"seeded {args.recipients} recipients in {time.perf_counter() - t0:.1f}s on {schema}")

        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as http:
            api = LocalApiClient(api_url, session=http)
            await api.add_users(TOKEN, RECIPIENT_BASE + 1, args.recipients)
            await api.add_users(TOKEN, STAFF_ID, 1)
            await api.add_users(TOKEN, journey.AUTHOR_BASE + 1, 1_000)
            receiver = Child("receiver", [PYTHON, "-m", "bench.cluster", "receiver", "--api", api_url, "--db", url],
                             workdir / "receiver.log")
            children.append(receiver)
            await receiver.ready("ready")
            workers = [Child(f"worker{n}", [PYTHON, "-m", "bench.cluster", "worker", "--api", api_url, "--db", url,
                                            "--clock-epoch", repr(epoch), "--broadcast-rate", str(args.rate)],
                             workdir / f"worker{n}.log") for n in range(args.workers)]
            children.extend(workers)
            for child in workers:
                await child.ready("ready")
            # Counted from here: everything the bot's processes send, replies and broadcast alike.
            await api.add_fault(kind="limit", per_second=UNREACHED, token=TOKEN)
            log(f"receiver and {args.workers} workers up; budget {args.rate:g} messages/s; "
                f"load average {os.getloadavg()[0]:.2f}")

            db = open_database(url)
            await db.open()
            outcome = Outcome()
            stop = asyncio.Event()
            try:
                services = Services.build(config, clock, Repositories(db))
                people = asyncio.create_task(_citizens(api, config, ballots, args, outcome, stop))
                cpu0 = [c.cpu_seconds() for c in workers]
                try:
                    await _broadcast(services, outcome, args.recipients, args.timeout)
                finally:
                    stop.set()
                    await people
                worker_cpu = sum(c.cpu_seconds() - before for c, before in zip(workers, cpu0, strict=True))
            finally:
                await db.close()
            [meter] = [rule for rule in await api.faults() if rule["kind"] == "limit"]
            stats = await api.stats()
        errors = sum(c.count_log('"level": "ERROR"') for c in workers)
    finally:
        for child in reversed(children):
            child.stop()
        if not args.keep:
            drop_schema(args.pg, schema)

    counts = {int(k): v for k, v in meter["per_second_counts"].items()}
    # Whole seconds inside the broadcast (its first and last seconds are partly idle).
    inside = [counts.get(s, 0) for s in range(int(outcome.started) + 1, int(outcome.finished))]
    achieved = statistics.fmean(inside) if inside else 0.0
    broadcast_s = outcome.finished - outcome.started
    replies = max(0, meter["accepted"] - outcome.sent)
    sent_ok = stats["methods"].get("sendMessage", {}).get("200", 0)
    return [
        f"recipients {args.recipients}",
        f"broadcast_sent {outcome.sent}",
        f"broadcast_seconds {broadcast_s:.1f}",
        f"budget_per_s {args.rate:g}",
        f"max_any_second_sliding {meter['peak']}",
        f"max_whole_second {max(counts.values(), default=0)}",
        f"max_vs_budget {meter['peak'] / args.rate:.3f}",
        f"whole_seconds_over_budget {sum(n > args.rate for n in counts.values())} of {len(counts)}",
        f"achieved_per_s {achieved:.1f}",
        f"achieved_vs_configured {achieved / args.rate:.3f}",
        f"messages_counted {meter['accepted']}  (sendMessage 200: {sent_ok})",
        f"replies_and_staff_messages {replies} ({replies / max(1, meter['accepted']):.1%} of all)",
        f"citizen_journeys {outcome.journeys}; failed {outcome.failures}; with violations {outcome.violations}",
        f"citizen_step_p50_ms {percentile(outcome.steps, 50) * 1000:.0f}",
        f"citizen_step_p99_ms {percentile(outcome.steps, 99) * 1000:.0f}",
        f"worker_cpu_s {worker_cpu:.1f}",
        f"worker_errors_logged {errors}",
        f"workers {args.workers}; latency {args.latency:g} s; arrivals {args.arrivals:g}/s; "
        f"code {journey.code_version()}; load average {os.getloadavg()[0]:.2f}",
    ]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.broadcast_cluster", description=__doc__.splitlines()[0])
    ap.add_argument("--recipients", type=int, default=100_000)
    ap.add_argument("--rate", type=float, default=200.0, help="telegram.broadcast_rate: the bot's one budget")
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--arrivals", type=float, default=3.0, help="citizens starting the journey per second")
    ap.add_argument("--latency", type=float, default=0.05, help="seconds added to every Bot API call")
    ap.add_argument("--pg", default=os.environ.get("MANSHAHRDARAM_TEST_PG", DEFAULT_PG))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--step-timeout", type=float, default=60.0)
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds the broadcast may take")
    ap.add_argument("--keep", action="store_true")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING)
    return run_in_workdir("bench-broadcast-cluster-", _parse(argv), _main)


if __name__ == "__main__":
    sys.exit(main())
