"""Run the loopback Bot API standalone (the benchmark's separate process).

    python -m bot.localapi --port 8081 --latency 0.1 --bot 123:ABC=my_bot
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal

from .server import LocalBotApi


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bot.localapi", description=__doc__.splitlines()[0])
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


def freeze_survivors(phase: str, info: dict) -> None:
    """A gc callback: what survived a full collection is frozen (gc.freeze), so the next full
    collections walk only what came after it.

    The server keeps every chat and message it was sent for as long as it runs (tests and the
    benchmarks read them back): 100,000 chats are half a million objects, and each full collection
    walked all of them — 0.12 s on an idle core, half a second on a busy one, a pause of every call
    in flight that the benchmarks counted as the bot's. Frozen after each full collection, a full
    collection costs ~10 ms at any size. The price: a cycle still alive at one of those moments and
    dropped later is never collected — little, in a developer's tool."""
    if phase == "stop" and info["generation"] == 2:
        gc.freeze()


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    # Only in this standalone process: a test that runs the server inside its own process keeps its gc.
    gc.callbacks.append(freeze_survivors)
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
