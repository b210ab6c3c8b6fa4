"""The citizen's journey (bench.journey) served by a receiver and 1, 2, 3 workers on PostgreSQL,
against the single process on SQLite, in the same run, at +100 ms per Bot API call.

    .venv/bin/python -m bench.cluster [--users 400] [--latency 0.1] [--workers 1,2,3] [--pg URL]

Each configuration gets a fresh loopback Bot API server (``python -m bot.devtools.localapi``), a fresh
database seeded through the services (bench.journey.seed_database: a SQLite file, or a throwaway
PostgreSQL schema on --pg), and its own bot processes:

  sqlite     ``python -m bench.run_bot``: the single process, polling, as today
  pg-N       ``python -m bench.cluster receiver`` (polling into the inbox) and N ×
             ``python -m bench.cluster worker`` (taking updates from the inbox)

Every citizen runs the closed-loop journey (no think time, all from t=0): /start → neighbourhood →
«🗳» → contact → ballot → three votes, each step waiting for the answer (bench.journey.Citizen, which
also checks each answer is the one the step expects: an answer out of order is a violation).

One figure a line: updates/s, p99 of a step's complete answer, CPU ms per update in the bot's
processes (the workers; the receiver apart) and in PostgreSQL (the server processes of the run's own
connections, found by their application_name), violations.

The two process roles (used by this driver and by tests/cluster/test_e2e_cluster.py):

    python -m bench.cluster worker --api URL --db PGURL [--clock-epoch T] [--claim-seconds S] [--concurrency N]
    python -m bench.cluster receiver --api URL --db PGURL

print ``ready`` on stdout once serving and stop gracefully on SIGTERM.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import random
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp

from bench import journey
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
    RunResult,
    log,
    percentile,
    run_config,
    run_in_workdir,
)
from bot.app import CONCURRENT_UPDATES

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
SCHEMA_PREFIX = "inbox_workers_bench_"
# On PostgreSQL every Bot API call takes a slot of the bot's one budget (bot/messenger/shared_rate.py),
# telegram.broadcast_rate a second: at config.example.toml's 25 the workers would be measured at that cap.
RATE = 100_000.0


# -- the process roles --------------------------------------------------------------------------------

def _bench_config(args: argparse.Namespace):
    # The database: the PostgreSQL URL.
    config = bench_config(args.api, args.db, getattr(args, "broadcast_rate", None))
    # Any free port: /health only (the receiver polls); several runs may share the machine.
    return dataclasses.replace(config, receiver=dataclasses.replace(config.receiver, listen="127.0.0.1:0"))


async def _worker(args: argparse.Namespace) -> None:
    from bot.cluster.worker import serve_worker
    from bot.runtime import Runtime

    config = _bench_config(args)
    runtime = Runtime(config, voting_clock(config, args.clock_epoch), updater=False,
                      concurrent_updates=args.concurrency)
    await serve_worker(runtime, concurrency=args.concurrency, claim_seconds=args.claim_seconds,
                       ready=lambda: print("ready", flush=True))


async def _receiver(args: argparse.Namespace) -> None:
    from bot.cluster.receiver import serve_receiver
    from storage.engine import open_database
    from storage.inbox import InboxRepository

    config = _bench_config(args)
    db = open_database(args.db)
    await db.open()
    try:
        await serve_receiver(config, InboxRepository(db), polling=True, ready=lambda: print("ready", flush=True))
    finally:
        await db.close()


# -- PostgreSQL for one run ---------------------------------------------------------------------------

def new_schema(server: str) -> tuple[str, str]:
    """A fresh schema (name, URL whose connections use it)."""
    import psycopg

    name = SCHEMA_PREFIX + uuid.uuid4().hex[:10]
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    parts = urlsplit(server)
    # Its connections are named after it: postgres_cpu_seconds() finds their server processes.
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("options", "application_name")]
    query += [("options", f"-csearch_path={name}"), ("application_name", name)]
    return name, urlunsplit(parts._replace(query=urlencode(query)))


def drop_schema(server: str, name: str) -> None:
    import psycopg

    assert name.startswith(SCHEMA_PREFIX)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


async def seed(config, seed_value: int) -> list[journey.Ballot]:
    """bench.journey's seeding, on whichever engine config.database names."""
    from storage.engine import open_database

    original = journey.Database
    journey.Database = open_database
    try:
        return await journey.seed_database(config, seed_value)
    finally:
        journey.Database = original


def backends(server: str, name: str) -> list[int]:
    """The PostgreSQL server processes of the run's connections (named after its schema)."""
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        return [pid for (pid,) in conn.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                                               (name,)).fetchall()]


def postgres_cpu_seconds(pids: list[int]) -> float:
    """CPU seconds of these server processes so far (one that has gone counts nothing)."""
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / journey.CLK_TCK
    return total


# -- one configuration on PostgreSQL ------------------------------------------------------------------

@dataclasses.dataclass
class ClusterResult:
    run: RunResult
    workers: int
    worker_cpu: float = 0.0
    receiver_cpu: float = 0.0
    postgres_cpu: float = 0.0
    backends: int = 0


async def run_cluster(label: str, args: argparse.Namespace, workdir: Path, workers: int) -> ClusterResult:
    result = ClusterResult(RunResult(label, args.users, CONCURRENT_UPDATES, "aiohttp"), workers)
    r = result.run
    rundir = workdir / label
    rundir.mkdir()
    children: list[Child] = []
    schema, url = new_schema(args.pg)
    try:
        server = Child("server", [PYTHON, "-m", "bot.devtools.localapi", "--port", "0", "--latency", str(args.latency),
                                  "--bot", f"{TOKEN}={BOT_USERNAME}", "--seed", str(args.seed)], rundir / "server.log")
        children.append(server)
        api_url = (await server.ready("listening on ")).removeprefix("listening on ").strip()
        config = bench_config(api_url, url)
        ballots = await seed(config, args.seed)
        epoch = repr(time.time())
        receiver = Child("receiver", [PYTHON, "-m", "bench.cluster", "receiver", "--api", api_url, "--db", url],
                         rundir / "receiver.log")
        children.append(receiver)
        await receiver.ready("ready")
        pool = [Child(f"worker{n}", [PYTHON, "-m", "bench.cluster", "worker", "--api", api_url, "--db", url,
                                     "--clock-epoch", epoch, "--broadcast-rate", str(args.rate)], rundir / f"worker{n}.log") for n in range(workers)]
        children.extend(pool)
        for child in pool:
            await child.ready("ready")
        log(f"{label}: receiver and {workers} worker(s) up on {schema}")

        rng = random.Random(args.seed)
        plan = []
        for i in range(args.users):
            ballot = rng.choice(ballots)
            plan.append((USER_BASE + 1 + i, ballot, rng.sample(list(ballot.proposal_ids[:5]), VOTES)))
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as http:
            api = LocalApiClient(api_url, session=http)
            expect = Expect.build(config)
            citizens = [Citizen(api, uid, ballot, votes, expect, args.step_timeout, []) for uid, ballot, votes in plan]
            cpu0 = [c.cpu_seconds() for c in pool]
            # The pools hold their connections for the whole run: these processes are the run's.
            pids = backends(args.pg, schema)
            rcv0, pg0 = receiver.cpu_seconds(), postgres_cpu_seconds(pids)
            loop_t0 = asyncio.get_running_loop().time()
            t0 = time.perf_counter()
            outcomes = await asyncio.gather(*(c.run() for c in citizens))
            r.elapsed = time.perf_counter() - t0
            result.worker_cpu = sum(c.cpu_seconds() - before for c, before in zip(pool, cpu0, strict=True))
            result.receiver_cpu = receiver.cpu_seconds() - rcv0
            result.postgres_cpu = postgres_cpu_seconds(pids) - pg0
            result.backends = len(pids)
        for outcome in outcomes:
            r.completed += outcome.completed
            r.steps += len(outcome.latencies)
            for step, posted, _first, complete in outcome.latencies:
                r.posted_at.append(posted - loop_t0)
                r.complete_lat.append(complete)
                r.step_lat.setdefault(step, []).append(complete)
            if outcome.failure:
                r.failures[outcome.failure.split(":")[0]] += 1
                r.violations.append(f"failure: {outcome.failure}")
            if outcome.violations:
                r.violating_users += 1
                r.violations.extend(outcome.violations[:3])
        r.bot_errors_logged = sum(c.count_log('"level": "ERROR"') for c in pool)
        log(f"{label}: {r.completed}/{args.users} journeys in {r.elapsed:.1f}s")
        return result
    finally:
        for child in reversed(children):
            child.stop()
        drop_schema(args.pg, schema)


# -- the driver ---------------------------------------------------------------------------------------

def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__.splitlines()[0])
    roles = ap.add_subparsers(dest="role")
    for role in ("worker", "receiver"):
        sub = roles.add_parser(role)
        sub.add_argument("--api", required=True)
        sub.add_argument("--db", required=True, help="PostgreSQL URL")
        sub.add_argument("--clock-epoch", type=float, default=None)
        sub.add_argument("--claim-seconds", type=float, default=30.0)
        sub.add_argument("--concurrency", type=int, default=CONCURRENT_UPDATES)
        sub.add_argument("--log-level", default="WARNING")
        sub.add_argument("--broadcast-rate", type=float, default=None,
                         help="the bot's messages per second, replies and broadcasts together, shared by every "
                              "worker on PostgreSQL (default: config.example.toml's)")
    ap.add_argument("--users", type=int, default=400)
    ap.add_argument("--latency", type=float, default=0.1, help="seconds added to every Bot API call")
    ap.add_argument("--workers", default="1,2,3", help="worker counts to measure on PostgreSQL")
    ap.add_argument("--pg", default=os.environ.get("MANSHAHRDARAM_TEST_PG", DEFAULT_PG),
                    help="PostgreSQL server (a throwaway schema is made per run)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate", type=float, default=RATE,
                    help="the workers' shared send budget (telegram.broadcast_rate): high, so that it does not cap "
                         "the figures (the single process on SQLite does not cap replies)")
    ap.add_argument("--step-timeout", type=float, default=60.0)
    ap.add_argument("--keep", action="store_true")
    # What bench.journey.run_config reads for the SQLite run.
    ap.set_defaults(profile=None, db_probe=None)
    return ap.parse_args(argv)


def _line(name: str, value: float, digits: int = 1) -> str:
    return f"{name} {value:.{digits}f}"


async def _main(args: argparse.Namespace, workdir: Path) -> list[str]:
    lines: list[str] = []
    single = await run_config("sqlite-1", args, workdir, args.users, CONCURRENT_UPDATES, "aiohttp")
    lines += [
        _line("sqlite_1_updates_per_s", single.updates_per_s),
        _line("sqlite_1_p99_ms", percentile(single.complete_lat, 99) * 1000, 0),
        _line("sqlite_1_cpu_ms_per_update", single.bot_cpu * 1000 / max(1, single.steps), 2),
        f"sqlite_1_violations {len(single.violations)}",
        f"sqlite_1_completed {single.completed}/{args.users}",
    ]
    for n in (int(x) for x in args.workers.split(",")):
        result = await run_cluster(f"pg-{n}", args, workdir, n)
        r = result.run
        steps = max(1, r.steps)
        lines += [
            _line(f"pg_{n}_updates_per_s", r.updates_per_s),
            _line(f"pg_{n}_p99_ms", percentile(r.complete_lat, 99) * 1000, 0),
            _line(f"pg_{n}_worker_cpu_ms_per_update", result.worker_cpu * 1000 / steps, 2),
            _line(f"pg_{n}_receiver_cpu_ms_per_update", result.receiver_cpu * 1000 / steps, 2),
            _line(f"pg_{n}_postgres_cpu_ms_per_update", result.postgres_cpu * 1000 / steps, 2),
            _line(f"pg_{n}_worker_cpu_vs_sqlite", result.worker_cpu / steps / max(1e-9, single.bot_cpu / max(1, single.steps)), 2),
            f"pg_{n}_violations {len(r.violations)}",
            f"pg_{n}_postgres_backends {result.backends}",
            f"pg_{n}_completed {r.completed}/{args.users}",
        ]
        for violation in r.violations[:3]:
            log(f"pg-{n}: {violation}")
    lines.append(f"steps_per_journey {len(STEPS)}; users {args.users}; latency {args.latency:g} s; "
                 f"code {journey.code_version()}")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.role in ("worker", "receiver"):
        from bot import logs

        logs.setup(args.log_level)
        # BENCH_PROFILE=FILE: the event-loop thread under cProfile, dumped to FILE.<pid> at exit.
        profiler = None
        if os.environ.get("BENCH_PROFILE"):
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        try:
            asyncio.run(_worker(args) if args.role == "worker" else _receiver(args))
        finally:
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(f"{os.environ['BENCH_PROFILE']}.{args.role}.{os.getpid()}")
            logs.teardown()
        return 0
    logging.basicConfig(level=logging.WARNING)
    return run_in_workdir("bench-cluster-", args, _main)


if __name__ == "__main__":
    sys.exit(main())
