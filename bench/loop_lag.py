"""bench.run_bot (or the loopback Bot API server) with a watch on its event loop: how late a 10 ms
timer fires, i.e. how long the loop was held by something (a long callback, the garbage collector,
a thread holding the GIL).

    LOOP_LAG_FILE=PATH python -m bench.loop_lag --api … --db …      (bench.run_bot's arguments)
    LOOP_LAG_FILE=PATH python -m bench.loop_lag --server --port 0 …  (bot.devtools.localapi's arguments)

Every lag of STALL_S or more is appended to PATH as "wall_time_at_its_end seconds" (one a line,
flushed at once: a SIGKILLed bot keeps what it had written), and every collection of the garbage
collector's oldest generation as "wall_time_at_its_end seconds gc" (one cause of a lag: its time
grows with the heap). In the bot, every database transaction on the shared connection's thread
that took STALL_S or more is a line "wall_time_at_its_end seconds db" — "db checkpoint" when the
database file itself was written meanwhile (in WAL mode only a checkpoint writes it): that thread
runs one transaction at a time, so a citizen's update or the sender's next mark waits behind it.
bench.broadcast reads them to tell who stalled a broadcast.
"""
from __future__ import annotations

import asyncio
import gc
import os
import sys
import threading
import time

TICK_S = 0.01
STALL_S = 0.02  # lags shorter than this are the machine's noise, not worth a line


async def watch(path: str) -> None:
    loop = asyncio.get_running_loop()
    with open(path, "a", buffering=1) as out:
        started = [0.0]

        def collected(phase: str, info: dict) -> None:
            if info["generation"] != 2:
                return
            if phase == "start":
                started[0] = time.perf_counter()
            else:
                out.write(f"{time.time():.3f} {time.perf_counter() - started[0]:.4f} gc\n")
        gc.callbacks.append(collected)
        try:
            while True:
                t = loop.time()
                await asyncio.sleep(TICK_S)
                lag = loop.time() - t - TICK_S
                if lag >= STALL_S:
                    out.write(f"{time.time():.3f} {lag:.4f}\n")
        finally:
            gc.callbacks.remove(collected)


def watch_transactions(path: str) -> None:
    """Times every transaction of Database.write on the connection's thread (bench only: the
    storage module's function is wrapped in this process)."""
    from storage import db

    out = open(path, "a", buffering=1)
    lock = threading.Lock()
    inner = db._in_transaction
    files: dict[int, str] = {}

    def timed(conn, fn, args):
        main = files.get(id(conn)) or files.setdefault(id(conn), conn.execute("PRAGMA database_list").fetchone()[2])
        before = _mtime(main)
        t = time.perf_counter()
        try:
            return inner(conn, fn, args)
        finally:
            took = time.perf_counter() - t
            if took >= STALL_S:
                kind = "db checkpoint" if _mtime(main) != before else "db"
                with lock:
                    out.write(f"{time.time():.3f} {took:.4f} {kind}\n")

    db._in_transaction = timed


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


def _watched(serve, path: str):
    """``serve`` with the loop watch running beside it for as long as it serves."""
    async def serve_watched(args) -> None:
        watcher = asyncio.create_task(watch(path))
        try:
            await serve(args)
        finally:
            watcher.cancel()
    return serve_watched


def main(argv: list[str] | None = None) -> int:
    path = os.environ["LOOP_LAG_FILE"]
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--server"]:
        from bot.devtools.localapi import __main__ as server

        server._serve = _watched(server._serve, path)
        server.main(argv[1:])
        return 0

    from bench import run_bot

    watch_transactions(path)
    run_bot._serve = _watched(run_bot._serve, path)
    return run_bot.main(argv)


if __name__ == "__main__":
    sys.exit(main())
