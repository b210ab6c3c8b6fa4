"""The hot operations on a city-sized PostgreSQL database: does their p99 stay flat from 50,000 to
2,000,000 citizens? (issue 15, "Benchmarks", second bullet)

    .venv/bin/python -m bench.city_scale [--sizes 50000,2000000] [--calls 200] [--keep] [--pg URL]
    .venv/bin/python -m bench.city_scale --reuse 50000=SCHEMA --reuse 2000000=SCHEMA   # a kept fill

Per size, a fresh schema on the PostgreSQL server (prefix ``city_bench_``), migrated by
PgDatabase.open, filled on the server with INSERT … SELECT generate_series (indexes, keys and
foreign keys dropped during the load and created again exactly as the migrations define them;
triggers off during the load, the delivery and /stats counters they keep computed after it), then VACUUM
ANALYZE. At full size (2,000,000 citizens), everything else per citizen is the same at every size:

- neighbourhoods: 370 × N / 2,000,000 (9 at 50,000), in 22 × N / 2,000,000 districts (at least 1):
  ~5,400 citizens per neighbourhood at both sizes; sizes 0.5×, 1× and 1.5× the mean (weights 1, 2, 3
  in turn); 2% of citizens have none;
- proposals: N / 50 (40,000; 1,000), 60% on the ballot (~65 per mean neighbourhood), the rest
  approved-unreviewed, not feasible, rejected or pending;
- votes: every citizen with id % 3 != 0 and a neighbourhood votes 3 times (the default limit) in their
  neighbourhood, popular proposals more often: ~1.96 per citizen (3.92 M; 98,000);
- deliveries: 10 broadcasts to everyone reachable (99%): 9 done (sent, 1% failed), the 10th sending
  with every row pending: ~9.9 per citizen (19.8 M; 495,000);
- 83% verified (phone hash), 20% on Bale, 10% "remind me".

Timed through the real repositories (storage.repositories.Repositories on PgDatabase), each call
awaited alone (no concurrency: latency, not throughput), warm (``--warmup`` untimed calls first),
the sizes interleaved in blocks of ``--block`` calls so that the other processes on the machine
weigh on both alike:

- ``ballot``: votes.ballot_page(a citizen of a big neighbourhood, offset 0, 5, with_counts=False),
  what VotingService.ballot reads (config.example.toml: show_vote_counts = false);
- ``ballot_counts``: the same with_counts=True (show_vote_counts = true);
- ``cast``: votes.cast by a verified non-voter of a big neighbourhood (3 votes each, limit 3);
- ``claim``: broadcasts.next_due(the sending broadcast, telegram, ``--claim`` rows) + mark_sending of
  them (the sender's read and its commit before the requests leave); their outcomes are then
  recorded as sent, untimed;
- ``stats``: stats.snapshot(210), the one storage call of /stats (StatsService.report);
- ``results``: results.ballots(a big neighbourhood), what ResultsService reads per neighbourhood.

Printed one figure a line: fill time, rows and size per table, p50/p99 per operation and size, and
p99(largest)/p99(smallest). ``--explain FILE`` writes EXPLAIN (ANALYZE, BUFFERS) of every statement an
operation ran, for each size (each statement is first run under EXPLAIN in a savepoint that is rolled
back, then for real: the plans are the call's own, with its parameters, in its transaction).

Budget: the 2,000,000 fill takes ~5 minutes and ~5 GB; one stats call there takes 30–60 s on this
machine, hence ``--calls-for stats=10``. The sending broadcast of 50,000 citizens has ~39,600 pending
telegram rows: at most ~390 claims of 100 (warm-up included).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg

from domain import DeliveryResult
from storage import postgres
from storage.postgres import PgDatabase
from storage.repositories import Repositories

FULL = 2_000_000
HOODS_AT_FULL = 370
DISTRICTS_AT_FULL = 22
PROPOSALS_PER_CITIZEN = 1 / 50
BROADCASTS = 10
VOTES_EACH = 3
SCHEMA_PREFIX = "city_bench_"
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
TZ_MINUTES = 210
BIG_TABLES = ("citizens", "proposals", "votes", "deliveries")
HASH = 2654435761  # Knuth's multiplicative hash: ids spread over neighbourhoods, not in runs
OPS = ("ballot", "ballot_counts", "cast", "claim", "stats", "results")


def say(name: str, value, unit: str = "") -> None:
    print(f"{name} {value}{(' ' + unit) if unit else ''}", flush=True)


def with_schema(url: str, schema: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"]
    query.append(("options", f"-csearch_path={schema}"))
    return urlunsplit(parts._replace(query=urlencode(query)))


# -- the fill --------------------------------------------------------------------------------------

def plan(n: int) -> dict[str, int]:
    return {
        "citizens": n,
        "hoods": max(1, round(HOODS_AT_FULL * n / FULL)),
        "districts": max(1, round(DISTRICTS_AT_FULL * n / FULL)),
        "proposals": max(1, round(n * PROPOSALS_PER_CITIZEN)),
    }


def hood_ids(hoods: int, districts: int) -> list[tuple[str, int]]:
    """(id, weight): weights 1, 2, 3 in turn, so a neighbourhood has 0.5×, 1× or 1.5× the mean."""
    return [(f"d{k % districts + 1:02d}-n{k // districts + 1:02d}", 1 + k % 3) for k in range(hoods)]


def _ts(expr: str) -> str:
    """SQL for a timestamptz as storage writes it: UTC ISO text with "+00:00" (repositories' _ts)."""
    return f"""(to_char(({expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') || '+00:00')"""


JOINED_FROM = "timestamptz '2026-10-01 00:00+00'"
VOTING_FROM = "timestamptz '2026-11-20 05:30+00'"


def _vote_base(cid: str) -> str:
    # A voter's first vote: within the 7 voting days before NOW, spread by the hash.
    return f"{VOTING_FROM} + make_interval(secs => (({cid}::bigint * 40503) % 604800))"


def _constraints(conn: psycopg.Connection, schema: str) -> tuple[list, list, list]:
    """(foreign keys touching a big table, primary/unique keys of the big tables, their other
    indexes) as (table, name, definition): what is dropped for the load and made again after."""
    big = list(BIG_TABLES)
    fks = conn.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = %s AND c.contype = 'f' "
        "AND (c.conrelid::regclass::text = ANY(%s) OR c.confrelid::regclass::text = ANY(%s)) ORDER BY 1, 2",
        (schema, big, big)).fetchall()
    keys = conn.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = %s AND c.contype IN ('p', 'u') "
        "AND c.conrelid::regclass::text = ANY(%s) ORDER BY 1, 2", (schema, big)).fetchall()
    key_names = [name for _, name, _ in keys]
    indexes = conn.execute(
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = ANY(%s) "
        "AND NOT indexname = ANY(%s) ORDER BY 1, 2", (schema, big, key_names)).fetchall()
    return fks, keys, indexes


def fill(url: str, schema: str, n: int) -> dict[str, float]:
    """Fills the migrated, empty schema; returns seconds per step."""
    p = plan(n)
    hoods = hood_ids(p["hoods"], p["districts"])
    slots = [hood for hood, weight in hoods for _ in range(weight)]
    took: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        # The load alone: no triggers (foreign-key checks, delivery counters) and no index upkeep.
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.execute("SET max_parallel_maintenance_workers = 1")  # 2 cores shared with others
        conn.execute("SET synchronous_commit = off")
        before = _constraints(conn, schema)
        fks, keys, indexes = before
        for table, name, _ in fks:
            conn.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        for table, name, _ in keys:
            conn.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        for _, name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')

        def step(name: str, sql: str, params: dict | None = None) -> None:
            t0 = time.perf_counter()
            conn.execute(sql, params)
            took[name] = took.get(name, 0.0) + time.perf_counter() - t0

        params = {"n": n, "slots": slots, "w": len(slots), "hash": HASH}
        hood = "(%(slots)s::text[])[1 + ((g * %(hash)s) % 4294967296) % %(w)s]"
        step("citizens", _escape_mod(f"""
            INSERT INTO citizens (id, platform, user_id, chat_id, neighbourhood_id, phone_hash, verified_at,
                                  first_vote_at, remind_me, created_at, unreachable_since)
            SELECT g, CASE WHEN g % 5 = 0 THEN 'bale' ELSE 'telegram' END, 1000000000 + g, 1000000000 + g,
                   CASE WHEN g % 50 = 0 THEN NULL ELSE {hood} END,
                   CASE WHEN g % 3 <> 0 OR g % 6 = 0 THEN md5(g::text) || md5((-g)::text) END,
                   CASE WHEN g % 3 <> 0 OR g % 6 = 0 THEN {_ts(f"{JOINED_FROM} + (g::float8 / %(n)s) * interval '50 days' + interval '1 hour'")} END,
                   CASE WHEN g % 3 <> 0 AND g % 50 <> 0 THEN {_ts(_vote_base('g'))} END,
                   (g % 10 = 0)::int,
                   {_ts(f"{JOINED_FROM} + (g::float8 / %(n)s) * interval '50 days'")},
                   CASE WHEN g % 100 = 1 THEN {_ts(VOTING_FROM)} END
            FROM generate_series(1, %(n)s) g"""), params)
        # A proposal's neighbourhood by the same hash (weights alike); j % 20 decides its state.
        proposal_sql = f"""
            INSERT INTO proposals (id, code, citizen_id, platform, neighbourhood_id, category_id, title, description,
                                   status, reject_reason, created_at, decided_at, decided_by, author_told_at,
                                   feasibility, feasibility_note, cost, reviewed_by, reviewed_at, review_told_at)
            SELECT g, 'P' || lpad(g::text, 6, '0'), 1 + (g * 7919) % %(n)s, 'telegram', {hood},
                   'cat' || (g % 8), 'پیشنهاد شمارهٔ ' || g, repeat('شرح پیشنهاد برای محله ', 8),
                   CASE WHEN g % 20 < 15 THEN 'approved' WHEN g % 20 < 18 THEN 'rejected' ELSE 'pending' END,
                   CASE WHEN g % 20 BETWEEN 15 AND 17 THEN 'خارج از حیطهٔ شهرداری' END,
                   {_ts(f"{JOINED_FROM} + (g::float8 / %(p)s) * interval '35 days'")},
                   CASE WHEN g % 20 < 18 THEN {_ts(f"{JOINED_FROM} + (g::float8 / %(p)s) * interval '35 days' + interval '1 day'")} END,
                   CASE WHEN g % 20 < 18 THEN 'telegram:1' END,
                   CASE WHEN g % 20 < 18 THEN {_ts(f"{JOINED_FROM} + interval '40 days'")} END,
                   CASE WHEN g % 20 < 12 THEN 'feasible' WHEN g % 20 = 12 THEN 'not_feasible' END,
                   CASE WHEN g % 20 <= 12 THEN 'بررسی شد' END,
                   CASE WHEN g % 20 < 12 THEN 100000000 + (g % 50) * 10000000 END,
                   CASE WHEN g % 20 <= 12 THEN 'telegram:2' END,
                   CASE WHEN g % 20 <= 12 THEN {_ts(f"{JOINED_FROM} + interval '45 days'")} END,
                   CASE WHEN g % 20 <= 12 THEN {_ts(f"{JOINED_FROM} + interval '46 days'")} END
            FROM generate_series(1, %(p)s) g"""
        step("proposals", _escape_mod(proposal_sql), {**params, "p": p["proposals"]})
        # Each neighbourhood's ballot numbered 0..size-1; a voter's 3 votes are consecutive numbers
        # from a start skewed to the first ones (popular proposals get more votes).
        step("votes", "CREATE TEMP TABLE b_ballot AS SELECT neighbourhood_id AS hood, id, "
                      "(row_number() OVER (PARTITION BY neighbourhood_id ORDER BY id) - 1)::int AS rn FROM proposals "
                      "WHERE status = 'approved' AND feasibility = 'feasible' AND cost IS NOT NULL")
        step("votes", "CREATE TEMP TABLE b_size AS SELECT hood, count(*)::int AS n FROM b_ballot GROUP BY hood")
        step("votes", "CREATE INDEX ON b_ballot (hood, rn)")
        step("votes", "ANALYZE b_ballot")
        step("votes", "ANALYZE b_size")
        step("votes", _escape_mod(f"""
            INSERT INTO votes (citizen_id, proposal_id, created_at)
            SELECT c.id, b.id, {_ts(_vote_base('c.id') + " + k * interval '1 minute'")}
            FROM citizens c JOIN b_size s ON s.hood = c.neighbourhood_id
            CROSS JOIN generate_series(0, {VOTES_EACH - 1}) k
            JOIN b_ballot b ON b.hood = c.neighbourhood_id
                AND b.rn = (floor(s.n * power(((c.id * %(hash)s) % 4294967296) / 4294967296.0, 2))::int + k) % s.n
            WHERE c.id % 3 <> 0 AND s.n >= {VOTES_EACH}"""), params)
        step("broadcasts", _escape_mod(f"""
            INSERT INTO broadcasts (id, status, created_by, kind, text, audience, send_at, created_at, started_at,
                                    finished_at, total)
            SELECT b, CASE WHEN b < %(b)s THEN 'done' ELSE 'sending' END, 'telegram:1', 'text', 'اطلاعیهٔ ' || b,
                   '{{"kind": "everyone", "neighbourhoods": [], "platform": null}}',
                   {_ts(f"{VOTING_FROM} + b * interval '12 hours'")}, {_ts(f"{VOTING_FROM} + b * interval '12 hours'")},
                   {_ts(f"{VOTING_FROM} + b * interval '12 hours'")},
                   CASE WHEN b < %(b)s THEN {_ts(f"{VOTING_FROM} + b * interval '12 hours' + interval '2 hours'")} END,
                   (SELECT count(*) FROM citizens WHERE unreachable_since IS NULL)
            FROM generate_series(1, %(b)s) b"""), {"b": BROADCASTS})
        for b in range(1, BROADCASTS + 1):
            last = b == BROADCASTS
            step("deliveries", _escape_mod(f"""
                INSERT INTO deliveries (id, broadcast_id, citizen_id, platform, chat_id, status, attempts)
                SELECT (%(b)s - 1) * %(n)s + c.id, %(b)s, c.id, c.platform, c.chat_id,
                       {"'pending'" if last else "CASE WHEN c.id % 97 = 0 THEN 'failed' ELSE 'sent' END"},
                       {0 if last else 1}
                FROM citizens c WHERE c.unreachable_since IS NULL"""), {"b": b, "n": n})
        step("deliveries", "INSERT INTO delivery_counts (broadcast_id, platform, status, n) "
                           "SELECT broadcast_id, platform, status, count(*) FROM deliveries GROUP BY 1, 2, 3")
        for table in ("citizens", "proposals", "broadcasts", "deliveries"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        t0 = time.perf_counter()
        for table, name, definition in keys:
            conn.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        for _, _, definition in indexes:
            conn.execute(definition)
        took["keys+indexes"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for table, name, definition in fks:
            conn.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        took["foreign keys"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        # /stats's counters, which the triggers (off during the load) keep afterwards.
        conn.execute("SELECT stats_recount()")
        conn.execute("SELECT stats_recount_proposals()")
        took["stats counters"] = time.perf_counter() - t0
        after = _constraints(conn, schema)
        if after != before:
            raise AssertionError(f"schema differs after the load: {before} != {after}")
        conn.execute("RESET session_replication_role")
        t0 = time.perf_counter()
        # A database in use is vacuumed (autovacuum): visibility map set, hint bits written.
        conn.execute("VACUUM (ANALYZE) citizens, proposals, votes, deliveries, broadcasts, delivery_counts, "
                     "stats_places, stats_days")
        # The schema's other tables only (a bare ANALYZE would walk every schema of the database).
        for (table,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)).fetchall():
            conn.execute(f'ANALYZE "{schema}"."{table}"')
        took["vacuum analyze"] = time.perf_counter() - t0
    return took


def _escape_mod(sql: str) -> str:
    """SQL text for psycopg with named parameters: ``%`` (modulo) doubled, ``%(name)s`` kept."""
    return sql.replace("%", "%%").replace("%%(", "%(")


def table_sizes(url: str, schema: str) -> list[tuple[str, int, int, int]]:
    """(table, rows (estimate after ANALYZE), table bytes, index bytes), largest first."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT c.relname, c.reltuples::bigint, pg_table_size(c.oid), pg_indexes_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r' "
            "ORDER BY pg_total_relation_size(c.oid) DESC", (schema,)).fetchall()


def database_bytes(url: str, schema: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT sum(pg_total_relation_size(c.oid))::bigint FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'", (schema,)).fetchone()[0]


# -- the operations ----------------------------------------------------------------------------------

class Scale:
    """One filled schema, its repositories and what the operations pick from."""

    def __init__(self, n: int, schema: str, url: str) -> None:
        self.n, self.schema, self.url = n, schema, url
        self.db = PgDatabase(url, pool_size=2)
        self.repos = Repositories(self.db)
        self.samples: dict[str, list[float]] = {op: [] for op in OPS}

    async def open(self, seed: int) -> None:
        await self.db.open()
        rng = random.Random(seed)
        with psycopg.connect(self.url, autocommit=True) as conn:
            # The big neighbourhoods: weight 3 (1.5× the mean).
            big = [hood for hood, weight in hood_ids(plan(self.n)["hoods"], plan(self.n)["districts"]) if weight == 3]
            self.big_hoods = big
            rows = conn.execute(
                "SELECT id, neighbourhood_id FROM citizens WHERE neighbourhood_id = ANY(%s) AND phone_hash IS NOT NULL "
                "ORDER BY id", (big,)).fetchall()
            self.ballot_people = rng.sample(rows, min(2000, len(rows)))
            fresh = conn.execute(
                "SELECT c.id, c.neighbourhood_id FROM citizens c WHERE c.neighbourhood_id = ANY(%s) "
                "AND c.phone_hash IS NOT NULL AND c.first_vote_at IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM votes v WHERE v.citizen_id = c.id) ORDER BY c.id", (big,)).fetchall()
            self.voters = rng.sample(fresh, len(fresh))
            self.ballots = {hood: [r[0] for r in conn.execute(
                "SELECT id FROM proposals WHERE neighbourhood_id = %s AND status = 'approved' "
                "AND feasibility = 'feasible' AND cost IS NOT NULL ORDER BY id", (hood,))] for hood in big}
            self.sending = conn.execute("SELECT id FROM broadcasts WHERE status = 'sending'").fetchone()[0]
        self.rng = rng
        self.casts = 0

    async def close(self) -> None:
        await self.db.close()

    # Each returns after one call; the arguments are picked before the clock starts (see timed).
    def ballot(self, with_counts: bool) -> Callable[[], Awaitable]:
        cid, hood = self.rng.choice(self.ballot_people)
        return lambda: self.repos.votes.ballot_page(cid, hood, 0, 5, with_counts)

    def cast(self) -> Callable[[], Awaitable]:
        cid, hood = self.voters[self.casts // VOTES_EACH]
        proposal = self.ballots[hood][(cid + self.casts % VOTES_EACH) % len(self.ballots[hood])]
        self.casts += 1

        async def call():
            status, _ = await self.repos.votes.cast(cid, proposal, hood, VOTES_EACH, NOW)
            assert status == "voted", (status, cid, proposal)
        return call

    def claim(self, rows: int) -> tuple[Callable[[], Awaitable], Callable[[], Awaitable]]:
        holder: list = []

        async def call():
            due = await self.repos.broadcasts.next_due(self.sending, "telegram", rows, NOW)
            if not due:  # 50,000 citizens: ~39,600 pending telegram rows, ~390 claims of 100
                raise SystemExit(f"claim: the sending broadcast of {self.n} citizens has no pending rows left; "
                                 "fewer claim calls (--calls-for claim=N) or rows (--claim)")
            marked = await self.repos.broadcasts.mark_sending(self.sending, [d.id for d in due])
            assert marked == {d.id for d in due}, (len(due), marked)
            holder.extend(marked)

        async def after():  # the sender records the outcomes: untimed
            await self.repos.broadcasts.record([DeliveryResult(i, "sent") for i in holder], NOW)
        return call, after

    def stats(self) -> Callable[[], Awaitable]:
        return lambda: self.repos.stats.snapshot(TZ_MINUTES)

    def results(self) -> Callable[[], Awaitable]:
        hood = self.rng.choice(self.big_hoods)
        return lambda: self.repos.results.ballots(hood)

    def make(self, op: str, claim_rows: int) -> tuple[Callable[[], Awaitable], Callable[[], Awaitable] | None]:
        if op == "ballot":
            return self.ballot(False), None
        if op == "ballot_counts":
            return self.ballot(True), None
        if op == "cast":
            return self.cast(), None
        if op == "claim":
            return self.claim(claim_rows)
        if op == "stats":
            return self.stats(), None
        if op == "results":
            return self.results(), None
        raise ValueError(op)


async def timed(scale: Scale, op: str, calls: int, claim_rows: int, keep: bool = True) -> None:
    for _ in range(calls):
        call, after = scale.make(op, claim_rows)
        t0 = time.perf_counter()
        await call()
        elapsed = time.perf_counter() - t0
        if keep:
            scale.samples[op].append(elapsed)
        if after is not None:
            await after()


def quantile(values: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q of the values at or below it."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 1))
    return ordered[int(rank) - 1]


# -- EXPLAIN of what an operation ran ------------------------------------------------------------------

@contextlib.contextmanager
def explaining(into: list):
    """While inside, every statement a repository function runs on PostgreSQL is first run under
    EXPLAIN (ANALYZE, BUFFERS) in a savepoint that is rolled back, then for real: the plans are
    those of the call's own statements, in its own transaction, with its own parameters."""
    original = postgres._PgConnection.execute

    def execute(self, sql, params=None):
        text = postgres.translate(sql) if params else sql
        with self.raw.transaction():
            rows = self.raw.execute("EXPLAIN (ANALYZE, BUFFERS) " + text, params or None).fetchall()
            into.append((sql, params, [row[0] for row in rows]))
            raise psycopg.Rollback()
        return original(self, sql, params)
    postgres._PgConnection.execute = execute
    try:
        yield
    finally:
        postgres._PgConnection.execute = original


async def explain(scale: Scale, op: str, claim_rows: int) -> str:
    statements: list = []
    call, after = scale.make(op, claim_rows)
    with explaining(statements):
        await call()
    if after is not None:
        await after()
    out = [f"## {op} at {scale.n:,} citizens"]
    for sql, params, plan_rows in statements:
        out.append(f"\n{sql}\n  params: {params}")
        out += ["    " + row for row in plan_rows]
    return "\n".join(out)


# -- the run ---------------------------------------------------------------------------------------------

async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50000,2000000", help="citizens per database, comma-separated")
    parser.add_argument("--calls", type=int, default=200, help="timed calls per operation and size")
    parser.add_argument("--calls-for", action="append", default=[], metavar="OP=N",
                        help="another number of timed calls for one operation (stats at 2,000,000 takes seconds)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls per operation and size first")
    parser.add_argument("--block", type=int, default=20, help="calls in a row before the other size's turn")
    parser.add_argument("--claim", type=int, default=100, help="deliveries claimed per call (the sender's read-ahead)")
    parser.add_argument("--ops", default=",".join(OPS))
    parser.add_argument("--pg", default=os.environ.get("MANSHAHRDARAM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--keep", action="store_true", help="keep the schemas (their names are printed)")
    parser.add_argument("--reuse", action="append", default=[], metavar="SIZE=SCHEMA",
                        help="a kept schema of that size instead of a new fill (pending migrations are applied)")
    parser.add_argument("--fill-only", action="store_true")
    parser.add_argument("--explain", metavar="FILE", help="EXPLAIN (ANALYZE, BUFFERS) of every operation's statements")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    ops = args.ops.split(",")
    reuse = {int(k): v for k, v in (item.split("=", 1) for item in args.reuse)}
    scales: list[Scale] = []
    created: list[str] = []
    try:
        for n in sizes:
            if n in reuse:
                schema = reuse[n]
            else:
                schema = f"{SCHEMA_PREFIX}{n}_{uuid.uuid4().hex[:8]}"
                with psycopg.connect(args.pg, autocommit=True) as conn:
                    conn.execute(f'CREATE SCHEMA "{schema}"')
                created.append(schema)
            url = with_schema(args.pg, schema)
            say(f"schema[{n}]", schema)
            migrate = PgDatabase(url, pool_size=1)
            await migrate.open()  # the migrations, as the bot applies them
            await migrate.close()
            if n not in reuse:
                say(f"plan[{n}]", " ".join(f"{k}={v}" for k, v in plan(n).items()))
                t0 = time.perf_counter()
                took = await asyncio.to_thread(fill, url, schema, n)
                for step, seconds in took.items():
                    say(f"fill_s[{n}].{step}", f"{seconds:.1f}")
                say(f"fill_s[{n}].total", f"{time.perf_counter() - t0:.1f}")
            for table, rows, data, index in table_sizes(args.pg, schema):
                if data + index > 64 * 1024:
                    say(f"table[{n}].{table}", f"rows={rows} table_MB={data / 2**20:.1f} indexes_MB={index / 2**20:.1f}")
            say(f"database_MB[{n}]", f"{database_bytes(args.pg, schema) / 2**20:.1f}")
            scales.append(Scale(n, schema, url))
        if args.fill_only:
            return
        def calls_of(op: str) -> int:
            return next((int(i.split("=", 1)[1]) for i in args.calls_for if i.split("=", 1)[0] == op), args.calls)
        for i, scale in enumerate(scales):
            await scale.open(args.seed + i)
        for op in ops:
            for scale in scales:
                await timed(scale, op, min(args.warmup, calls_of(op)), args.claim, keep=False)
        # The sizes (and the operations) take turns, so that other load on the machine falls on all:
        # the same number of rounds for every operation, each its share of the calls per round.
        calls = {op: calls_of(op) for op in ops}
        rounds = -(-args.calls // args.block)
        for _ in range(rounds):
            for op in ops:
                block = min(-(-calls[op] // rounds), calls[op] - len(scales[0].samples[op]))
                for scale in scales:
                    await timed(scale, op, block, args.claim)
        first, last = scales[0], scales[-1]
        for op in ops:
            for scale in scales:
                values = scale.samples[op]
                say(f"{op}[{scale.n}].calls", len(values))
                say(f"{op}[{scale.n}].p50", f"{1000 * quantile(values, 0.5):.2f}", "ms")
                say(f"{op}[{scale.n}].p99", f"{1000 * quantile(values, 0.99):.2f}", "ms")
            if len(scales) > 1:
                ratio = quantile(last.samples[op], 0.99) / quantile(first.samples[op], 0.99)
                say(f"{op}.p99_ratio[{last.n}/{first.n}]", f"{ratio:.2f}", "(goal <= 1.5)")
        if args.explain:
            parts = [await explain(scale, op, args.claim) for op in ops for scale in scales]
            with open(args.explain, "w", encoding="utf-8") as out:
                out.write("\n\n".join(parts) + "\n")
            say("explain", args.explain)
        for scale in scales:
            say(f"database_MB_after[{scale.n}]", f"{database_bytes(args.pg, scale.schema) / 2**20:.1f}")
    finally:
        for scale in scales:
            with contextlib.suppress(Exception):
                await scale.close()
        if not args.keep:
            with psycopg.connect(args.pg, autocommit=True) as conn:
                for schema in created:
                    assert schema.startswith(SCHEMA_PREFIX)
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                    say("dropped", schema)


if __name__ == "__main__":
    asyncio.run(main())
