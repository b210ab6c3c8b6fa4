"""Similar proposals: one lookup against 40,000 proposals, on SQLite and on PostgreSQL, in one run.

    .venv/bin/python -m bench.similar [--proposals 40000] [--hoods 1] [--lookups 400] [--pg URL]

For each engine: a fresh database (a temporary SQLite file; a throwaway schema on the PostgreSQL
server, dropped after) filled with ``--proposals`` approved proposals by SQL of its own, spread over
``--hoods`` neighbourhoods (1, the default: all in the one searched, the worst case), titles made
from a vocabulary of objects, places, street names and verbs (seeded: the same titles on both
engines). Their search keys are left empty, so the first search fills them (timed: ``fill``, what
a campaign moved from an older release or filled by a tool pays once). Then, timed one at a time:
- ``lookup``: SimilarService.for_title, what a citizen's title costs (the index's candidates and
  the score), for ``--lookups`` titles like the stored ones;
- ``get``: one proposal read by id, the baseline measured in the same run.
Printed per engine: p50 and p99 in ms, the ratio of the lookup's p50 to the baseline's, and this
process's CPU per lookup (all of it on SQLite; the client's share on PostgreSQL, and its server
processes' CPU beside it, read from /proc as bench.storage_engines does): on a shared, loaded
machine the wall-clock figures wait for a core, the CPU does not.
The goal (issue 16): a lookup under 20 ms.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bench.storage_engines import TICK, backend_cpu_ticks, with_schema
from bot.campaign.config import load_config
from bot.campaign.services.similar import SimilarService
from domain import APPROVED, Citizen
from storage.engine import open_database
from storage.repositories import Repositories

NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
# The district's neighbourhood ids (config.example.toml), the searched one first: ids alike
# («hood0», «hood1» …) would share most of their trigrams, as real ones do not.
HOODS = [n.id for n in load_config(Path(__file__).resolve().parents[1] / "config.example.toml").neighbourhoods]
OBJECTS = ["سطل زباله", "نیمکت", "چراغ", "سرعت‌گیر", "درخت", "کتابخانه", "پارکینگ", "توالت عمومی", "آبخوری",
           "دوربین مداربسته", "وسایل ورزشی", "زمین بازی کودکان", "رمپ ویلچر", "ایستگاه دوچرخه", "پیاده‌رو",
           "جوی آب", "نقاشی دیواری", "کلاس آموزشی", "سایبان ایستگاه اتوبوس", "گل‌کاری", "آسفالت", "تابلوی راهنما",
           "فضای سبز", "سرای محله", "زمین فوتبال", "استخر", "فرهنگسرا", "خط ویژه دوچرخه", "پل عابر پیاده",
           "چراغ راهنمایی", "مخزن بازیافت", "شیر آتش‌نشانی", "پست امداد", "حمل‌ونقل سالمندان", "آب‌نما"]
VERBS = ["نصب", "ساخت", "تعمیر", "افزایش", "ایجاد", "بهسازی", "گذاشتن", "احداث"]
PLACES = ["پارک", "بوستان", "خیابان", "کوچه", "میدان", "مدرسه", "ایستگاه مترو", "بازارچه", "تقاطع", "بزرگراه"]
NAMES = ["نیاوران", "باهنر", "دربند", "تجریش", "قیطریه", "جمشیدیه", "زعفرانیه", "ولنجک", "دارآباد", "فرمانیه",
         "اقدسیه", "کامرانیه", "شهید فلاحی", "مقدس اردبیلی", "سعدآباد", "دزاشیب", "جماران", "ازگل", "اراج",
         "چیذر", "حکمت", "کاشانک", "محمودیه", "الهیه", "گلاب‌دره", "درکه", "اوین", "شهرک نفت", "سوهانک", "حصاربوعلی"]


def title(rng: random.Random) -> str:
    return f"{rng.choice(VERBS)} {rng.choice(OBJECTS)} در {rng.choice(PLACES)} {rng.choice(NAMES)}"


def fill(conn, proposals: int, hoods: int, seed: int) -> None:
    rng = random.Random(seed)
    conn.execute("INSERT INTO citizens (id, platform, user_id, chat_id, neighbourhood_id, created_at) "
                 "VALUES (1, 'telegram', 1, 1, ?, ?)", (HOODS[0], NOW.isoformat()))
    rows = [(n, f"S{n:07d}", 1, "telegram", HOODS[n % hoods], "green", title(rng), "شرح", APPROVED, NOW.isoformat())
            for n in range(1, proposals + 1)]
    conn.executemany(
        "INSERT INTO proposals (id, code, citizen_id, platform, neighbourhood_id, category_id, title, description, "
        "status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


async def run_engine(address: str, args, pg_url: str | None = None) -> dict[str, float]:
    db = open_database(address)
    await db.open()
    try:
        repos = Repositories(db)
        await db.write(fill, args.proposals, args.hoods, args.seed)
        service = SimilarService(None, None, repos, None)  # the lookups use neither the config, clock nor calendar
        searcher = Citizen(id=2, platform="telegram", user_id=2, chat_id=2, neighbourhood_id=HOODS[0], verified=False,
                           first_vote_at=None, remind_me=False, created_at=NOW)
        started = time.perf_counter()
        await service.for_title(searcher, "warm-up")
        filled = time.perf_counter() - started
        # The statistics a live database has (autovacuum's ANALYZE on PostgreSQL): without them
        # PostgreSQL takes 40,000 fresh rows for one and walks the neighbourhood's index.
        await db.read(lambda conn: conn.execute("ANALYZE"))
        rng = random.Random(args.seed + 1)
        queries = [title(rng) for _ in range(args.lookups)]
        shown, lookups, gets, cpu = 0, [], [], 0.0
        ticks = backend_cpu_ticks(pg_url)
        for i, query in enumerate(queries):
            t0, c0 = time.perf_counter(), time.process_time()
            shown += len(await service.for_title(searcher, query))
            lookups.append((time.perf_counter() - t0) * 1000)
            cpu += time.process_time() - c0
            t0 = time.perf_counter()
            await repos.proposals.get(1 + i % args.proposals)
            gets.append((time.perf_counter() - t0) * 1000)
        # PostgreSQL's server processes of this run (the gets' share included: one row each).
        server_ms = (backend_cpu_ticks(pg_url) - ticks) * 1000 / TICK / len(queries)
        return {"server_ms": server_ms, "fill_s": filled, "lookup_p50": statistics.median(lookups), "lookup_p99": percentile(lookups, 0.99),
                "get_p50": statistics.median(gets), "get_p99": percentile(gets, 0.99), "shown": shown / len(queries),
                "cpu_ms": cpu * 1000 / len(queries)}
    finally:
        await db.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proposals", type=int, default=40_000)
    parser.add_argument("--hoods", type=int, default=1, choices=range(1, 28), metavar="1..27")
    parser.add_argument("--lookups", type=int, default=400)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--pg", default=os.environ.get("MANSHAHRDARAM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    engines = args.engines.split(",")
    if "sqlite" in engines:
        with tempfile.TemporaryDirectory() as folder:
            results["sqlite"] = await run_engine(str(Path(folder) / "bench.sqlite3"), args)
    if "postgresql" in engines:
        import psycopg
        schema = "similar_bench_" + uuid.uuid4().hex[:8]
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            url = with_schema(args.pg, schema)
            results["postgresql"] = await run_engine(url, args, url)
        finally:
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    print(f"proposals={args.proposals} hoods={args.hoods} lookups={args.lookups} load={os.getloadavg()[0]:.2f}")
    for engine, r in results.items():
        print(f"{engine:10} lookup p50={r['lookup_p50']:.2f} ms p99={r['lookup_p99']:.2f} ms  "
              f"get p50={r['get_p50']:.2f} ms p99={r['get_p99']:.2f} ms  lookup/get p50={r['lookup_p50'] / r['get_p50']:.1f}  "
              f"fill={r['fill_s']:.1f} s  shown/lookup={r['shown']:.2f}  process_cpu_ms/lookup={r['cpu_ms']:.2f}"
              + (f"  server_cpu_ms/lookup={r['server_ms']:.2f}" if engine == "postgresql" else ""))


if __name__ == "__main__":
    asyncio.run(main())
