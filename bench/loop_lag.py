"""bench.run_bot with a watch on its event loop: how late a 10 ms timer fires, i.e. how long the loop
was held by something (a long callback, the garbage collector, a thread holding the GIL).

    LOOP_LAG_FILE=PATH python -m bench.loop_lag --api … --db …      (bench.run_bot's arguments)

Every lag of STALL_S or more is appended to PATH as "wall_time_at_its_end seconds" (one a line,
flushed at once: a SIGKILLed bot keeps what it had written), and every collection of the garbage
collector's oldest generation as "wall_time_at_its_end seconds gc" (one cause of a lag: its time
grows with the heap). bench.broadcast reads them to report the bot's longest stall while a
broadcast is sent.
"""
from __future__ import annotations

import asyncio
import gc
import os
import sys
import time

from bench import run_bot

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


def main(argv: list[str] | None = None) -> int:
    path = os.environ["LOOP_LAG_FILE"]
    serve = run_bot._serve

    async def serve_watched(args) -> None:
        watcher = asyncio.create_task(watch(path))
        try:
            await serve(args)
        finally:
            watcher.cancel()

    run_bot._serve = serve_watched
    return run_bot.main(argv)


if __name__ == "__main__":
    sys.exit(main())
