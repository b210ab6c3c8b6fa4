"""Which PostgreSQL driver for storage: psycopg 3 synchronous connections on threads, psycopg 3 async, asyncpg.

    .venv/bin/python -m bench.pg_drivers                        # 3 rounds, 64 tasks, 5 s a figure (~4 min)
    .venv/bin/python -m bench.pg_drivers --tasks 32,128 --seconds 3
    .venv/bin/python -m bench.pg_drivers --url postgresql://postgres@127.0.0.1:6432/test   # through pgbouncer

Needs the `bench` extra (asyncpg) besides psycopg: `.venv/bin/pip install -e '.[bench]'`.

One run measures every combination, the drivers alternating within each round so that the
machine's noise (2 cores, shared) falls on all of them alike; every round is repeated `--rounds`
times and the median is reported. Each driver gets a pool of `--pool` (32) connections and
`--tasks` asyncio tasks issue operations back to back (a closed loop):

- `pk`: one primary-key SELECT, in autocommit (one statement, one round trip);
- `vote`: the vote's shape, BEGIN; SELECT … FOR UPDATE of one voter's row; INSERT of a vote; COMMIT.

The drivers:

- `psycopg_threads`: storage's shape today, "one function = one transaction on a thread": each
  operation is a plain function run on a ThreadPoolExecutor of `--pool` threads; it takes a synchronous
  psycopg connection from a psycopg_pool.ConnectionPool, does its statements, gives it back;
- `psycopg_async`: psycopg_pool.AsyncConnectionPool, the operation awaited on the event loop;
- `asyncpg`: asyncpg.create_pool, the operation awaited on the event loop;
- `asyncpg_noreset`: the same with ``reset=`` a no-op: asyncpg's pool otherwise sends one more query
  (pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL) each time a connection goes back;
- `storage_engine`: storage.postgres.PgDatabase itself (``read`` for pk, ``write`` for vote): the
  `psycopg_threads` shape plus the engine's own work; it never prepares (unprepared variant only).

And two variants: `prepared` (each driver's default: psycopg prepares a statement on a connection after
5 executions, asyncpg prepares and caches every statement) and `unprepared` (what pgbouncer in
transaction mode needs: psycopg `prepare_threshold=None`, asyncpg `statement_cache_size=0`).

Figures, one a line: operations per second; the client's CPU per operation (this process's CPU time,
all threads, ÷ operations); PostgreSQL's CPU per operation (utime+stime from /proc of the server backends
serving this run's pools, found by application_name in pg_stat_activity, ÷ operations). The server's
background processes (WAL writer, checkpointer) are not counted: other users of the server share them.
Through pgbouncer (``--url`` its address, ``--setup-url`` the server's) the backends are pgbouncer's and
their application_name changes as clients take turns: the server figure then counts every client backend
on the run's database (give the run a database of its own), and the pgbouncer process on this machine is
counted as `proxy_cpu_ms_per_op`.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

DEFAULT_URL = os.environ.get("MANSHAHRDARAM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
VOTERS = 20_000
PROPOSALS = 400
TICK_S = 1 / os.sysconf("SC_CLK_TCK")

PK_SQL_PSYCOPG = "SELECT id, name, votes_left FROM pgbench_voters WHERE id = %s"
LOCK_SQL_PSYCOPG = "SELECT votes_left FROM pgbench_voters WHERE id = %s FOR UPDATE"
INSERT_SQL_PSYCOPG = "INSERT INTO pgbench_votes (voter_id, proposal_id) VALUES (%s, %s)"
PK_SQL_ASYNCPG = "SELECT id, name, votes_left FROM pgbench_voters WHERE id = $1"
LOCK_SQL_ASYNCPG = "SELECT votes_left FROM pgbench_voters WHERE id = $1 FOR UPDATE"
INSERT_SQL_ASYNCPG = "INSERT INTO pgbench_votes (voter_id, proposal_id) VALUES ($1, $2)"

DRIVERS = ("psycopg_threads", "psycopg_async", "asyncpg", "asyncpg_noreset", "storage_engine")
VARIANTS = ("prepared", "unprepared")
OPS = ("pk", "vote")


def setup(url: str) -> None:
    """Fresh pgbench_ tables (the only ones this benchmark touches)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS pgbench_votes, pgbench_voters")
        conn.execute(
            "CREATE TABLE pgbench_voters (id integer PRIMARY KEY, name text NOT NULL, votes_left integer NOT NULL)")
        conn.execute(
            "CREATE TABLE pgbench_votes (id bigserial PRIMARY KEY, voter_id integer NOT NULL"
            " REFERENCES pgbench_voters (id), proposal_id integer NOT NULL,"
            " at timestamptz NOT NULL DEFAULT now())")
        conn.execute("CREATE INDEX pgbench_votes_voter ON pgbench_votes (voter_id)")
        conn.execute(
            "INSERT INTO pgbench_voters (id, name, votes_left)"
            " SELECT g, 'citizen ' || g, 3 FROM generate_series(1, %s) AS g", (VOTERS,))
        conn.execute("VACUUM ANALYZE pgbench_voters")


def teardown(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS pgbench_votes, pgbench_voters")
        conn.execute(f"DROP SCHEMA IF EXISTS {ENGINE_SCHEMA} CASCADE")


# ---------------------------------------------------------------- CPU of the server's backends

def _proc_cpu_s(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    # After the ")" closing comm: state is field 0, utime field 11, stime field 12.
    return (int(fields[11]) + int(fields[12])) * TICK_S


def backend_pids(url: str, application_name: str | None) -> list[int]:
    """The server processes serving this run: by application_name when the pools connect directly;
    through pgbouncer (``application_name`` None) every client backend on the run's own database
    but this query's (pgbouncer rewrites application_name as clients take turns)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        if application_name is not None:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (application_name,)).fetchall()
        else:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND backend_type = 'client backend' AND pid <> pg_backend_pid()").fetchall()
    return [row[0] for row in rows]


def pgbouncer_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == "pgbouncer":
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


def cpu_of(pids: list[int]) -> dict[int, float]:
    return {pid: cpu for pid in pids if (cpu := _proc_cpu_s(pid)) is not None}


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(after[pid] - before[pid] for pid in before if pid in after)


# ---------------------------------------------------------------- the drivers

@dataclass
class Driver:
    """An opened pool: ``pk()`` and ``vote()`` are awaitables doing one operation each."""

    pk: Callable[[], Awaitable[None]]
    vote: Callable[[], Awaitable[None]]
    close: Callable[[], Awaitable[None]]


def _voter() -> int:
    return random.randint(1, VOTERS)


def _proposal() -> int:
    return random.randint(1, PROPOSALS)


def _conninfo(url: str, application_name: str) -> str:
    return url + ("&" if "?" in url else "?") + f"application_name={application_name}"


async def open_psycopg_threads(url: str, app: str, pool_size: int, prepared: bool) -> Driver:
    from psycopg_pool import ConnectionPool

    kwargs = {"autocommit": True, "prepare_threshold": 5 if prepared else None}
    pool = ConnectionPool(_conninfo(url, app), min_size=pool_size, max_size=pool_size, kwargs=kwargs, open=False)
    await asyncio.to_thread(pool.open, True, 30)
    executor = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="pgbench")
    loop = asyncio.get_running_loop()

    def pk_fn(voter: int) -> None:
        with pool.connection() as conn:
            conn.execute(PK_SQL_PSYCOPG, (voter,)).fetchone()

    def vote_fn(voter: int, proposal: int) -> None:
        with pool.connection() as conn, conn.transaction():
            conn.execute(LOCK_SQL_PSYCOPG, (voter,)).fetchone()
            conn.execute(INSERT_SQL_PSYCOPG, (voter, proposal))

    async def pk() -> None:
        await loop.run_in_executor(executor, pk_fn, _voter())

    async def vote() -> None:
        await loop.run_in_executor(executor, vote_fn, _voter(), _proposal())

    async def close() -> None:
        executor.shutdown(wait=True)
        await asyncio.to_thread(pool.close)

    return Driver(pk, vote, close)


async def open_psycopg_async(url: str, app: str, pool_size: int, prepared: bool) -> Driver:
    from psycopg_pool import AsyncConnectionPool

    kwargs = {"autocommit": True, "prepare_threshold": 5 if prepared else None}
    pool = AsyncConnectionPool(_conninfo(url, app), min_size=pool_size, max_size=pool_size, kwargs=kwargs,
                               open=False)
    await pool.open(wait=True, timeout=30)

    async def pk() -> None:
        async with pool.connection() as conn:
            await (await conn.execute(PK_SQL_PSYCOPG, (_voter(),))).fetchone()

    async def vote() -> None:
        async with pool.connection() as conn, conn.transaction():
            voter = _voter()
            await (await conn.execute(LOCK_SQL_PSYCOPG, (voter,))).fetchone()
            await conn.execute(INSERT_SQL_PSYCOPG, (voter, _proposal()))

    return Driver(pk, vote, pool.close)


async def open_asyncpg(url: str, app: str, pool_size: int, prepared: bool, reset: bool = True) -> Driver:
    import asyncpg

    kwargs = {} if prepared else {"statement_cache_size": 0}
    if not reset:
        # asyncpg's default reset on release is one more round trip (pg_advisory_unlock_all, CLOSE ALL,
        # UNLISTEN *, RESET ALL); storage sets no session state, so it may skip it.
        async def no_reset(conn) -> None:
            return None
        kwargs["reset"] = no_reset
    pool = await asyncpg.create_pool(url, min_size=pool_size, max_size=pool_size,
                                     server_settings={"application_name": app}, **kwargs)

    async def pk() -> None:
        async with pool.acquire() as conn:
            await conn.fetchrow(PK_SQL_ASYNCPG, _voter())

    async def vote() -> None:
        async with pool.acquire() as conn, conn.transaction():
            voter = _voter()
            await conn.fetchrow(LOCK_SQL_ASYNCPG, voter)
            await conn.execute(INSERT_SQL_ASYNCPG, voter, _proposal())

    return Driver(pk, vote, pool.close)


ENGINE_SCHEMA = "pgbench_engine"


async def open_storage_engine(url: str, app: str, pool_size: int, prepared: bool) -> Driver | None:
    """storage.postgres.PgDatabase itself: the thread shape plus what the engine adds (``?`` texts
    translated, rows by name, its BEGIN/COMMIT); it never prepares, so only the unprepared variant.
    Its migrations go to a schema of their own (search_path), dropped by teardown()."""
    if prepared:
        return None
    import psycopg

    from storage.postgres import PgDatabase

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {ENGINE_SCHEMA}")
    db = PgDatabase(_conninfo(url, app) + f"&options=-csearch_path%3D{ENGINE_SCHEMA},public", pool_size=pool_size)
    await db.open()
    pk_sql = PK_SQL_PSYCOPG.replace("%s", "?")
    lock_sql = LOCK_SQL_PSYCOPG.replace("%s", "?")
    insert_sql = INSERT_SQL_PSYCOPG.replace("%s", "?")

    def pk_fn(conn, voter: int) -> None:
        conn.execute(pk_sql, (voter,)).fetchone()["name"]

    def vote_fn(conn, voter: int, proposal: int) -> None:
        conn.execute(lock_sql, (voter,)).fetchone()["votes_left"]
        conn.execute(insert_sql, (voter, proposal))

    async def pk() -> None:
        await db.read(pk_fn, _voter())

    async def vote() -> None:
        await db.write(vote_fn, _voter(), _proposal())

    return Driver(pk, vote, db.close)


async def open_asyncpg_noreset(url: str, app: str, pool_size: int, prepared: bool) -> Driver:
    return await open_asyncpg(url, app, pool_size, prepared, reset=False)


OPENERS = {"psycopg_threads": open_psycopg_threads, "psycopg_async": open_psycopg_async,
           "asyncpg": open_asyncpg, "asyncpg_noreset": open_asyncpg_noreset, "storage_engine": open_storage_engine}


# ---------------------------------------------------------------- measuring

@dataclass
class Figure:
    ops_per_s: float
    client_cpu_ms_per_op: float
    server_cpu_ms_per_op: float | None
    proxy_cpu_ms_per_op: float | None
    errors: int


@dataclass
class Results:
    runs: dict[tuple[str, str, str, int], list[Figure]] = field(default_factory=dict)


async def measure(operation: Callable[[], Awaitable[None]], tasks: int, seconds: float, warmup: float,
                  find_server_pids: Callable[[], Awaitable[list[int]]], proxy_pids: list[int]) -> Figure:
    done = 0
    errors = 0
    stop = False

    async def worker() -> None:
        nonlocal done, errors
        while not stop:
            try:
                await operation()
            except Exception as exc:  # a failure is counted and shown, never taken for speed
                errors += 1
                if errors <= 3:
                    print(f"# error: {type(exc).__name__}: {exc}", file=sys.stderr)
            else:
                done += 1

    workers = [asyncio.create_task(worker()) for _ in range(tasks)]
    try:
        await asyncio.sleep(warmup)
        # After the warm-up: pgbouncer opens its server connections as the load asks for them.
        server_pids = await find_server_pids()
        done0, wall0, cpu0 = done, time.perf_counter(), time.process_time()
        server0, proxy0 = cpu_of(server_pids), cpu_of(proxy_pids)
        await asyncio.sleep(seconds)
        done1, wall1, cpu1 = done, time.perf_counter(), time.process_time()
        server1, proxy1 = cpu_of(server_pids), cpu_of(proxy_pids)
    finally:
        stop = True
        await asyncio.gather(*workers, return_exceptions=True)
    ops = max(done1 - done0, 1)
    return Figure(
        ops_per_s=(done1 - done0) / (wall1 - wall0),
        client_cpu_ms_per_op=(cpu1 - cpu0) * 1000 / ops,
        server_cpu_ms_per_op=cpu_spent(server0, server1) * 1000 / ops if server_pids else None,
        proxy_cpu_ms_per_op=cpu_spent(proxy0, proxy1) * 1000 / ops if proxy_pids else None,
        errors=errors,
    )


def figure_lines(key: str, figure: Figure) -> list[str]:
    lines = [f"{key}.ops_per_s {figure.ops_per_s:.0f}", f"{key}.client_cpu_ms_per_op {figure.client_cpu_ms_per_op:.3f}"]
    if figure.server_cpu_ms_per_op is not None:
        lines.append(f"{key}.server_cpu_ms_per_op {figure.server_cpu_ms_per_op:.3f}")
    if figure.proxy_cpu_ms_per_op is not None:
        lines.append(f"{key}.proxy_cpu_ms_per_op {figure.proxy_cpu_ms_per_op:.3f}")
    if figure.errors:
        lines.append(f"{key}.errors {figure.errors}")
    return lines


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summary(results: Results, task_counts: list[int]) -> list[str]:
    """Medians over the rounds, one figure a line, then the cost of turning prepared statements off."""
    lines = []
    medians: dict[tuple[str, str, str, int], Figure] = {}
    for key, figures in results.runs.items():
        medians[key] = Figure(
            ops_per_s=statistics.median(f.ops_per_s for f in figures),
            client_cpu_ms_per_op=statistics.median(f.client_cpu_ms_per_op for f in figures),
            server_cpu_ms_per_op=_median([f.server_cpu_ms_per_op for f in figures]),
            proxy_cpu_ms_per_op=_median([f.proxy_cpu_ms_per_op for f in figures]),
            errors=sum(f.errors for f in figures),
        )
        op, driver, variant, tasks = key
        lines += figure_lines(f"median.{op}.{driver}.{variant}.tasks{tasks}", medians[key])
    for tasks in task_counts:
        for op in OPS:
            for driver in DRIVERS:
                on, off = medians.get((op, driver, "prepared", tasks)), medians.get((op, driver, "unprepared", tasks))
                if on is None or off is None:
                    continue
                key = f"unprepared_vs_prepared.{op}.{driver}.tasks{tasks}"
                lines.append(f"{key}.ops_per_s_ratio {off.ops_per_s / on.ops_per_s:.2f}")
                lines.append(f"{key}.client_cpu_ratio {off.client_cpu_ms_per_op / on.client_cpu_ms_per_op:.2f}")
                if on.server_cpu_ms_per_op and off.server_cpu_ms_per_op is not None:
                    lines.append(f"{key}.server_cpu_ratio {off.server_cpu_ms_per_op / on.server_cpu_ms_per_op:.2f}")
    lines.append("")
    proxied = any(m.proxy_cpu_ms_per_op is not None for m in medians.values())
    lines.append("| op | driver | statements | tasks | ops/s | client CPU ms/op | server CPU ms/op |"
                 + (" pgbouncer CPU ms/op |" if proxied else ""))
    lines.append("|---|---|---|---|---:|---:|---:|" + ("---:|" if proxied else ""))
    for tasks in task_counts:
        for op in OPS:
            for variant in VARIANTS:
                for driver in DRIVERS:
                    m = medians.get((op, driver, variant, tasks))
                    if m is None:
                        continue
                    server = "–" if m.server_cpu_ms_per_op is None else f"{m.server_cpu_ms_per_op:.3f}"
                    proxy = "" if not proxied else (
                        " – |" if m.proxy_cpu_ms_per_op is None else f" {m.proxy_cpu_ms_per_op:.3f} |")
                    lines.append(f"| {op} | {driver} | {variant} | {tasks} | {m.ops_per_s:,.0f} |"
                                 f" {m.client_cpu_ms_per_op:.3f} | {server} |{proxy}")
    return lines


async def run(args: argparse.Namespace) -> int:
    task_counts = [int(t) for t in args.tasks.split(",")]
    drivers = args.drivers.split(",")
    variants = args.variants.split(",")
    ops = args.ops.split(",")
    for name, chosen, known in (("driver", drivers, DRIVERS), ("variant", variants, VARIANTS), ("op", ops, OPS)):
        unknown = sorted(set(chosen) - set(known))
        if unknown:
            print(f"--{name}s: unknown {', '.join(unknown)} (known: {', '.join(known)})", file=sys.stderr)
            return 2
    await asyncio.to_thread(setup, args.setup_url or args.url)
    results = Results()
    server_url = args.setup_url or args.url
    through_proxy = args.setup_url is not None and args.setup_url != args.url
    if through_proxy:
        print("# through a proxy: the server CPU counts every client backend on the run's database;"
              " give the run a database of its own", flush=True)
    print(f"# url={args.url} pool={args.pool} tasks={args.tasks} seconds={args.seconds} rounds={args.rounds}"
          f" cpus={os.cpu_count()}", flush=True)
    try:
        for round_ in range(1, args.rounds + 1):
            print(f"# round {round_} load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
            for variant in variants:
                for tasks in task_counts:
                    # Alternate the drivers' order from round to round too.
                    order = drivers if round_ % 2 else list(reversed(drivers))
                    for driver_name in order:
                        app = f"pgbench_{driver_name}_{os.getpid()}"
                        if driver_name == "storage_engine" and through_proxy:
                            continue  # its schema is chosen by the `options` start-up parameter pgbouncer refuses
                        driver = await OPENERS[driver_name](args.url, app, args.pool, variant == "prepared")
                        if driver is None:
                            continue
                        try:
                            async def find_server_pids(app: str = app) -> list[int]:
                                return await asyncio.to_thread(backend_pids, server_url,
                                                               None if through_proxy else app)
                            proxy = pgbouncer_pids() if through_proxy else []
                            for op in ops:
                                figure = await measure(getattr(driver, op), tasks, args.seconds, args.warmup,
                                                       find_server_pids, proxy)
                                key = (op, driver_name, variant, tasks)
                                results.runs.setdefault(key, []).append(figure)
                                for line in figure_lines(f"round{round_}.{op}.{driver_name}.{variant}.tasks{tasks}",
                                                         figure):
                                    print(line, flush=True)
                        finally:
                            await driver.close()
        for line in summary(results, task_counts):
            print(line, flush=True)
    finally:
        if not args.keep:
            await asyncio.to_thread(teardown, server_url)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="where the pools connect (default: env"
                        " MANSHAHRDARAM_TEST_PG or postgresql://postgres@127.0.0.1:5432/test)")
    parser.add_argument("--setup-url", default=None, help="the server itself, when --url is a pgbouncer in front"
                        " of it (tables are made there; give the run a database of its own)")
    parser.add_argument("--pool", type=int, default=32, help="connections per pool (and threads for psycopg_threads)")
    parser.add_argument("--tasks", default="64", help="concurrent asyncio tasks, comma-separated list")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured time per figure")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured time before each figure")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--drivers", default=",".join(DRIVERS))
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--ops", default=",".join(OPS))
    parser.add_argument("--keep", action="store_true", help="leave the pgbench_ tables")
    args = parser.parse_args(argv)
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
