"""Issue 12, item 3, end to end: the bot as its own process (``python -m bench.run_bot``), SIGKILLed
several times during a paced broadcast, against the loopback Bot API running in this process.

Each kill comes while one broadcast message is in flight: the server holds the request for a chosen
recipient (a "timeout" fault, so it is never answered) and the bot is killed the moment that request
arrives, when the sender is waiting for its next rate slot. The bot is started again on the same
database; its clock is moved past the dead process's lease (as a restart after LEASE_TTL would be),
so it takes over at once.

Checked against the server's own record of what arrived, not the bot's:
- nobody got the broadcast twice;
- everyone not reached is a recipient the broadcast reports as uncertain;
- every uncertain recipient is one whose request reached the server (in flight at a kill, or
  answered before the bot could write it down), and each request held at a kill is reported so,
  in the staff member's final report too.
The figures are printed (pytest -s).
"""
from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter

import pytest

from bench.broadcast import MARKER, STAFF, STAFF_ID, TEXT, seed_citizens
from bench.common import BOT_USERNAME, TOKEN, bench_config, voting_clock, voting_moment
from bench.journey import PYTHON, Child
from bot.campaign.services import Services
from bot.devtools.localapi import LocalBotApi
from bot.messenger.broadcast.worker import LEASE_TTL
from domain import DONE, EVERYONE, UNCERTAIN, Audience
from messages_fa import broadcasts as t
from storage.db import Database
from storage.repositories import Repositories

# slow: starts the loopback Bot API server and the bot's real polling loop (`pytest -m "not slow"` skips it).
pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")]

RATE = 25.0  # broadcast messages a second, as configured by default: a 40 ms wait for every slot
RECIPIENTS = 40
FIRST = 7_000_001  # recipients' user ids (= chat ids), sent to in this order
KILL_AT = (5, 16, 27)  # the recipients (0-based) whose request is in flight at each kill
WITHIN = 60.0


async def until(check, what: str, timeout: float = WITHIN) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.002)


def _deliveries(conn, broadcast_id: int) -> list[tuple[int, str]]:
    # Read-only, as an operator would look: each recipient's row.
    return [tuple(row) for row in conn.execute(
        "SELECT chat_id, status FROM deliveries WHERE broadcast_id = ?", (broadcast_id,))]


async def test_sigkill_during_a_paced_broadcast_repeats_and_loses_nobody(tmp_path):
    async with LocalBotApi(bots={TOKEN: BOT_USERNAME}) as api:
        state = api.state
        state.configure(timeout_seconds=10.0)
        config = bench_config(api.url, tmp_path / "bot.sqlite3", RATE)
        await seed_citizens(config.database, FIRST, RECIPIENTS, voting_moment(config))
        state.add_users(TOKEN, FIRST, RECIPIENTS)
        state.add_user(STAFF_ID, first_name="Staff")
        epoch = time.time()
        db = Database(config.database)
        await db.open()
        bots: list[Child] = []
        try:
            services = Services.build(config, voting_clock(config, epoch), Repositories(db))
            draft = await services.broadcasts.draft(STAFF, "text", TEXT, None, None)
            assert await services.broadcasts.choose(STAFF, draft.id, Audience(EVERYONE))
            assert await services.broadcasts.send_now(STAFF, draft.id, "telegram", STAFF_ID)

            async def start() -> Child:
                bot = Child(f"bot-{len(bots)}", [
                    PYTHON, "-m", "bench.run_bot", "--api", api.url, "--db", str(config.database),
                    "--broadcast-rate", str(RATE), "--clock-epoch", repr(epoch), "--log-level", "INFO"],
                    tmp_path / f"bot-{len(bots)}.log")
                bots.append(bot)
                await bot.ready("ready")
                return bot

            def hold(position: int):
                """The server will hold the request to this recipient: it never answers it."""
                state.clear_faults()
                state.add_fault(method="sendMessage", kind="timeout", chat_id=FIRST + position, count=1, token=TOKEN)
                return state.faults[0]

            held = []
            rule = hold(KILL_AT[0])
            bot = await start()
            for n, position in enumerate(KILL_AT):
                async def arrived(rule=rule) -> bool:
                    return rule.count == 0
                await until(arrived, f"the request to recipient {position}")
                bot.proc.kill()  # while the request is in flight, and the next slot is awaited
                bot.proc.wait()
                held.append(FIRST + position)
                state.clear_faults()
                if n + 1 < len(KILL_AT):
                    rule = hold(KILL_AT[n + 1])  # before the restart: it may send at once
                # The next process's clock is past the dead one's lease, as after LEASE_TTL.
                epoch -= LEASE_TTL.total_seconds() + 1
                bot = await start()

            async def done() -> bool:
                return (await services.repos.broadcasts.get(draft.id)).status == DONE
            await until(done, "the broadcast to finish")
            # Graceful at last, waiting without blocking: the server it talks to runs in this loop.
            bot.proc.send_signal(signal.SIGTERM)

            async def exited() -> bool:
                return bot.proc.poll() is not None
            await until(exited, "the bot to stop")
            assert bot.proc.returncode == 0, bot.log_path.read_text()[-3000:]
            rows = await db.read(_deliveries, draft.id)
        finally:
            for child in bots:
                if child.proc.poll() is None:
                    child.proc.kill()
                child.stop()  # reaps it and closes its log
            await db.close()

        recipients = set(range(FIRST, FIRST + RECIPIENTS))
        calls = [c for c in state.calls(TOKEN, "sendMessage") if MARKER in (c["params"].get("text") or "")]
        requested = {c["chat_id"] for c in calls}
        hung_up = {c["chat_id"] for c in calls if c["status"] == 0}  # in flight when a process died
        server = state.deliveries(TOKEN, marker=MARKER, with_chat_ids=True, max_duplicates=RECIPIENTS)
        received = set(server["chat_ids"])
        uncertain = {chat for chat, status in rows if status == UNCERTAIN}
        duplicates = {int(chat) for chat in server["duplicates"]}
        misses = recipients - received
        print(f"\n{RECIPIENTS} recipients at {RATE:g}/s, {len(KILL_AT)} kills: {len(received)} reached, "
              f"{len(duplicates)} duplicates, {len(misses)} misses, {len(uncertain)} uncertain "
              f"({len(uncertain - requested)} without any request), {len(misses - uncertain)} misses not reported; "
              f"statuses {dict(Counter(status for _, status in rows))}")
        assert sorted(chat for chat, _ in rows) == sorted(recipients)
        assert not duplicates, sorted(duplicates)
        assert misses <= uncertain, sorted(misses - uncertain)
        assert uncertain <= requested, f"uncertain without a request: {sorted(uncertain - requested)}"
        assert set(held) | hung_up <= uncertain, (held, sorted(hung_up), sorted(uncertain))
        # Nothing else: the rest were sent once, after the restarts.
        assert {status for chat, status in rows if chat not in uncertain} == {"sent"}
        # The staff member who sent it is told how many are uncertain.
        report = state.messages(TOKEN, STAFF_ID)[-1]["text"]
        assert t.counts_lines(RECIPIENTS - len(uncertain), RECIPIENTS, 0, 0, len(uncertain))[-1] in report
