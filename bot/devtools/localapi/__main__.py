"""Run the loopback Bot API standalone (the benchmark's separate process).

    python -m bot.devtools.localapi --port 8081 --latency 0.1 --bot 123:ABC=my_bot
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import signal
import time

from .server import LocalBotApi

FREEZE_EVERY_S = 1.0  # see FreezeSurvivors


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bot.devtools.localapi", description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds added to every Bot API call")
    ap.add_argument("--bot", action="append", default=[], metavar="TOKEN=USERNAME",
                    help="give a token's bot a username (repeatable; default test_bot)")
    ap.add_argument("--seed", type=int, default=0, help="seed for probabilistic faults")
    ap.add_argument("--timeout-seconds", type=float, default=30.0,
                    help='how long a "timeout" fault stalls before answering')
    args = ap.parse_args(argv)
    try:
        args.bots = dict(spec.rsplit("=", 1) for spec in args.bot)
    except ValueError:
        ap.error("--bot expects TOKEN=USERNAME")
    return args


async def _serve(args: argparse.Namespace) -> None:
    api = LocalBotApi(args.host, args.port, latency=args.latency, bots=args.bots, seed=args.seed,
                      timeout_seconds=args.timeout_seconds)
    await api.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # Whoever launched us waits for this exact line before connecting.
    print(f"listening on {api.url}", flush=True)
    try:
        await stop.wait()
    finally:
        await api.stop()


class FreezeSurvivors:
    """A gc callback: at the end of a collection of the older generations, at most once every
    ``every`` seconds, everything the collector tracks is frozen (gc.freeze); later collections
    walk only what came after.

    The server keeps every chat and message it was sent for as long as it runs (tests and the
    benchmarks read them back): 100,000 chats are half a million objects, and each full collection
    walked all of them — 0.12 s on an idle core, half a second on a busy one, a pause of every call
    in flight that the benchmarks counted as the bot's. Freezing only what survived each full
    collection still left every one of them walking ten seconds of new chats (~0.1 s on a busy
    machine). Frozen once a second, the oldest generation holds at most a second of survivors
    (30,000 calls at 100 in flight then ran no full collection at all). The price: a cycle alive at
    one of those moments and dropped later is never collected; those 30,000 calls ended with the
    same resident size as without freezing."""

    def __init__(self, every: float = FREEZE_EVERY_S) -> None:
        self.every = every
        self._last = -math.inf

    def __call__(self, phase: str, info: dict) -> None:
        if phase != "stop" or info["generation"] == 0:
            return
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            gc.freeze()


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    # Only in this standalone process: a test that runs the server inside its own process keeps its gc.
    gc.callbacks.append(FreezeSurvivors())
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
