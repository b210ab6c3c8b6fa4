"""One update the bot cannot read, queued before another citizen's /start (issue 12, item 1).

    .venv/bin/python -m bench.unreadable [--baseline /work/baseline] [--within 15]

For each code tree (``--baseline``, when given, then this one) the bot runs as its own process
(``python -m bench.run_bot`` from that tree, so its own ``bot`` package is imported) against the
loopback Bot API served by this driver. Once it polls, one malformed update (a poll whose options
lack ``persistent_id``, as an older Bot API such as Bale's sends it) and then a citizen's /start
are queued together. Printed, one figure a line, per tree:

- ``<tree>_start_answered_s``: from queueing to the welcome reaching the chat, or
  ``never_within_<N>s``;
- ``<tree>_critical_log_records``, ``<tree>_unreadable_update_lines`` (the fixed bot's one line per
  unreadable update) and ``<tree>_log_mb``: what the bot logged in the window (its log format is
  ``time LEVEL logger: message``; a traceback's lines follow their record);
- ``<tree>_get_updates_calls`` and ``<tree>_redeliveries``: getUpdates answered, and updates
  handed out again (a batch fetched again and again shows here);
- ``<tree>_bot_cpu_s``: the bot process's CPU time in that window, which ends ``--settle`` seconds
  (default 2) after the answer or the end of the wait: a bot that answered may still be looping.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import BOT_USERNAME, TOKEN
from bot.devtools.localapi import LocalBotApi

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CITIZEN = 5_000_001
CLK_TCK = os.sysconf("SC_CLK_TCK")
MALFORMED_POLL = {"poll": {"id": "1", "question": "?", "total_voter_count": 0, "is_closed": False,
                           "is_anonymous": True, "type": "regular", "allows_multiple_answers": False,
                           "options": [{"text": "a", "voter_count": 0}]}}
RECORD = re.compile(rb"^\S+ \S+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) ", re.MULTILINE)


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


async def _ready(proc: subprocess.Popen, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        line = await asyncio.wait_for(loop.run_in_executor(None, proc.stdout.readline), deadline - loop.time())
        if not line:
            raise RuntimeError(f"the bot exited with {proc.wait(5)} before it was ready")
        if line.strip() == b"ready":
            return
    raise RuntimeError(f"the bot was not ready within {timeout}s")


async def measure(tree: Path, label: str, within: float, settle: float, workdir: Path) -> list[str]:
    log_path = workdir / f"{label}.log"
    async with LocalBotApi(bots={TOKEN: BOT_USERNAME}) as api:
        state = api.state
        state.add_user(CITIZEN, first_name="Citizen")
        argv = [PYTHON, "-m", "bench.run_bot", "--api", api.url, "--db", str(workdir / f"{label}.sqlite3"),
                "--poll-timeout", "1", "--log-level", "WARNING"]
        with open(log_path, "wb") as log_file:
            # cwd and PYTHONPATH both the tree: `-m` puts the cwd first on sys.path.
            proc = subprocess.Popen(argv, cwd=tree, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=log_file, env={**os.environ, "PYTHONPATH": str(tree)})
            try:
                await _ready(proc, 60.0)
                await _until_polling(state)
                logged_before, calls_before = log_path.stat().st_size, len(state.calls(TOKEN, "getUpdates"))
                cpu_before = _cpu_seconds(proc.pid)
                started = time.perf_counter()
                state.send_raw_update(TOKEN, MALFORMED_POLL)
                state.send_text(TOKEN, CITIZEN, "/start")
                try:
                    await state.wait_for_messages(TOKEN, CITIZEN, 1, timeout=within)
                    answered = f"{time.perf_counter() - started:.3f}"
                except TimeoutError:
                    answered = f"never_within_{within:g}s"
                # Watched a little longer: a bot that answered may still be fetching in a loop.
                await asyncio.sleep(settle)
                elapsed = time.perf_counter() - started
                cpu = _cpu_seconds(proc.pid) - cpu_before
                calls = len(state.calls(TOKEN, "getUpdates")) - calls_before
                redelivered = state.stats()["updates_redelivered"]
            finally:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    try:
                        proc.wait(20)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
    logged = log_path.read_bytes()[logged_before:]
    critical = sum(1 for m in RECORD.finditer(logged) if m.group(1) == b"CRITICAL")
    unreadable = logged.count(b"could not be read")
    return [f"{label}_start_answered_s {answered}",
            f"{label}_critical_log_records {critical}",
            f"{label}_unreadable_update_lines {unreadable}",
            f"{label}_log_mb {len(logged) / 1e6:.2f}",
            f"{label}_get_updates_calls {calls}",
            f"{label}_redeliveries {redelivered}",
            f"{label}_bot_cpu_s {cpu:.2f}",
            f"{label}_window_s {elapsed:.1f}"]


async def _until_polling(state, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not state.bot(TOKEN).polls_parked:
        if loop.time() > deadline:
            raise RuntimeError("the bot never parked a long poll")
        await state.wait_for_call(TOKEN, after=state.call_seq, timeout=deadline - loop.time())


async def main_async(args: argparse.Namespace) -> None:
    trees = ([("baseline", args.baseline.resolve())] if args.baseline else []) + [("fixed", ROOT)]
    with tempfile.TemporaryDirectory(prefix="bench-unreadable-") as tmp:
        for label, tree in trees:
            for line in await measure(tree, label, args.within, args.settle, Path(tmp)):
                print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.unreadable", description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, default=None, help="another checkout to measure first, e.g. /work/baseline")
    ap.add_argument("--settle", type=float, default=2.0, help="seconds watched after the answer (or the wait)")
    ap.add_argument("--within", type=float, default=15.0, help="seconds to wait for the answer to /start")
    asyncio.run(main_async(ap.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
