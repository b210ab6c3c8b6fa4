"""bot/cluster/reply_ledger.py: an update whose replies went out, handled again after its worker was
killed before the update was marked done, is not answered a second time."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from telegram.request import BaseRequest

from bench.common import BOT_USERNAME, TOKEN, bench_config, voting_clock
from bot.cluster.receiver import Receiver, make_bots
from bot.cluster.reply_ledger import LedgerRequest, ReplyLedger, changes
from bot.cluster.worker import InboxWorker
from bot.devtools.localapi import LocalBotApi
from bot.runtime import Runtime
from storage.inbox import InboxRepository
from storage.reply_ledger import LedgerCall, ReplyLedgerRepository
from tests.support.waiting import until

USER = 4_300_001



def test_which_calls_are_recorded():
    for method in ("sendMessage", "sendPhoto", "editMessageText", "editMessageReplyMarkup", "answerCallbackQuery",
                   "copyMessage", "forwardMessage", "deleteMessage", "setMessageReaction"):
        assert changes(method), method
    for method in ("getMe", "getUpdates", "sendChatAction", "setMyCommands", "deleteWebhook", "getFile",
                   "setWebhook", "getChatMember"):
        assert not changes(method), method


class Recording(BaseRequest):
    """A transport that answers every call with a message and remembers what was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict]] = []

    @property
    def read_timeout(self):
        return 1.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(self, url, method, request_data=None, *args) -> tuple[int, bytes]:
        self.sent.append((url.rsplit("/", 1)[-1], request_data.parameters if request_data else {}))
        return 200, b'{"ok": true, "result": %d}' % len(self.sent)


class MemoryRepo(ReplyLedgerRepository):
    def __init__(self) -> None:
        self.rows: list[LedgerCall] = []

    async def record(self, calls):
        # As the table: a call's answer replaces its leaving (one row per update and seq).
        for call in calls:
            key = (call.platform, call.update_id, call.seq)
            self.rows = [c for c in self.rows if (c.platform, c.update_id, c.seq) != key] + [call]
        self.rows.sort(key=lambda c: (c.platform, c.update_id, c.seq))

    async def calls_of(self, platform, update_id):
        return sorted((c for c in self.rows if (c.platform, c.update_id) == (platform, update_id)),
                      key=lambda c: c.seq)


def _data(**parameters):
    """As much of PTB's RequestData as the ledger reads."""
    return SimpleNamespace(parameters=parameters)


async def test_a_rerun_gets_the_recorded_answers_and_sends_only_what_it_did_not_send_before():
    """Matching is per (method, chat), in order: the re-run's answer and edit may come in the other
    order; a call the first run never made goes out (and is recorded after the others)."""
    repo = MemoryRepo()
    first, again = Recording(), Recording()
    ledger = ReplyLedger(repo)
    request = LedgerRequest(first, ledger)
    url = "http://api/botTOKEN/"
    with ledger.handling(await ledger.calls_for("telegram", 7, attempts=1)):
        assert (await request.do_request(url + "answerCallbackQuery", "POST", _data(callback_query_id="q1")))[0] == 200
        await request.do_request(url + "editMessageText", "POST", _data(chat_id=5, text="a"))
        await request.do_request(url + "getMe", "POST")  # changes nothing: never recorded
    await ledger.flush()
    assert [(c.seq, c.method, c.chat_id) for c in repo.rows] == [
        (1, "answerCallbackQuery", "q1"), (2, "editMessageText", "5")]
    outside = await request.do_request(url + "sendMessage", "POST", _data(chat_id=5, text="x"))  # no update
    assert outside[0] == 200 and len(repo.rows) == 2

    request = LedgerRequest(again, ledger)
    with ledger.handling(await ledger.calls_for("telegram", 7, attempts=2)) as calls:
        edit = await request.do_request(url + "editMessageText", "POST", _data(chat_id=5, text="a"))
        answer = await request.do_request(url + "answerCallbackQuery", "POST", _data(callback_query_id="q1"))
        await request.do_request(url + "sendMessage", "POST", _data(chat_id=5, text="new"))
        await request.do_request(url + "getMe", "POST")
    await ledger.flush()
    assert edit == (200, b'{"ok": true, "result": 2}') and answer == (200, b'{"ok": true, "result": 1}')
    assert [m for m, _ in again.sent] == ["sendMessage", "getMe"]
    assert (calls.replayed, calls.sent_anew) == (2, 1)
    assert [(c.seq, c.method) for c in repo.rows][2:] == [(3, "sendMessage")]


async def test_a_call_is_recorded_before_it_leaves_and_one_in_flight_at_the_kill_is_sent_again():
    """The ledger has each new message before the messenger does: a worker killed while a call was out (sent,
    its answer not recorded) leaves a row without an answer, and the re-run sends that call again,
    counted as in flight (the one duplicate nothing can rule out); a call the messenger refused (429)
    is not matched at all: PTB's retry of it is the next row."""
    repo = MemoryRepo()
    ledger = ReplyLedger(repo)
    url = "http://api/botTOKEN/"

    class Seen(Recording):
        async def do_request(self, url, method, request_data=None, *args):
            name = url.rsplit("/", 1)[-1]
            # What the ledger holds as a new message leaves: the call itself, without an answer (an
            # answer or an edit, harmless twice, does not wait for its record).
            if name == "sendMessage":
                assert [(c.method, c.status) for c in repo.rows if c.seq == len(self.sent) + 1] == [(name, 0)]
            if name == "answerCallbackQuery" and not any(m == name for m, _ in self.sent):
                self.sent.append((name, {}))
                return 429, b'{"ok": false, "error_code": 429, "parameters": {"retry_after": 1}}'
            return await super().do_request(url, method, request_data, *args)

    first = Seen()
    request = LedgerRequest(first, ledger)
    with ledger.handling(await ledger.calls_for("telegram", 8, attempts=1)):
        assert (await request.do_request(url + "answerCallbackQuery", "POST", _data(callback_query_id="q1")))[0] == 429
        await request.do_request(url + "answerCallbackQuery", "POST", _data(callback_query_id="q1"))
        await request.do_request(url + "sendMessage", "POST", _data(chat_id=5, text="a"))
    await ledger.flush()
    # The kill: the message's answer never reached the ledger.
    repo.rows[-1] = LedgerCall("telegram", 8, 3, "sendMessage", "5", 0, "")
    assert [(c.seq, c.status) for c in repo.rows] == [(1, 429), (2, 200), (3, 0)]

    again = Recording()
    request = LedgerRequest(again, ledger)
    with ledger.handling(await ledger.calls_for("telegram", 8, attempts=2)) as calls:
        answer = await request.do_request(url + "answerCallbackQuery", "POST", _data(callback_query_id="q1"))
        await request.do_request(url + "sendMessage", "POST", _data(chat_id=5, text="a"))
    await ledger.flush()
    assert answer[0] == 200 and [m for m, _ in again.sent] == ["sendMessage"]
    assert (calls.replayed, calls.in_flight, calls.sent_anew) == (1, 1, 0)
    assert [(c.seq, c.status) for c in repo.rows] == [(1, 429), (2, 200), (3, 200)]


@pytest.mark.parametrize("recorded", [True, False], ids=["ledger", "no-ledger"])
async def test_an_update_taken_over_after_its_replies_went_out_is_not_answered_again(pg_url, pg_open, recorded):
    """Worker A handles a citizen's press (answer + next message), and is killed before the commit that
    marks it done (its commit fails, its claim is not renewed). Worker B takes it over once the claim
    expires and handles it again: the messenger sees each call once. Without the ledger (the control)
    the press is answered twice — the messenger refuses the second answer — and the reply sent twice."""
    async with LocalBotApi(bots={TOKEN: BOT_USERNAME}) as api:
        state = api.state
        config = bench_config(api.url, pg_url)
        clock = voting_clock(config)
        inbox = InboxRepository(await pg_open())
        ledgers = [ReplyLedger(), ReplyLedger()]
        runtimes = [Runtime(config, clock, updater=False, wrap_request=ledger.wrap if recorded else None)
                    for ledger in ledgers]
        [bot] = make_bots(config).values()
        await bot.initialize()
        polling = asyncio.ensure_future(Receiver(config, inbox).poll("telegram", bot, timeout=1))
        workers = []
        try:
            for runtime in runtimes:
                await runtime.start(polling=False)
            a = InboxWorker(runtimes[0], InboxRepository(runtimes[0].db), name="a", concurrency=8, claim_seconds=1.0,
                            ledger=ledgers[0] if recorded else None)
            workers.append(a)
            await a.start()
            started = state.send_text(TOKEN, USER, "/start")
            await until(lambda: a.handled == 1 and not a._held, "/start handled and done")
            welcome = [m for m in state.messages(TOKEN, USER) if m["message_id"] > started["message_id"]]
            assert welcome

            # A's commit of "done" never happens: it is killed in that window.
            journal = runtimes[0].applications["telegram"].persistence.journal
            real = journal.repo.record

            async def killed_before_done(key, update_ids, states, now):
                ids = list(update_ids)
                if ids:
                    raise ConnectionError("killed")
                return await real(key, ids, states, now)
            journal.repo.record = killed_before_done
            since = state.calls(TOKEN)[-1]["seq"] if state.calls(TOKEN) else 0
            pressed = state.press(TOKEN, USER, welcome[-1]["message_id"], f"n:{config.neighbourhoods[2].id}")
            await until(lambda: a.handled == 2, "the press handled by A")
            await ledgers[0].flush()  # the ledger's commit came before the kill
            for task in a._loops:  # SIGKILL: no more claims, no renewal, nothing given back
                task.cancel()
            await asyncio.gather(*a._loops, return_exceptions=True)
            a._loops = []
            await asyncio.to_thread(a._keeper.stop)

            def mutating():
                return [(c["method"], c["status"]) for c in state.calls(TOKEN, chat_id=USER, since=since)
                        if changes(c["method"])]
            by_a = mutating()
            assert ("answerCallbackQuery", 200) in by_a and len(by_a) >= 2, by_a

            b = InboxWorker(runtimes[1], InboxRepository(runtimes[1].db), name="b", concurrency=8,
                            ledger=ledgers[1] if recorded else None)
            workers.append(b)
            await b.start()
            await until(lambda: b.handled == 1 and not b._held, "the press taken over by B and done")
            row = await inbox.db.read(lambda conn: conn.execute(
                "SELECT attempts, claimed_by, done_at IS NOT NULL FROM inbox WHERE update_id = ?",
                (pressed["update_id"],)).fetchone())
            assert tuple(row) == (2, "b", True)
            if recorded:
                assert mutating() == by_a  # nothing sent again
                assert state.callback_answer(TOKEN, pressed["callback_query_id"]) is not None
                assert ledgers[1].replayed == len(by_a) and ledgers[1].sent_anew == 0
                # The ledger's rows go with their inbox row.
                count = "SELECT count(*) FROM reply_ledger WHERE update_id = ?"
                assert await inbox.db.read(lambda conn: conn.execute(count, (pressed["update_id"],)).fetchone()[0]) == len(by_a)
                await inbox.db.write(lambda conn: conn.execute("UPDATE inbox SET done_at = now() - interval '2 days' "
                                                               "WHERE done_at IS NOT NULL"))
                assert await inbox.prune() >= 2
                assert await inbox.db.read(lambda conn: conn.execute("SELECT count(*) FROM reply_ledger").fetchone()[0]) == 0
            else:
                again = mutating()[len(by_a):]
                assert ("answerCallbackQuery", 400) in again, again  # the window this ledger closes
        finally:
            polling.cancel()
            await asyncio.gather(polling, return_exceptions=True)
            await bot.shutdown()
            for worker in workers[1:]:
                await worker.stop()
            await ledgers[0].close()  # A's writer (its worker was "killed", never stopped)
            for runtime in runtimes:
                await runtime.stop()
