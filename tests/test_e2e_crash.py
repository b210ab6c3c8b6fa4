"""The bot as its own process, killed and restarted under voting load; and stopped by SIGTERM.

``test_sigkill_under_voting_load``: the loopback Bot API runs in this process, the bot runs as
``python -m bench.run_bot`` (the benchmark's runner: config.example.toml pointed at the server, a
clock an hour into voting shared across restarts), on a database seeded through the services
(bench.journey: approved, costed proposals in 8 neighbourhoods). CITIZENS simulated people start
the bot, pick their neighbourhood, every other one fills the ambassador form (name, neighbourhood,
groups, phone: steps that exist only as conversation state), then verify their phone and cast
three votes — all at once, no think time, each acting on the bot's last answer as a person would.
The bot is SIGKILLed CYCLES times, each after a seeded 6–16 % of the run's answers since it last
came up, and started again. One kill comes while getUpdates answers 502, after the bot has
handled the last batch it got: that batch, never confirmed, is delivered again to the next
process. Whoever's step was lost with the dead process (confirmed to it, never finished) sends it
again; what was still queued at the server is answered by the next process.

Checked:
- votes: every vote confirmed to a citizen (the «ثبت شد» toast, or ✅ on the ballot) is in the
  database; nobody has a vote twice, a vote they did not press, or more than the limit; everyone
  ends with exactly the three votes they meant, and every ambassador with one application;
- at each kill, each citizen's stored conversation state is the one the last answer they saw
  announced (states are committed before the reply), or one a step the dead process took and
  never answered moved them to; a citizen whose stored state is behind the last answer they saw
  lost a step: counted, printed and asserted 0 at the end;
- after each restart, a citizen mid-form whose state was intact continues from that step: their
  next answer is the next question (counted, must be > 0); an unexpected answer is allowed only
  as the first answer after a kill that lost that citizen's step in flight (counted);
- re-deliveries, from the server's log of what getUpdates handed out: after each restart, the
  updates handed to the dead process, unconfirmed and already marked are exactly those the new
  process logs as skipped; all unconfirmed ones were delivered again; what the last process
  handled is all marked (its SIGTERM flushed it); no callback query was answered twice (the
  server refuses a second answer), except for an update in the journal's documented window
  (handled, not yet marked, and delivered again — counted, expected 0);
- every kill came while at least a quarter of the citizens were still voting.
The figures are printed (pytest -s).

``test_sigterm_finishes_the_update_in_flight``: an update whose reply is in flight when SIGTERM
arrives still gets its reply, its conversation state and marker are saved, and the process exits
0 within a few seconds.

No fixed sleeps: every wait is on the server's wake-ups or polls the database with a deadline.
"""
from __future__ import annotations

import asyncio
import json
import random
import re
import signal
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bench.common import BOT_USERNAME, TOKEN, bench_config
from bench.journey import AUTHOR_BASE, Ballot, seed_database
from bot.devtools.localapi import LocalBotApi
from messages_fa import ambassadors as amb
from messages_fa import buttons as b
from messages_fa import texts

# slow: the bot as its own process, killed and restarted, against the loopback Bot API server
# (`pytest -m "not slow"` skips it).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261205
CITIZENS = 240
CYCLES = 4
REDELIVERY_CYCLE = 1  # the kill that comes while getUpdates answers 502
USER_BASE = 3_000_000
VOTES = 3
CONVERSATION = "telegram:citizen"
READY_WITHIN = 40.0  # a Python process importing PTB on a busy 2-core machine
WITHIN = 60.0  # the longest any one wait of the crash test may take

# What a citizen can see; the conversation state each answer leaves (UNCHANGED: a handler outside
# the conversation answered, so the state is whatever it was).
WELCOME, HOOD_SET, AMB_NAME, AMB_HOOD, AMB_GROUPS, AMB_PHONE = \
    "welcome", "hood_set", "amb_name", "amb_hood", "amb_groups", "amb_phone"
AMB_DONE, ASK_PHONE, VERIFIED, BALLOT, TOAST, NOT_UNDERSTOOD, MENU, OTHER = \
    "amb_done", "ask_phone", "verified", "ballot", "toast", "not_understood", "menu", "other"
UNCHANGED = object()
STATE_AFTER = {
    WELCOME: "hood", HOOD_SET: None, AMB_NAME: "amb_name", AMB_HOOD: "amb_hood", AMB_GROUPS: "amb_groups",
    AMB_PHONE: "amb_phone", AMB_DONE: None, ASK_PHONE: None, BALLOT: None, MENU: None,
    VERIFIED: UNCHANGED, TOAST: UNCHANGED, NOT_UNDERSTOOD: UNCHANGED, OTHER: UNCHANGED,
}
# The states a step can leave, whatever its answer would have been (for a step the dead process
# took and never answered: its state may be committed already).
ACTION_LEADS_TO = {
    "start": {"hood", None}, "hood": {None}, "amb": {"amb_name", "amb_hood", "amb_groups", "amb_phone", None},
    "name": {"amb_hood"}, "amb_hood": {"amb_groups"}, "groups": {"amb_phone"}, "amb_phone": {None},
    "contact": set(), "vote_menu": {None}, "vote": set(),
}
# A step that only makes sense in one conversation state, the state, and what answers it there.
IN_STATE = {
    "hood": ("hood", {HOOD_SET}),
    "name": ("amb_name", {AMB_HOOD}),
    "amb_hood": ("amb_hood", {AMB_GROUPS}),
    "groups": ("amb_groups", {AMB_PHONE}),
    "amb_phone": ("amb_phone", {AMB_DONE}),
}
VOTE_TOASTS = {texts.vote_recorded(n, VOTES) for n in range(1, VOTES + 1)}


def classify(message: dict) -> str:
    text = message.get("text") or ""
    if texts.choose_neighbourhood() in text:
        return WELCOME
    if text.startswith("محلهٔ شما: "):
        return HOOD_SET
    if text == amb.ask_name():
        return AMB_NAME
    if text == amb.ask_neighbourhood():
        return AMB_HOOD
    if text == amb.ask_groups():
        return AMB_GROUPS
    if text == amb.ask_phone():
        return AMB_PHONE
    if text in (amb.submitted(), amb.still_pending()):
        return AMB_DONE
    if text == texts.ask_phone():
        return ASK_PHONE
    if text in (texts.phone_verified(), texts.phone_already_verified()):
        return VERIFIED
    if text.startswith("پیشنهادهای محلهٔ"):
        return BALLOT
    if text == texts.not_understood():
        return NOT_UNDERSTOOD
    if "خوش آمدید" in text:
        return MENU
    return OTHER


def buttons(message: dict | None) -> list[str]:
    markup = (message or {}).get("reply_markup") or {}
    return [btn.get("callback_data") or "" for row in markup.get("inline_keyboard", []) for btn in row]


@dataclass
class Post:
    """One action of a citizen: the update it made and what answers it."""
    index: int
    action: str
    update_id: int
    after: int  # bot messages with a higher id came after it
    cq_id: str | None = None
    proposal: int | None = None  # a vote's
    lost: bool = False  # confirmed to a process that died without handling it
    settled: bool = False  # answered before a kill: accounted for in the citizen's base state


@dataclass
class Citizen:
    uid: int
    ballot: Ballot
    votes: list[int]
    ambassador: bool
    posts: list[Post] = field(default_factory=list)
    last_kind: str | None = None
    last_message: dict | None = None
    amb_done: bool = False
    verified: bool = False
    ballot_id: int | None = None
    toasts: set[int] = field(default_factory=set)  # proposals a toast confirmed
    finished: bool = False
    # The conversation state stored at the last kill: where the next process starts from.
    base: str | None = None
    # Set at a kill: the first answer after the restart is the continuation being checked.
    resume_from: int | None = None
    exempt: bool = False  # the step in flight at that kill was lost: its answer may surprise
    surprises: list[str] = field(default_factory=list)
    recovered: int = 0  # unexpected answers right after a restart that lost their step in flight
    was_behind: bool = False  # a kill lost the state of a step they had been answered
    continued: int = 0  # in-form steps answered as expected right after a restart
    nudge: asyncio.Event = field(default_factory=asyncio.Event)


class Crowd:
    """The citizens, the server they talk to, and the bookkeeping of kills and restarts."""

    def __init__(self, api: LocalBotApi, citizens: list[Citizen]) -> None:
        self.api, self.state = api, api.state
        self.citizens = citizens
        self.answered = 0  # steps answered so far (the kills' clock)
        self.progress = asyncio.Event()

    # -- what the server shows ------------------------------------------------------------------

    def answer(self, citizen: Citizen, post: Post) -> tuple[str, dict | None] | None:
        """The post's answer (kind, the message acted on next), once complete."""
        if post.action == "vote":
            reply = self.state.callback_answer(TOKEN, post.cq_id)
            if reply is None:
                return None
            return (TOAST if reply.get("text") in VOTE_TOASTS else OTHER), None
        if post.cq_id is not None and self.state.callback_answer(TOKEN, post.cq_id) is None:
            return None
        new = [m for m in self.state.messages(TOKEN, citizen.uid) if m["message_id"] > post.after]
        if not new:
            return None
        kind = classify(new[0])
        if kind == VERIFIED:  # the ballot follows in a second message
            ballot = next((m for m in new[1:] if classify(m) == BALLOT), None)
            return (VERIFIED, ballot) if ballot else None
        return kind, new[0]

    def reacted(self, citizen: Citizen, post: Post) -> bool:
        """Whether the bot did anything about the post at all (a first reply, a callback answer)."""
        if post.cq_id is not None and self.state.callback_answer(TOKEN, post.cq_id) is not None:
            return True
        return any(m["message_id"] > post.after for m in self.state.messages(TOKEN, citizen.uid))

    # -- acting -------------------------------------------------------------------------------

    def next_action(self, c: Citizen) -> str | None:
        kind = c.last_kind
        if kind is None:
            return "start"
        if kind in (WELCOME, AMB_NAME, AMB_HOOD, AMB_GROUPS, AMB_PHONE):
            return {WELCOME: "hood", AMB_NAME: "name", AMB_HOOD: "amb_hood", AMB_GROUPS: "groups",
                    AMB_PHONE: "amb_phone"}[kind]
        if c.ambassador and not c.amb_done:
            return "amb"
        if not c.verified:
            return "contact" if kind == ASK_PHONE else "vote_menu"
        if c.ballot_id is None:
            return "vote_menu"
        return "vote" if self.next_vote(c) is not None else None

    def ballot_message(self, c: Citizen) -> dict | None:
        return next((m for m in self.state.messages(TOKEN, c.uid) if m["message_id"] == c.ballot_id), None)

    def next_vote(self, c: Citizen) -> int | None:
        shown = buttons(self.ballot_message(c))
        # A ✅ (withdraw button) on the ballot tells the citizen the vote is in, toast or not.
        return next((p for p in c.votes if p not in c.toasts and f"w:{p}:0" not in shown), None)

    def act(self, c: Citizen, action: str) -> Post:
        s, uid = self.state, c.uid
        everything = s.messages(TOKEN, uid, include_user=True)
        after = everything[-1]["message_id"] if everything else 0
        cq_id = proposal = None
        if action == "start":
            sent = s.send_text(TOKEN, uid, "/start")
        elif action == "hood":
            sent = s.press(TOKEN, uid, c.last_message["message_id"], f"n:{c.ballot.neighbourhood_id}")
        elif action == "amb":
            sent = s.send_text(TOKEN, uid, "/ambassador")
        elif action == "name":
            sent = s.send_text(TOKEN, uid, f"شهروند آزمایشی {uid % 1000}")
        elif action == "amb_hood":
            sent = s.press(TOKEN, uid, c.last_message["message_id"], f"an:{c.ballot.neighbourhood_id}")
        elif action == "groups":
            sent = s.send_text(TOKEN, uid, "گروه همسایگان کوچهٔ ما\nکانال خبری محله")
        elif action in ("amb_phone", "contact"):
            sent = s.send_contact(TOKEN, uid)
        elif action == "vote_menu":
            sent = s.send_text(TOKEN, uid, b.VOTE)
        else:
            proposal = self.next_vote(c)
            sent = s.press(TOKEN, uid, c.ballot_id, f"v:{proposal}:0")
        if action in ("hood", "amb_hood", "vote"):
            cq_id = sent["callback_query_id"]
        else:
            after = sent["message_id"]
        post = Post(len(c.posts), action, sent["update_id"], after, cq_id, proposal)
        c.posts.append(post)
        return post

    async def run(self, c: Citizen) -> None:
        loop = asyncio.get_running_loop()
        bot = self.state.bot(TOKEN)
        while (action := self.next_action(c)) is not None:
            post = self.act(c, action)
            deadline = loop.time() + WITHIN
            while True:
                c.nudge.clear()  # before looking: a loss declared from now on wakes the wait
                seq = bot.chat_seq.get(c.uid, 0)
                answer = self.answer(c, post)
                if answer is not None or post.lost:
                    break
                remaining = deadline - loop.time()
                assert remaining > 0, f"citizen {c.uid}: no answer to {action} (update {post.update_id})"
                waits = [asyncio.ensure_future(self.state.watch(TOKEN, c.uid, seq, remaining)),
                         asyncio.ensure_future(c.nudge.wait())]
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                for wait in waits:
                    wait.cancel()
            if answer is None:
                continue  # lost with the dead process: the same step again
            self.absorb(c, post, *answer)
        c.finished = True

    def absorb(self, c: Citizen, post: Post, kind: str, message: dict | None) -> None:
        first_after_kill = c.resume_from is not None and post.index >= c.resume_from
        state, expected = IN_STATE.get(post.action, (None, None))
        if (kind == OTHER or expected is not None and kind not in expected):
            if first_after_kill and c.exempt:
                c.recovered += 1
            else:
                c.surprises.append(f"{post.action} (update {post.update_id}) answered {kind}, state stored "
                                   f"at the last kill {c.base!r}, first answer after it: {first_after_kill}")
        elif expected is not None and first_after_kill and not c.exempt and c.base == state:
            c.continued += 1
        if first_after_kill:
            c.resume_from, c.exempt = None, False
        if kind == TOAST:
            c.toasts.add(post.proposal)
        elif kind == AMB_DONE:
            c.amb_done = True
        elif kind == VERIFIED:
            c.verified, c.ballot_id = True, message["message_id"]
        elif kind == BALLOT:
            c.ballot_id = message["message_id"]
        if kind != TOAST:
            c.last_kind, c.last_message = kind, message
        self.answered += 1
        self.progress.set()

    async def until_answered(self, count: int) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WITHIN
        while self.answered < count and not all(c.finished for c in self.citizens):
            assert loop.time() < deadline, f"only {self.answered} answers, waited for {count}"
            self.progress.clear()
            try:
                await asyncio.wait_for(self.progress.wait(), deadline - loop.time())
            except TimeoutError:
                pass


# -- the bot's process and database ----------------------------------------------------------

class BotProcess:
    def __init__(self, url: str, database: Path, epoch: float, log: Path) -> None:
        self.url, self.database, self.epoch, self.log = url, database, epoch, log
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    def _log_file(self):
        log = open(self.log, "ab")  # noqa: SIM115 — closed by start()'s with, once the child has it
        log.write(f"--- start {self.starts}\n".encode())
        log.flush()
        return log

    async def start(self) -> None:
        self.starts += 1
        with self._log_file() as log:  # the child keeps its own copy of the descriptor
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.run_bot", "--api", self.url, "--db", str(self.database),
                "--clock-epoch", repr(self.epoch), "--log-level", "INFO", cwd=ROOT,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=log)
        line = await asyncio.wait_for(self.proc.stdout.readline(), READY_WITHIN)
        assert line.strip() == b"ready", f"bot did not start: {line!r}\n{self.tail()}"

    async def kill(self) -> None:
        self.proc.kill()
        await self.proc.wait()

    async def terminate(self, within: float) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), within)

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def skipped(self, start: int) -> list[int]:
        """Update ids the bot of the given start logged as handled before and skipped."""
        text = self.log.read_text(errors="replace").split(f"--- start {start}\n", 1)[1].split("--- start", 1)[0]
        return [int(n) for n in re.findall(r"telegram: update (\d+) was handled before the restart; skipped", text)]


def query(database: Path, sql: str, *params) -> list[tuple]:
    """The bot's database through a read-only connection, as an operator would look."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


async def settle(state) -> None:
    """Requests the dead process had already written are served (or dropped) before we look."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    seq = -1
    while state.in_flight or state.call_seq != seq:
        assert loop.time() < deadline, "the server kept serving a dead process"
        seq = state.call_seq
        await asyncio.sleep(0.01)


# -- the test ----------------------------------------------------------------------------------

async def test_sigkill_under_voting_load(tmp_path):
    rng = random.Random(SEED)
    started = time.monotonic()
    async with LocalBotApi(bots={TOKEN: BOT_USERNAME}) as api:
        state = api.state
        config = bench_config(api.url, tmp_path / "bot.sqlite3")
        ballots = await seed_database(config, SEED)
        citizens = []
        for n in range(CITIZENS):
            ballot = rng.choice(ballots)
            citizens.append(Citizen(USER_BASE + n, ballot, rng.sample(list(ballot.proposal_ids[:5]), VOTES),
                                    ambassador=n % 2 == 0))
        # The seeded authors are people the bot may write to (start-up tells them about decisions).
        state.add_users(TOKEN, AUTHOR_BASE + 1, 1000)
        crowd = Crowd(api, citizens)
        steps = sum(7 + 5 * c.ambassador for c in citizens)  # answers of an uninterrupted run
        # Each kill comes after a seeded share of the run's answers since the bot was last up.
        kill_after = [int(steps * rng.uniform(0.06, 0.16)) for _ in range(CYCLES)]
        kill_at = []

        bot = BotProcess(api.url, config.database, time.time(), tmp_path / "bot.log")
        await bot.start()
        people = asyncio.gather(*(crowd.run(c) for c in citizens))
        redelivery: list[tuple[int, set[int], set[int]]] = []  # (start after the kill, unconfirmed, marked)
        behind = ahead = mid_form = unmarked = 0
        window: set[int] = set()  # handled, unmarked and unconfirmed at a kill: may be handled twice
        try:
            for cycle, share in enumerate(kill_after):
                kill_at.append(crowd.answered + share)
                waiting = asyncio.ensure_future(crowd.until_answered(kill_at[-1]))
                await asyncio.wait({waiting, people}, return_when=asyncio.FIRST_COMPLETED)
                if people.done() and people.exception():
                    waiting.cancel()
                    people.result()  # a citizen's check failed: say which
                await waiting
                voting = sum(not c.finished for c in citizens)
                assert voting >= CITIZENS // 4, f"kill {cycle} would come after the load ({voting} still voting)"
                if cycle == REDELIVERY_CYCLE:
                    # From now on getUpdates fails: the batch the bot got last is never confirmed.
                    state.add_fault(method="getUpdates", kind="502", token=TOKEN)
                    await handled_and_unconfirmed(state, config.database)
                await bot.kill()
                await settle(state)
                unconfirmed = set(state.update_deliveries(TOKEN)["unconfirmed"])
                lost, at_kill, twice = check_at_kill(crowd, config.database, unconfirmed)
                window |= twice
                behind, ahead = behind + at_kill[0], ahead + at_kill[1]
                mid_form, unmarked = mid_form + at_kill[2], unmarked + at_kill[3]
                marked = marked_among(config.database, unconfirmed)
                redelivery.append((bot.starts + 1, unconfirmed, marked))
                if cycle == REDELIVERY_CYCLE:
                    assert marked, "the deliberate re-delivery has nothing handled to deliver again"
                    state.clear_faults()
                for citizen in lost:
                    citizen.nudge.set()
                await bot.start()
            await asyncio.wait_for(people, WITHIN)
            # Graceful at last: what the last updates left is committed before we look.
            assert await bot.terminate(20) == 0, bot.tail()
            calls = state.calls(TOKEN)
        finally:
            if not people.done():
                people.cancel()
            if bot.proc and bot.proc.returncode is None:
                await bot.terminate(20)

        # Re-deliveries: what was handled before a kill was skipped, exactly that, and the rest
        # was handled after the restart; nothing was answered twice.
        redelivered = {int(k): n for k, n in state.update_deliveries(TOKEN)["redelivered"].items()}
        for start, unconfirmed, marked in redelivery:
            assert unconfirmed <= redelivered.keys(), (start, unconfirmed - redelivered.keys())
            assert sorted(bot.skipped(start)) == sorted(marked), (start, marked)
        # What the last process handled is all marked: SIGTERM committed it on the way out.
        last_run = {p.update_id for c in citizens for p in c.posts if not p.settled and not p.lost}
        assert marked_among(config.database, last_run) == last_run
        # A press handled twice answers its callback query twice; the server refuses the second.
        in_window = {p.cq_id for c in citizens for p in c.posts if p.update_id in window}
        refused = [c for c in calls if c["method"] == "answerCallbackQuery" and c["status"] != 200
                   and c["params"].get("callback_query_id") not in in_window]
        assert not refused, refused[:3]

        # Votes: every confirmed one is in, none twice, none unasked, none over the limit.
        rows = query(config.database,
                     "SELECT c.user_id, v.proposal_id FROM votes v JOIN citizens c ON c.id = v.citizen_id")
        stored: dict[int, list[int]] = {}
        for user_id, proposal_id in rows:
            stored.setdefault(user_id, []).append(proposal_id)
        for c in citizens:
            confirmed = c.toasts | {p for p in c.votes if f"w:{p}:0" in buttons(crowd.ballot_message(c))}
            mine = stored.get(c.uid, [])
            assert sorted(mine) == sorted(set(mine)) and len(mine) <= VOTES, (c.uid, mine)
            assert confirmed <= set(mine) <= set(c.votes), (c.uid, confirmed, mine, c.votes)
            assert set(mine) == set(c.votes), (c.uid, "did not finish voting", mine, c.votes)
        applications = query(config.database, "SELECT c.user_id FROM ambassadors a JOIN citizens c"
                                              " ON c.id = a.citizen_id WHERE a.status = 'pending'")
        assert sorted(u for (u,) in applications) == sorted(c.uid for c in citizens if c.ambassador)

        # Conversations: nobody was surprised by a lost state, and the check had something to check.
        surprises = [f"{c.uid}: {s}" for c in citizens for s in c.surprises]
        assert not surprises, surprises[:10]
        continued = sum(c.continued for c in citizens)
        recovered = sum(c.recovered for c in citizens)
        assert mid_form and continued, (mid_form, continued)
        assert len(kill_at) == CYCLES and crowd.answered > kill_at[-1]
        # Finished flows leave no state, except where a kill lost the step that ended one (the
        # citizen voted on without passing through the conversation again).
        left = {json.loads(key)[0] for key, _ in query(config.database, "SELECT key, state FROM conversations")}
        assert left <= {c.uid for c in citizens if c.was_behind}, left
    elapsed = time.monotonic() - started
    print(f"\n{CITIZENS} citizens, {steps} steps planned, {sum(len(c.posts) for c in citizens)} sent, "
          f"kills after {kill_at} answers, {sum(redelivered.values()) - len(redelivered)} re-deliveries "
          f"({sum(len(m) for _, _, m in redelivery)} skipped as handled); at the kills {unmarked} steps answered "
          f"but not yet marked, {behind} citizens' state behind the last answer they saw (lost steps), "
          f"{ahead} moved on by a step the dead process never answered, "
          f"{mid_form} in a conversation with their state intact, {continued} of them continued at once, "
          f"{recovered} unexpected answers to steps lost in flight; {len(window)} updates in the documented "
          f"double-handling window; {len(left)} finished with a stale state; {elapsed:.1f} s")
    # The state a reply announced was committed before the reply: no kill lost a step anyone saw.
    assert behind == 0, behind


async def handled_and_unconfirmed(state, database: Path) -> set[int]:
    """Once getUpdates fails: wait until the bot got a batch it cannot confirm and has handled all
    of it (markers written), polling the database with a deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WITHIN
    while True:
        unconfirmed = set(state.update_deliveries(TOKEN)["unconfirmed"])
        if unconfirmed and marked_among(database, unconfirmed) == unconfirmed:
            return unconfirmed
        assert loop.time() < deadline, f"unconfirmed {sorted(unconfirmed)} never all handled"
        await asyncio.sleep(0.02)


def marked_among(database: Path, update_ids: set[int]) -> set[int]:
    marked = {u for (u,) in query(database, "SELECT update_id FROM processed_updates WHERE platform LIKE 'telegram:%'")}
    return marked & set(update_ids)


def check_at_kill(crowd: Crowd, database: Path,
                  unconfirmed: set[int]) -> tuple[list[Citizen], tuple[int, int, int], set[int]]:
    """The stored conversation states against what each citizen was answered; re-bases each
    citizen on the database (what the next process starts from) and marks the steps lost with
    the process. Returns the citizens who lost a step; counts: citizens whose stored state is
    behind their last answer (the step in flight), citizens in a conversation with their state
    intact, steps answered but not yet marked; and the updates in the journal's documented window
    (answered, not marked, and not confirmed either: the next process gets them again)."""
    stored = {json.loads(key)[0]: json.loads(value)
              for key, value in query(database, "SELECT key, state FROM conversations WHERE name = ?", CONVERSATION)}
    ids = {p.update_id for c in crowd.citizens for p in c.posts}
    marked = marked_among(database, ids)
    pending = {u["update_id"] for u in crowd.state.pending_updates(TOKEN)}
    lost, behind, ahead, mid_form, unmarked, window = [], 0, 0, 0, 0, set()
    for c in crowd.citizens:
        model, states, complete, lost_now = c.base, {}, [], []
        for post in c.posts:
            if post.settled or post.lost:
                continue
            answer = crowd.answer(c, post)
            if answer is None:
                if post.update_id not in pending:  # handed to the dead process, never finished
                    post.lost = True
                    lost.append(c)
                    lost_now.append(post)
                continue
            after = STATE_AFTER[answer[0]]
            model = model if after is UNCHANGED else after
            states[post.index] = model
            complete.append(post)
        db = stored.get(c.uid)
        # A step's state is committed before its answer is sent, so what a citizen was answered is
        # what is stored; only a step the dead process took and never answered may have moved it on.
        # Anything else is behind: the citizen saw a question the next process does not know about.
        moved_on = {state for post in lost_now for state in ACTION_LEADS_TO[post.action]}
        if db != model and db in moved_on:
            ahead += 1
        elif db != model:
            behind += 1
            c.was_behind = True
        # Reacted to but not marked, and delivered again to the next process: the journal's window.
        twice = {p.update_id for p in c.posts if not p.settled and p.update_id in unconfirmed
                 and p.update_id not in marked and crowd.reacted(c, p)}
        window |= twice
        c.exempt = db != model or bool(twice)
        mid_form += not c.exempt and db is not None
        unmarked += sum(post.update_id not in marked for post in complete)
        for post in complete:
            post.settled = True
        c.base = db
        # The first step the next process answers: one still queued at the server, or the next.
        c.resume_from = min((p.index for p in c.posts if not p.settled and not p.lost), default=len(c.posts))
    return lost, (behind, ahead, mid_form, unmarked), window


# -- SIGTERM -----------------------------------------------------------------------------------

async def test_sigterm_finishes_the_update_in_flight(tmp_path):
    async with LocalBotApi(bots={TOKEN: BOT_USERNAME}) as api:
        state = api.state
        config = bench_config(api.url, tmp_path / "bot.sqlite3")
        bot = BotProcess(api.url, config.database, time.time(), tmp_path / "bot.log")
        await bot.start()
        try:
            user = USER_BASE + 7
            # The reply to /start is held by the server for 2 s: SIGTERM comes while it is in flight.
            state.configure(timeout_seconds=2.0)
            state.add_fault(method="sendMessage", kind="timeout", chat_id=user, count=1)
            sent = state.send_text(TOKEN, user, "/start")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + WITHIN
            while state.faults[0].count:  # the reply has reached the server and is being held
                assert loop.time() < deadline, "the bot never sent its reply"
                await asyncio.sleep(0.01)
            assert state.messages(TOKEN, user) == []
            stopping = time.monotonic()
            code = await bot.terminate(within=15)
            took = time.monotonic() - stopping
        finally:
            if bot.proc.returncode is None:
                bot.proc.kill()
                await bot.proc.wait()
        assert code == 0, bot.tail()
        assert took < 10, took
        [welcome] = state.messages(TOKEN, user)
        assert classify(welcome) == WELCOME
        assert query(config.database, "SELECT key, state FROM conversations") == [(f"[{user}, {user}]", '"hood"')]
        assert query(config.database, "SELECT update_id FROM processed_updates") == [(sent["update_id"],)]
        assert state.pending_updates(TOKEN) == []  # confirmed on the way out: not delivered again
        log = bot.log.read_text()
        assert "stopping" in log and "Traceback" not in log, bot.tail()
