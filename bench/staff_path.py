"""How long a citizen's small read or write waits behind each staff operation, at 500,000 citizens.

    .venv/bin/python -m bench.staff_path [--citizens 500000] [--baseline /work/baseline13] [--repeat 2]

One database is seeded (bench-only SQL, like bench.broadcast's seed_citizens): citizens spread over
the 27 neighbourhoods of config.example.toml, a tenth subscribed, 1% unreachable, 40% of them with
three votes in their neighbourhood, ten proposals on each ballot, a few approved ambassadors. Each
tree (this one, and --baseline's when given) gets its own copy and runs in a process of its own,
alternately, --repeat times: it opens the copy with its storage.Database (migrating it), then,
while a "citizen" reads one citizen's row and writes one citizen's row through the same Database
over and over (db.read / db.write, 2 ms apart), runs each staff operation once through the
repositories, as the staff's buttons do:

  audience_menu            count_audience for everyone, subscribers, ambassadors, non-voters
  neighbourhood_menu       count_by_neighbourhood (both messengers)
  one_neighbourhood        count_audience of one neighbourhood
  broadcast_start          a broadcast to everyone scheduled and started: one delivery row each
  broadcast_progress       progress() of that broadcast, once all its rows exist
  results_read             ballots() of every neighbourhood, as a results computation reads them
  stats_snapshot           the /stats snapshot

One figure a line: ``<tree>_<operation>_ms`` (how long the operation took) and
``<tree>_<operation>_citizen_wait_ms`` (the longest a citizen's read or write took while it ran),
``<tree>_idle_citizen_wait_ms`` (the same with no staff operation: the floor), medians over the
repeats (every repeat's figure in brackets). The goal (issue 13): ≤ 20 ms at 500,000 citizens.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
PROBE_GAP_S = 0.002
IDLE_S = 1.0
GOAL_MS = 20.0
OPERATIONS = ("audience_menu", "neighbourhood_menu", "one_neighbourhood", "broadcast_start", "broadcast_progress",
              "results_read", "stats_snapshot")


def log(*args: object) -> None:
    print("[bench]", *args, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ seeding (bench-only SQL)


def seed(path: Path, citizens: int, hoods: list[str]) -> None:
    """Rows written straight into the schema the tree's migrations made: the repositories have no
    bulk inserts, and 500,000 citizens through the services would take an hour."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        conn.execute("CREATE TEMP TABLE hood (i INTEGER PRIMARY KEY, id TEXT NOT NULL)")
        conn.executemany("INSERT INTO hood VALUES (?, ?)", list(enumerate(hoods)))
        k = len(hoods)
        conn.execute(
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?) "
            "INSERT INTO citizens (id, platform, user_id, chat_id, neighbourhood_id, remind_me, unreachable_since, "
            "created_at) SELECT x, CASE WHEN x % 5 = 4 THEN 'bale' ELSE 'telegram' END, x, x, "
            "(SELECT id FROM hood WHERE i = x % ?), x % 10 = 0, CASE WHEN x % 100 = 7 THEN '2026-01-01' END, "
            "'2026-01-01T00:00:00+00:00' FROM n", (citizens, k))
        # Ten proposals on each ballot, by the neighbourhood's first citizens: ids i*10+1 … i*10+10.
        for i, hood in enumerate(hoods):
            conn.executemany(
                "INSERT INTO proposals (id, code, citizen_id, platform, neighbourhood_id, category_id, title, "
                "description, status, feasibility, cost, created_at) VALUES (?, ?, ?, 'telegram', ?, 'c', ?, ?, "
                "'approved', 'feasible', 100000000, '2026-01-01T00:00:00+00:00')",
                [(i * 10 + j + 1, f"B{i}-{j}", i or k, hood, f"t{j}", f"d{j}") for j in range(10)])
        # Citizens with x % 5 < 2 vote three of their neighbourhood's ten (offsets 0, 3, 6: distinct).
        conn.execute(
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?), j(o) AS (VALUES (0), (3), (6)) "
            "INSERT INTO votes (citizen_id, proposal_id, created_at) "
            "SELECT x, (x % ?) * 10 + 1 + (x + o) % 10, '2026-01-02T00:00:00+00:00' FROM n, j WHERE x % 5 < 2",
            (citizens, k))
        conn.execute("INSERT INTO ambassadors (citizen_id, status, full_name, neighbourhood_id, phone, created_at) "
                     "SELECT id, 'approved', 'bench', neighbourhood_id, '09120000000', created_at "
                     "FROM citizens WHERE id % 1000 = 1")
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


# ------------------------------------------------------------------ one tree, in its own process


def _small_read(conn: sqlite3.Connection, citizen_id: int):
    return conn.execute("SELECT * FROM citizens WHERE id = ?", (citizen_id,)).fetchone()


def _small_write(conn: sqlite3.Connection, citizen_id: int) -> None:
    conn.execute("UPDATE citizens SET remind_me = 1 - remind_me WHERE id = ?", (citizen_id,))


class Citizen:
    """Reads and writes one row at a time through the bot's Database; keeps the longest wait."""

    def __init__(self, db, citizens: int) -> None:
        self.db, self.citizens = db, citizens
        self.longest = 0.0
        self._stop = False
        self._n = 0

    async def run(self) -> None:
        while not self._stop:
            self._n += 1
            citizen_id = 1 + (self._n * 7919) % self.citizens
            for op in (self.db.read, self.db.write):
                t = time.perf_counter()
                await op(_small_read if op == self.db.read else _small_write, citizen_id)
                self.longest = max(self.longest, time.perf_counter() - t)
            await asyncio.sleep(PROBE_GAP_S)

    async def during(self, coro) -> tuple[float, float]:
        """(seconds the operation took, the longest a citizen's call took meanwhile)."""
        self.longest, self._stop = 0.0, False
        task = asyncio.create_task(self.run())
        await asyncio.sleep(0.05)
        self.longest = 0.0
        t = time.perf_counter()
        try:
            await coro
        finally:
            took = time.perf_counter() - t
            self._stop = True
            await task
        return took, self.longest


async def measure(path: Path, citizens: int, hoods: list[str]) -> dict[str, float]:
    import storage.db
    from domain import AMBASSADORS, EVERYONE, NEIGHBOURHOODS, NON_VOTERS, SUBSCRIBERS, Audience, Watcher
    from storage.broadcasts import BroadcastRepository
    from storage.db import Database
    from storage.results import ResultsRepository
    from storage.stats import StatsRepository

    log(f"storage from {Path(storage.db.__file__).parent}")
    figures: dict[str, float] = {}
    db = Database(path)
    t = time.perf_counter()
    await db.open()
    figures["open_and_migrate"] = time.perf_counter() - t
    repo, results, stats = BroadcastRepository(db), ResultsRepository(db), StatsRepository(db)
    citizen = Citizen(db, citizens)
    now = dt.datetime(2026, 1, 3, tzinfo=dt.UTC)
    broadcast: list[int] = []

    async def audience_menu():
        for kind in (EVERYONE, SUBSCRIBERS, AMBASSADORS, NON_VOTERS):
            await repo.count_audience(Audience(kind))

    async def broadcast_start():
        draft = await repo.create("bench", "text", "bench", now)
        await repo.set_audience(draft.id, Audience(EVERYONE))
        await repo.schedule(draft.id, now, Watcher(draft.id, "telegram", 1, None))
        broadcast.append(draft.id)
        await repo.start(draft.id, now)

    async def results_read():
        for hood in hoods:
            await results.ballots(hood)

    operations = {
        "audience_menu": audience_menu,
        "neighbourhood_menu": lambda: repo.count_by_neighbourhood(None),
        "one_neighbourhood": lambda: repo.count_audience(Audience(NEIGHBOURHOODS, (hoods[0],))),
        "broadcast_start": broadcast_start,
        "broadcast_progress": lambda: repo.progress(broadcast[0]),
        "results_read": results_read,
        "stats_snapshot": lambda: stats.snapshot(210),
    }
    try:
        _, figures["idle_citizen_wait"] = await citizen.during(asyncio.sleep(IDLE_S))
        for name, op in operations.items():
            figures[name], figures[f"{name}_citizen_wait"] = await citizen.during(op())
            log(f"  {name}: {figures[name] * 1000:.0f} ms, citizen waited ≤ {figures[f'{name}_citizen_wait'] * 1000:.1f} ms")
    finally:
        await db.close()
    return figures


def child(args: argparse.Namespace) -> int:
    if sys.path and Path(sys.path[0]).resolve() == HERE.parent:
        sys.path.pop(0)  # run as a file: bench/ itself is not a package root (bench/results.py …)
    hoods = json.loads(args.hoods)
    if args.child == "schema":
        async def schema():
            from storage.db import Database
            db = Database(Path(args.db))
            await db.open()
            await db.close()
        asyncio.run(schema())
        return 0
    figures = asyncio.run(measure(Path(args.db), args.citizens, hoods))
    print(json.dumps(figures))
    return 0


# ------------------------------------------------------------------ the driver


def run_child(tree: Path, mode: str, db: Path, citizens: int, hoods: list[str]) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, str(HERE), "--child", mode, "--db", str(db), "--citizens", str(citizens),
                          "--hoods", json.dumps(hoods)], cwd=tree, env=env, check=True, stdout=subprocess.PIPE,
                         text=True).stdout
    return json.loads(out) if mode == "measure" else {}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.staff_path", description=__doc__.splitlines()[0])
    ap.add_argument("--citizens", type=int, default=500_000)
    ap.add_argument("--baseline", type=Path, help="another tree (e.g. /work/baseline13) measured in the same run")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--child", choices=("schema", "measure"), help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--hoods", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args)

    sys.path.insert(0, str(ROOT))
    from bench.common import EXAMPLE_CONFIG
    from bot.campaign.config import load_config
    hoods = [h.id for h in load_config(EXAMPLE_CONFIG).neighbourhoods]
    trees = {"this": ROOT}
    if args.baseline:
        trees = {"baseline": args.baseline.resolve(), **trees}
    with tempfile.TemporaryDirectory(prefix="bench-staff-") as work:
        seeded = Path(work) / "seeded.sqlite3"
        # The oldest schema: a newer tree migrates its copy on opening, an older one would refuse it.
        run_child(next(iter(trees.values())), "schema", seeded, args.citizens, hoods)
        t = time.perf_counter()
        seed(seeded, args.citizens, hoods)
        log(f"seeded {args.citizens} citizens in {time.perf_counter() - t:.1f} s")
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for i in range(args.repeat):
            for name, tree in trees.items():
                copy = Path(work) / f"{name}.sqlite3"
                shutil.copyfile(seeded, copy)
                log(f"{name} ({tree}), run {i + 1}")
                runs[name].append(run_child(tree, "measure", copy, args.citizens, hoods))
                copy.unlink()
                for extra in ("-wal", "-shm"):
                    Path(str(copy) + extra).unlink(missing_ok=True)
    print(f"citizens {args.citizens}")
    print(f"repeats {args.repeat}")
    for name, tree in trees.items():
        print(f"{name}_tree {tree}")
        for key in ("open_and_migrate", "idle_citizen_wait",
                    *(k for op in OPERATIONS for k in (op, f"{op}_citizen_wait"))):
            values = [r[key] * 1000 for r in runs[name]]
            print(f"{name}_{key}_ms {statistics.median(values):.1f} [{', '.join(f'{v:.1f}' for v in values)}]")
    print("targets:")
    for name in trees:
        worst = max(statistics.median(r[f"{op}_citizen_wait"] for r in runs[name]) * 1000 for op in OPERATIONS)
        print(f"  {name}_longest_citizen_wait_ms <= {GOAL_MS:g}: {'PASS' if worst <= GOAL_MS else 'FAIL'} ({worst:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
