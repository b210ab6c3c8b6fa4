"""End to end under a failing messenger: timeouts, dropped connections, 5xx and 429 on a share
of the bot's replies (sendMessage, editMessageText, answerCallbackQuery) and of its long polls.

Four citizens, two per messenger, walk from /start to a tracking code at once. Who is asked to
act again, and why:
- a failed edit or callback answer is the bot's business: the transport repeats it (it is
  harmless to repeat; bot/messenger/transport.py), so nobody notices;
- a failed sendMessage is not repeated — after a timeout or a drop it may have arrived, and
  repeating it would send the answer twice — so the update ends in the error handler, which
  logs it once and says «try again» (as an alert on the pressed button, or as a message when the
  press was answered already; that may fail too). The citizen then does what a person does:
  sends the same thing or presses the same button again, or, when that button is no longer
  there, takes the menu's way back to the same step.
The test holds the bot to: every journey completes with one proposal each, each step's question
is shown once, every person's retry was caused by a failed sendMessage (never by a failed edit or
answer that the bot could repeat), each failed update is logged exactly once with its messenger
and update id, nothing else logs an error but the poller, polling recovers, and no token appears.
"""
from __future__ import annotations

import asyncio
import collections
import json
import logging
import time
import traceback
from collections.abc import Callable

import pytest
from telegram import Bot, Update
from telegram.error import NetworkError, TimedOut

import bot.runtime
from bot.devtools.localapi import ControlError, LocalBotApi
from bot.messenger.transport import SAFE_TO_REPEAT, AiohttpRequest
from messages_fa import buttons as b
from messages_fa import texts
from tests.support.e2e import (
    TOKENS,
    Harness,
    Person,
    containing,
    leaked_tokens,
    text_of,
)
from tests.support.e2e_journeys import GREEN, WELCOME

# slow: starts the loopback Bot API server and the bot's real polling loop (`pytest -m "not slow"` skips it).
pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")]

TG, BALE = "telegram", "bale"
# The bot's HTTP client gives up on a silent server after this long. The server's "timeout"
# fault stalls longer than that plus the long poll (the Harness polls for 1 s), so a stalled
# call really times out on the bot's side, getUpdates included.
CLIENT_TIMEOUT = 1.0  # generous: a slow CI machine must not turn a healthy call into a timeout
SERVER_STALL = 3.0
ATTEMPTS = 8  # a person tries one step this many times at most
STEP_WAIT = 8.0  # the longest a person waits for one answer (a 429 holds every call for 1 s)
REPLIES = ("sendMessage", "editMessageText", "answerCallbackQuery")
FAILED = ("timeout", "drop", "500", "502")
SORRY = texts.error_try_again()


@pytest.fixture
async def faulty(tmp_path, caplog, monkeypatch):
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="bot.messenger.transport")

    def short_timeouts(transport: str, pool_size: int) -> AiohttpRequest:
        return AiohttpRequest(connection_pool_size=pool_size, read_timeout=CLIENT_TIMEOUT,
                              write_timeout=CLIENT_TIMEOUT, connect_timeout=CLIENT_TIMEOUT)

    monkeypatch.setattr(bot.runtime, "make_request", short_timeouts)
    async with Harness(tmp_path, latency=0.002) as harness:
        harness.state.configure(timeout_seconds=SERVER_STALL, seed=20251126)
        await harness.start()
        yield harness


class ErrorWatch:
    """An error handler added after the bot's own: it runs once the bot's has finished with an
    update (logged it, said or tried to say «try again»), i.e. when the bot has nothing more to
    say about it. A person who got nothing acts again then, without anybody sleeping."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int | None]] = []  # (token, chat id), in the order handled
        self.changed = asyncio.Event()

    async def __call__(self, update: object, context) -> None:
        chat = update.effective_chat.id if isinstance(update, Update) and update.effective_chat else None
        self.seen.append((context.bot.token, chat))
        self.changed.set()

    def gave_up(self, person: Person, since: int) -> bool:
        """The bot gave up on an update of this person's after the `since`-th one (see mark())."""
        return (person.token, person.id) in self.seen[since:]

    def mark(self) -> int:
        return len(self.seen)


# The Bot methods behind the calls under fault, as they appear in a traceback's frames.
FAILING_CALLS = {"send_message": "sendMessage", "edit_message_text": "editMessageText",
                 "edit_message_reply_markup": "editMessageReplyMarkup", "answer_callback_query": "answerCallbackQuery"}


def failed_call(record: logging.LogRecord) -> str:
    """The Bot API method whose failure ended the update in the error handler."""
    frames = [frame.name for frame in traceback.extract_tb(record.exc_info[1].__traceback__)]
    return next(FAILING_CALLS[name] for name in reversed(frames) if name in FAILING_CALLS)


class Journey:
    """One citizen's way to a tracking code, acting again whenever the bot gave up."""

    def __init__(self, harness: Harness, person: Person, errors: ErrorWatch) -> None:
        self.harness, self.person, self.errors = harness, person, errors
        self.state = harness.state
        self.retries: list[str] = []  # the steps the person had to do again

    async def step(self, what: str, act: Callable[[], object], done: Callable[[list[dict]], object],
                   again: Callable[[], object] | None = None) -> None:
        for attempt in range(ATTEMPTS):
            since = self.errors.mark()
            (act if attempt == 0 or again is None else again)()
            if await self.answered(done, since):
                return
            self.retries.append(what)
        raise AssertionError(f"{self.person.platform}:{self.person.id} {what}: no answer after {ATTEMPTS} attempts")

    async def answered(self, done: Callable[[list[dict]], object], since: int) -> bool:
        """Wait for the step's answer (True) or for the bot to give up on the update (False),
        waking on every call in the chat and on every update the error handler finished."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STEP_WAIT
        person = self.person
        while True:
            seq = self.state.call_seq
            if done(person.messages()):
                return True
            if self.errors.gave_up(person, since):
                return False
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"{person.platform}:{person.id}: neither an answer nor «try again» within "
                                     f"{STEP_WAIT}s; last messages: {person.texts()[-2:]}")
            self.errors.changed.clear()
            waits = [asyncio.ensure_future(self.state.wait_for_call(person.token, chat_id=person.id, after=seq,
                                                                    timeout=remaining)),
                     asyncio.ensure_future(self.errors.changed.wait())]
            await asyncio.wait(waits, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            for task in waits:
                task.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    def send(self, text: str) -> Callable[[], object]:
        return lambda: self.state.send_text(self.person.token, self.person.id, text)

    def tap(self, label: str, otherwise: Callable[[], object] | None = None) -> Callable[[], object]:
        """Press `label`; when the bot has taken that button away, do `otherwise`."""
        def press():
            try:
                return self.state.press_button(self.person.token, self.person.id, label)
            except ControlError:
                if otherwise is None:
                    raise
                return otherwise()
        return press

    async def run(self, hood: str, title: str) -> None:
        await self.step("start", self.send("/start"), containing(WELCOME))
        await self.step("neighbourhood", self.tap(hood), containing(f"محلهٔ شما: {hood} ✅"))
        await self.step("send proposal", self.tap(b.SEND_PROPOSAL), containing("گام ۱ از ۴"))
        # The category message loses its buttons when pressed; "send proposal" (typed: the
        # keyboard on screen may be a step's) resumes the draft.
        await self.step("category", self.tap(GREEN), containing("گام ۲ از ۴"),
                        again=self.tap(GREEN, otherwise=self.send("ارسال پیشنهاد")))
        await self.step("title", self.send(title), containing("گام ۳ از ۴"))
        await self.step("description", self.send(f"شرح «{title}»: برای آزمودن ربات هنگام خطای شبکه."),
                        containing("گام ۴ از ۴"))
        await self.step("no photo", self.tap(b.CONTINUE), containing(f"عنوان: {title}"))
        # Confirming commits first; if the answer is lost, "my proposals" shows the tracking code.
        await self.step("confirm", self.tap(b.CONFIRM), containing("کد پیگیری"),
                        again=self.tap(b.CONFIRM, otherwise=self.send("پیشنهادهای من")))


def inject_faults(state) -> None:
    """On a share of the calls, while the counts last (the rules are tried in this order)."""
    for method in REPLIES:
        state.add_fault(method, "timeout", rate=0.12, count=4)
        state.add_fault(method, "drop", rate=0.12, count=4)
        state.add_fault(method, "500", rate=0.05, count=1)
        state.add_fault(method, "502", rate=0.05, count=1)
        if method != "sendMessage":
            # Done, and then the answer is lost: the repetition finds the work already done.
            state.add_fault(method, "timeout", rate=0.1, count=2, perform=True)
            state.add_fault(method, "drop", rate=0.1, count=2, perform=True)
    state.add_fault("sendMessage", "429", rate=0.05, count=2, retry_after=1)
    state.add_fault("getUpdates", "timeout", rate=0.2, count=2)
    state.add_fault("getUpdates", "drop", rate=0.2, count=2)
    state.add_fault("getUpdates", "502", rate=0.2, count=1)


async def test_journeys_complete_through_timeouts_drops_5xx_and_429(faulty, caplog):
    h = faulty
    state = h.state
    people = [h.person(TG, 8101), h.person(TG, 8102), h.person(BALE, 8201), h.person(BALE, 8202)]
    started = time.monotonic()
    seq = state.call_seq
    inject_faults(state)

    errors = ErrorWatch()
    for application in h.runtime.applications.values():
        application.add_error_handler(errors)
    journeys = [Journey(h, p, errors) for p in people]
    await asyncio.wait_for(asyncio.gather(*(j.run("نیاوران", f"پیشنهاد {p.id}") for j, p in zip(journeys, people, strict=True))),
                           60)
    calls = state.calls(since=seq)
    fired = collections.Counter((c["method"], c["fault"]) for c in calls if c["fault"])
    assert sum(n for (method, _), n in fired.items() if method in REPLIES) >= 8, fired

    # One proposal each, nothing stored twice; each question shown once.
    rows = await h.query("SELECT c.user_id, p.title FROM proposals p JOIN citizens c ON c.id = p.citizen_id"
                         " ORDER BY c.user_id")
    assert rows == [(p.id, f"پیشنهاد {p.id}") for p in sorted(people, key=lambda p: p.id)]
    for person in people:
        shown = person.texts()
        for question in ("گام ۱ از ۴", "گام ۲ از ۴", "گام ۳ از ۴", "گام ۴ از ۴"):
            assert len([t for t in shown if question in t]) == 1, (person.id, question, shown)

    # What the bot repeated by itself (the transport's DEBUG lines): edits and answers, never a
    # sendMessage (all of whose failures here came after the connection was made).
    repeated = collections.Counter(r.args[0] for r in caplog.records
                                   if r.name == "bot.messenger.transport" and r.msg.startswith("%s failed"))
    assert repeated and set(repeated) <= SAFE_TO_REPEAT, repeated
    # Logs: each update that ended in the error handler is logged exactly once, with its
    # messenger and update id; the only other errors are the poller's; no token anywhere.
    failures = [r for r in caplog.records if r.name == "handlers.errors"]
    ids = [(r.platform, r.update_id) for r in failures]
    assert len(ids) == len(set(ids)) and all(isinstance(update_id, int) for _, update_id in ids), ids
    for r in failures:
        assert r.getMessage() == f"{r.platform}: update {r.update_id} failed: {r.exc_info[1].__class__.__name__}"
        assert isinstance(r.exc_info[1], (TimedOut, NetworkError))
    # Every person's retry followed the error handler's «try again», and what had failed there was
    # a reply (sendMessage) — or an edit or answer that failed three times in a row.
    retries = [what for j in journeys for what in j.retries]
    assert len(failures) >= len(retries) > 0
    causes = collections.Counter(failed_call(r) for r in failures)
    attempts = collections.Counter((c["method"], json.dumps(c["params"], sort_keys=True)) for c in calls
                                   if c["method"] in SAFE_TO_REPEAT and c["fault"] in FAILED)
    exhausted = collections.Counter(method for (method, _), n in attempts.items() if n >= 3)
    assert causes["sendMessage"] > 0
    for method in SAFE_TO_REPEAT:
        assert causes[method] <= exhausted[method], (causes, exhausted)
    others = [f"{r.name}: {r.getMessage()}" for r in caplog.records
              if r.levelno >= logging.ERROR and r.name not in ("handlers.errors", "telegram.ext.Updater")]
    assert not others, others
    assert not leaked_tokens(caplog)

    # Polling recovers: every remaining long poll of each bot fails once by timeout and once
    # by a dropped connection, then a newcomer on each messenger is answered.
    state.clear_faults()
    seq = state.call_seq
    for token in TOKENS.values():
        state.add_fault("getUpdates", "timeout", count=1, token=token)
        state.add_fault("getUpdates", "drop", count=1, token=token)
    await h.until(lambda: len([c for c in state.calls(since=seq) if c["method"] == "getUpdates" and c["fault"]]) == 4,
                  timeout=STEP_WAIT, what="a timeout and a drop on each bot's long poll")
    for platform in (TG, BALE):
        newcomer = h.person(platform, 8301)
        state.send_text(newcomer.token, newcomer.id, "/start")
        [welcome] = await state.wait_for_messages(newcomer.token, newcomer.id, 1, timeout=STEP_WAIT)
        assert WELCOME in text_of(welcome)
    polls = [c for c in state.calls(since=seq) if c["method"] == "getUpdates" and c["fault"]]
    assert sorted((c["token"], c["fault"]) for c in polls) == sorted(
        (token, kind) for token in TOKENS.values() for kind in ("timeout", "drop"))
    assert not leaked_tokens(caplog)
    assert time.monotonic() - started < 30


async def test_a_press_whose_reply_is_lost_still_gets_try_again(faulty, caplog):
    """Handlers answer a press before replying, so when the reply is lost the error handler does
    not answer the press again (the messenger would refuse it): «try again» is sent as a message
    instead of leaving the citizen with an edited keyboard and nothing else."""
    h = faulty
    citizen = h.person(TG, 8401)
    [welcome] = await citizen.send("/start")
    assert WELCOME in text_of(welcome)
    h.state.add_fault("sendMessage", "drop", count=1, chat_id=citizen.id)
    pressed = h.state.press_button(citizen.token, citizen.id, "تجریش")
    [sorry] = await citizen.wait_text(SORRY)
    assert text_of(sorry) == SORRY and sorry["message_id"] > welcome["message_id"]
    answers = citizen.answers(pressed["callback_query_id"])
    assert [(a["status"], a["params"].get("text")) for a in answers] == [(200, None)]  # answered once
    [failure] = [r for r in caplog.records if r.name == "handlers.errors"]
    assert failure.getMessage().startswith("telegram: update ") and failure.getMessage().endswith("NetworkError")
    # Pressing again works: the neighbourhood buttons are still there.
    await citizen.press("تجریش", until=containing("محلهٔ شما: تجریش ✅"))


# --- the transport's repetitions, one call at a time ---------------------------------------------


@pytest.fixture
async def server():
    token = TOKENS[TG]
    async with LocalBotApi(bots={token: "manshahrdaram_bot"}, timeout_seconds=SERVER_STALL) as api:
        api.state.add_user(55)
        api.state.send_text(token, 55, "hello")
        async with Bot(token, base_url=api.bot_base_url,
                       request=AiohttpRequest(read_timeout=CLIENT_TIMEOUT, write_timeout=CLIENT_TIMEOUT,
                                              connect_timeout=CLIENT_TIMEOUT)) as telegram_bot:
            yield api, telegram_bot


async def _logged(api, method: str, count: int) -> None:
    while len(api.state.calls(method=method)) < count:
        await api.state.wait_for_call(TOKENS[TG], method, after=api.state.call_seq, timeout=SERVER_STALL)


def _attempts(api, method: str) -> list[tuple[int, str | None]]:
    return [(c["status"], c["fault"]) for c in api.state.calls(method=method)]


@pytest.mark.parametrize("fault", ["timeout", "drop", "502"])
async def test_an_edit_that_fails_once_is_repeated(server, fault):
    api, telegram_bot = server
    sent = await telegram_bot.send_message(55, "پرسش")
    api.state.add_fault("editMessageText", fault, count=1)
    edited = await telegram_bot.edit_message_text("پاسخ", chat_id=55, message_id=sent.message_id)
    assert edited.text == "پاسخ"
    await _logged(api, "editMessageText", 2)
    assert _attempts(api, "editMessageText") == [(0 if fault != "502" else 502, fault), (200, None)]


async def test_an_answer_done_but_lost_counts_as_done(server):
    """The server answered the press, then the connection dropped: the repetition hears «query is
    too old» (answered already), which is success, not an error for the citizen."""
    api, telegram_bot = server
    api.state.send_text(TOKENS[TG], 55, "x")
    message = await telegram_bot.send_message(55, "دکمه", reply_markup={"inline_keyboard": [[
        {"text": "بزن", "callback_data": "x"}]]})
    pressed = api.state.press_button(TOKENS[TG], 55, "بزن", message_id=message.message_id)
    api.state.add_fault("answerCallbackQuery", "drop", count=1, perform=True)
    assert await telegram_bot.answer_callback_query(pressed["callback_query_id"]) is True
    await _logged(api, "answerCallbackQuery", 2)
    assert _attempts(api, "answerCallbackQuery") == [(0, "drop"), (400, None)]


async def test_a_message_that_may_have_arrived_is_not_sent_again(server):
    api, telegram_bot = server
    api.state.add_fault("sendMessage", "drop", count=1, perform=True)
    with pytest.raises(NetworkError):
        await telegram_bot.send_message(55, "فقط یک بار")
    api.state.add_fault("sendMessage", "timeout", count=1)
    with pytest.raises(TimedOut):
        await telegram_bot.send_message(55, "شاید رسیده باشد")
    await _logged(api, "sendMessage", 2)  # a timed-out call is logged when the server notices
    assert _attempts(api, "sendMessage") == [(0, "drop"), (0, "timeout")]
    assert [m["text"] for m in api.state.messages(TOKENS[TG], 55)] == ["فقط یک بار"]


async def test_a_message_that_never_left_is_sent_again():
    """Nothing listens: the connection is refused, so the request cannot have arrived anywhere."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    request = AiohttpRequest(connect_timeout=CLIENT_TIMEOUT)
    async with request:
        with pytest.raises(NetworkError):
            await request.post(f"http://127.0.0.1:{port}/bot{TOKENS[TG]}/sendMessage",
                               request_data=None)
    assert request.calls_made == 3
