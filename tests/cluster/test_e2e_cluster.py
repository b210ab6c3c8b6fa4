"""End to end on loopback: the local Bot API server (in this process), one receiver (polling) and three
workers (``python -m bench.cluster receiver|worker``: bot/cluster/ on config.example.toml pointed at the
server), PostgreSQL, CITIZENS citizens voting at once; workers are SIGKILLed several times and the
receiver once, each restarted at once.

Each simulated citizen (tests/test_e2e_crash.py's: /start, neighbourhood, every other one the
ambassador form — steps that exist only as conversation state —, phone, three votes) acts on the bot's
answer to their previous step once that step's update is done in the inbox: everything the bot said
about it has been sent by then, duplicates included, so each answer is counted against the step it
answers.

Checked:
- every update the citizens sent is in the inbox once and done; a killed receiver's batch that was
  never confirmed is delivered again and stored once;
- every step is answered exactly once (its messages, its callback answer: the server refuses a second),
  except the updates a killed worker held at the kill: one claimed, handled (its reply out) and not yet
  marked done is handled again by the worker that takes it over, from the conversation states its first
  attempt found, and those are answered at least once. The reply ledger (bot/cluster/reply_ledger.py)
  answers such a re-run from what the first attempt recorded (updates so answered: > 0, from the
  workers' logs); it records each call before it leaves, so what it leaves answered twice is only ever
  an update with a call out at the messenger, its answer not recorded, when the worker died ("in
  flight", from the workers' logs): asserted. The kills here come right after bursts of answers, so
  that count follows how many replies were milliseconds old: printed, not bounded (issue 15 asks for
  exactly once: not met for those; nothing can know whether a call in flight arrived);
- no person's answers out of order: each step's answer is the one that step leads to (for the window's
  updates: whatever their re-run answers, the citizen goes on from there);
- every vote a citizen was told about (the toast, or the ✅ on the ballot) is stored, none twice, none
  unasked, all three in the end; every ambassador has one application;
- conversations continue on another worker: form steps whose previous step another worker handled
  (counted, > 0), among them steps after a kill whose previous step the killed worker handled;
- the kills took claimed updates over (attempts > 1).
The figures are printed (pytest -s).
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bench.cluster import seed
from bench.common import BOT_USERNAME, TOKEN, bench_config
from bench.journey import AUTHOR_BASE
from bot.devtools.localapi import LocalBotApi
from tests.test_e2e_crash import (
    AMB_DONE,
    AMB_GROUPS,
    AMB_HOOD,
    AMB_NAME,
    AMB_PHONE,
    ASK_PHONE,
    BALLOT,
    MENU,
    OTHER,
    TOAST,
    VERIFIED,
    VOTE_TOASTS,
    VOTES,
    WELCOME,
    Citizen,
    Crowd,
    Post,
    buttons,
    classify,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SEED = 20261208
CITIZENS = 240
WORKERS = 3
KILLS = 5  # four workers, one receiver
RECEIVER_KILL = 2  # which of the kills is the receiver's
CLAIM_SECONDS = 4.0  # a killed worker's updates are taken over after this
USER_BASE = 6_000_000
READY_WITHIN = 60.0
POOL = 4  # connections per process (the server is shared: max_connections 100)
WITHIN = 90.0

# What each step's answer must be (its first message, or a press's callback answer), and how many
# messages answer it.
EXPECTED = {
    "start": {WELCOME, MENU}, "hood": {"hood_set"}, "name": {AMB_HOOD}, "amb_hood": {AMB_GROUPS},
    "groups": {AMB_PHONE}, "amb_phone": {AMB_DONE}, "amb": {AMB_NAME, AMB_HOOD, AMB_GROUPS, AMB_PHONE, AMB_DONE},
    "vote_menu": {ASK_PHONE, BALLOT}, "contact": {VERIFIED}, "vote": {TOAST},
}
MESSAGES = {"vote": 0, "contact": 2}  # others: 1
FORM = ("hood", "name", "amb_hood", "groups", "amb_phone")  # steps that continue a conversation
# Updates held by killed workers and answered twice, with the ledger recording each call before it
# leaves (after the two takeover fixes of this session; load 13-18): 41, 22, 7 per run, every one of them
# with a call in flight at the kill (asserted below); with the ledger recording answers only: 54, 60,
# 17, 0, 0, 3, 1, 10. Earlier figures, measured with the reply ledger (2 cores shared
# with other test runs, load 3-8): 8, 9, 41, 17, 30, 12, 21, 12, 48, 62 per run (of 54-208 held; most
# are presses whose answer went out within the ledger's commit time before the kill, and the messenger
# refused the second answer); without it 36, 82, 113 (of 233, 126, 136 held). The kills come right
# after bursts of answers, so the count follows how many replies were milliseconds old: it is printed,
# not bounded (a bound on a timing would fail at random); what is asserted is where they may be.


class Proc:
    """One ``python -m bench.cluster <role>`` process."""

    def __init__(self, role: str, api: str, db: str, epoch: float, log: Path) -> None:
        self.role, self.api, self.db, self.epoch, self.log = role, api, db, epoch, log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.cluster", self.role, "--api", self.api, "--db", self.db,
                "--clock-epoch", repr(self.epoch), "--claim-seconds", str(CLAIM_SECONDS),
                "--broadcast-rate", "100000", "--log-level", "INFO", cwd=ROOT,
                env={**os.environ, "MANSHAHRDARAM_PG_POOL": str(POOL)},
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=log)
        line = await asyncio.wait_for(self.proc.stdout.readline(), READY_WITHIN)
        assert line.strip() == b"ready", f"{self.role} did not start: {line!r}\n{self.tail()}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def kill(self) -> None:
        self.proc.kill()
        await self.proc.wait()

    async def stop(self) -> int | None:
        if self.proc is None or self.proc.returncode is not None:
            return None
        self.proc.terminate()
        try:
            return await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            self.proc.kill()
            return await self.proc.wait()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


class DoneWatch:
    """Wakes whoever waits for an update once the inbox has it done (polls PostgreSQL)."""

    def __init__(self, db) -> None:
        self.db = db
        self.waiting: dict[int, asyncio.Event] = {}

    async def wait(self, update_id: int) -> None:
        event = self.waiting.setdefault(update_id, asyncio.Event())
        await asyncio.wait_for(event.wait(), WITHIN)

    async def run(self) -> None:
        while True:
            ids = list(self.waiting)
            if ids:
                rows = await self.db.read(lambda conn, ids=ids: conn.execute(
                    "SELECT update_id FROM inbox WHERE platform = 'telegram' AND done_at IS NOT NULL "
                    "AND update_id = ANY(?)", (ids,)).fetchall())
                for (update_id,) in rows:
                    self.waiting.pop(update_id).set()
            await asyncio.sleep(0.02)


@dataclass
class Seen:
    """What the test saw of one citizen's steps."""
    last_id: int = 0  # the newest bot message counted already
    answers: dict[int, list[str]] = field(default_factory=dict)  # update id -> kinds of its messages


class ClusterCrowd(Crowd):
    def __init__(self, api, citizens, done: DoneWatch) -> None:
        super().__init__(api, citizens)
        self.done = done
        self.window: set[int] = set()  # updates a killed worker held at the kill
        self.seen = {c.uid: Seen() for c in citizens}
        self.wrong: list[str] = []  # steps answered wrongly or not exactly once

    async def run(self, c: Citizen) -> None:
        most = 2 * (7 + 5 * c.ambassador)
        while (action := self.next_action(c)) is not None:
            # A citizen going round in circles (an answer their model never expected, asked again at
            # the database's pace until flood control drops them) fails here, not after minutes.
            assert len(c.posts) < most, f"citizen {c.uid} goes round in circles: {[p.action for p in c.posts]}"
            post = self.act(c, action)
            await self.done.wait(post.update_id)
            self.take(c, post)
        c.finished = True

    def take(self, c: Citizen, post: Post) -> None:
        seen = self.seen[c.uid]
        new = [m for m in self.state.messages(TOKEN, c.uid) if m["message_id"] > max(post.after, seen.last_id)]
        if new:
            seen.last_id = max(m["message_id"] for m in new)
        kinds = [classify(m) for m in new]
        seen.answers[post.update_id] = kinds
        if post.action == "vote":
            reply = self.state.callback_answer(TOKEN, post.cq_id)
            kind = TOAST if reply is not None and reply.get("text") in VOTE_TOASTS else OTHER
        else:
            kind = kinds[0] if kinds else None
        want = MESSAGES.get(post.action, 1)
        if post.update_id not in self.window:
            if kind not in EXPECTED[post.action] or len(new) != want:
                self.wrong.append(f"{c.uid} {post.action} (update {post.update_id}): {kind}, messages {kinds}")
        elif len(new) < want or kind is None:
            self.wrong.append(f"{c.uid} {post.action} (update {post.update_id}, in the kill's window): "
                              f"not answered ({kinds})")
        # The citizen goes on from what they see last.
        if kind == TOAST:
            c.toasts.add(post.proposal)
        if AMB_DONE in kinds:
            c.amb_done = True
        ballots = [m for m in new if classify(m) == BALLOT]
        if VERIFIED in kinds:
            c.verified = True
        if ballots:
            c.ballot_id = ballots[-1]["message_id"]
        if new:
            c.last_kind = VERIFIED if VERIFIED in kinds and ballots else classify(new[-1])
            c.last_message = ballots[-1] if c.last_kind == VERIFIED and ballots else new[-1]
        self.answered += 1
        self.progress.set()


def logged(logs: Path, phrase: str) -> set[int]:
    """The updates of the workers' log lines that say ``phrase``."""
    found = set()
    for log in logs.glob("worker*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if phrase in line:
                try:
                    found.add(json.loads(line)["update_id"])
                except (ValueError, KeyError):
                    pass
    return found


def answered_from_ledger(logs: Path) -> set[int]:
    """Updates whose re-run found calls of the earlier attempt in the reply ledger (workers' logs)."""
    return logged(logs, "of the earlier attempt recorded")


async def test_receiver_and_three_workers_killed_under_voting_load(pg_url, pg_open, tmp_path):
    rng = random.Random(SEED)
    started = time.monotonic()
    async with LocalBotApi(bots={TOKEN: BOT_USERNAME}, call_log_size=200_000) as api:
        state = api.state
        config = bench_config(api.url, pg_url)
        ballots = await seed(config, SEED)
        state.add_users(TOKEN, AUTHOR_BASE + 1, 1000)
        db = await pg_open()
        citizens = []
        for n in range(CITIZENS):
            ballot = rng.choice(ballots)
            citizens.append(Citizen(USER_BASE + n, ballot, rng.sample(list(ballot.proposal_ids[:5]), VOTES),
                                    ambassador=n % 2 == 0))
        watch = DoneWatch(db)
        crowd = ClusterCrowd(api, citizens, watch)
        steps = sum(7 + 5 * c.ambassador for c in citizens)
        kill_after = [int(steps * rng.uniform(0.04, 0.08)) for _ in range(KILLS)]
        epoch = time.time()
        receiver = Proc("receiver", api.url, pg_url, epoch, tmp_path / "receiver.log")
        workers = [Proc("worker", api.url, pg_url, epoch, tmp_path / f"worker{n}.log") for n in range(WORKERS)]
        killed_workers: set[int] = set()
        restarts: list[asyncio.Future | None] = [None] * WORKERS
        watching = asyncio.ensure_future(watch.run())
        people = None
        try:
            await asyncio.gather(receiver.start(), *(w.start() for w in workers))
            people = asyncio.gather(*(crowd.run(c) for c in citizens))
            redelivered_before: set[str] = set()
            for cycle, share in enumerate(kill_after):
                goal = crowd.answered + share
                waiting = asyncio.ensure_future(crowd.until_answered(goal))
                await asyncio.wait({waiting, people}, return_when=asyncio.FIRST_COMPLETED)
                if people.done() and people.exception():
                    waiting.cancel()
                    people.result()
                await waiting
                voting = sum(not c.finished for c in citizens)
                assert voting >= CITIZENS // 4, f"kill {cycle} would come after the load ({voting} still voting)"
                if cycle == RECEIVER_KILL:
                    redelivered_before = set(state.update_deliveries(TOKEN)["redelivered"])
                    await receiver.kill()
                    await receiver.start()
                    continue
                # A worker that is up (one killed before may still be starting again).
                victim = rng.choice([w for w, up in zip(workers, restarts, strict=True) if up is None or up.done()])
                pid = victim.pid
                await victim.kill()
                killed_workers.add(pid)
                held = await db.read(lambda conn, pid=pid: conn.execute(
                    "SELECT update_id FROM inbox WHERE claimed_by LIKE ? AND done_at IS NULL",
                    (f"%:{pid}:%",)).fetchall())
                crowd.window |= {u for (u,) in held}
                # Started again meanwhile: the others go on serving everyone.
                restarts[workers.index(victim)] = asyncio.ensure_future(victim.start())
            await asyncio.wait_for(people, WITHIN * 3)
            await asyncio.gather(*(r for r in restarts if r is not None))
            codes = [await w.stop() for w in workers] + [await receiver.stop()]
            assert codes == [0] * (WORKERS + 1), [w.tail() for w in (*workers, receiver)]
        finally:
            if people is not None and not people.done():
                people.cancel()
                await asyncio.gather(people, return_exceptions=True)
            for restart in restarts:
                if restart is not None and not restart.done():
                    restart.cancel()
            watching.cancel()
            for proc in (*workers, receiver):
                await proc.stop()

        redelivered = state.update_deliveries(TOKEN)["redelivered"]
        calls = state.calls(TOKEN)

    # Every update sent is in the inbox once, and done.
    posted = {p.update_id: p for c in citizens for p in c.posts}
    rows = await db.read(lambda conn: conn.execute(
        "SELECT update_id, done_at IS NOT NULL, attempts, claimed_by FROM inbox WHERE platform = 'telegram'").fetchall())
    stored = {r[0]: r for r in rows}
    assert set(posted) <= set(stored) and len(rows) == len(stored)
    assert all(stored[u][1] for u in posted), [u for u in posted if not stored[u][1]][:5]
    taken_over = sum(r[2] > 1 for r in rows)
    assert taken_over > 0, "no kill took a claimed update over"
    # Only a killed worker's updates were taken over: a live worker keeps its claims.
    from_the_living = sorted(r[0] for r in rows if r[2] > 1 and r[0] not in crowd.window)
    assert not from_the_living, f"taken over from live workers: {from_the_living[:20]}"

    # Exactly once: messages per step (checked as each step was answered), callback answers per press.
    for wrong in crowd.wrong:
        print("answered wrongly:", wrong)
    assert not crowd.wrong, crowd.wrong[:10]
    window_presses = {p.cq_id for p in posted.values() if p.update_id in crowd.window and p.cq_id}
    answered: dict[str, list[int]] = {}
    for call in calls:
        if call["method"] == "answerCallbackQuery":
            answered.setdefault(call["params"].get("callback_query_id"), []).append(call["status"])
    presses = [p for p in posted.values() if p.cq_id]
    for press in presses:
        statuses = answered.get(press.cq_id, [])
        if press.cq_id in window_presses:
            assert 200 in statuses, (press.update_id, statuses)
        else:
            assert statuses == [200], (press.update_id, press.action, statuses)
    # The kill's window: what the reply ledger (bot/cluster/reply_ledger.py) leaves answered twice.
    answered_twice = {p.update_id for c in citizens for p in c.posts
                      if len(crowd.seen[c.uid].answers.get(p.update_id, [])) > MESSAGES.get(p.action, 1)}
    # A press is answered twice only if the messenger took two answers (it refuses a second: the
    # citizen sees one; such refusals are counted apart).
    answered_twice |= {p.update_id for p in presses if answered.get(p.cq_id, []).count(200) > 1}
    refused_again = sum(len(answered.get(p.cq_id, [])) > 1 for p in presses)
    for c in citizens:
        for p in c.posts:
            if p.update_id in answered_twice:
                print(f"answered twice: update {p.update_id} {p.action}: messages "
                      f"{crowd.seen[c.uid].answers.get(p.update_id)}, callback answers {answered.get(p.cq_id)}")
    # How many re-runs the ledger answered depends on where the kills fall (since only new messages
    # wait for their record, often none): a figure to read, not a property. The ledger's own
    # replay is asserted in tests/cluster/test_reply_ledger.py.
    replayed = answered_from_ledger(tmp_path) & set(posted)
    print(f"updates taken over and answered from the reply ledger: {len(replayed)}")
    assert answered_twice <= crowd.window, sorted(answered_twice - crowd.window)
    # The tightest true bound: a step is answered twice only where a call of its killed attempt was out
    # at the messenger with no answer recorded (the ledger records each call before it leaves, so the
    # re-run knows it may have arrived, and sends it again) — or, the database too slow, left unrecorded.
    in_flight = logged(tmp_path, "was in flight when the earlier attempt ended")
    unrecorded = logged(tmp_path, "sent before its record was committed")
    assert answered_twice <= in_flight | unrecorded, sorted(answered_twice - in_flight - unrecorded)

    # Votes: every confirmed one is in, none twice, none unasked, all three in the end.
    rows = await db.read(lambda conn: conn.execute(
        "SELECT c.user_id, v.proposal_id FROM votes v JOIN citizens c ON c.id = v.citizen_id").fetchall())
    votes: dict[int, list[int]] = {}
    for user_id, proposal_id in rows:
        votes.setdefault(user_id, []).append(proposal_id)
    for c in citizens:
        ballot = next((m for m in state.messages(TOKEN, c.uid) if m["message_id"] == c.ballot_id), None)
        confirmed = c.toasts | {p for p in c.votes if f"w:{p}:0" in buttons(ballot)}
        mine = votes.get(c.uid, [])
        assert len(mine) == len(set(mine)), (c.uid, mine)
        assert confirmed <= set(mine) == set(c.votes), (c.uid, confirmed, mine, c.votes)
    applications = await db.read(lambda conn: conn.execute(
        "SELECT c.user_id FROM ambassadors a JOIN citizens c ON c.id = a.citizen_id").fetchall())
    assert sorted(u for (u,) in applications) == sorted(c.uid for c in citizens if c.ambassador)

    # Conversations went on on another worker, also right after a kill.
    handler = {u: stored[u][3] for u in posted}
    elsewhere = after_kill = 0
    for c in citizens:
        for before, post in zip(c.posts, c.posts[1:], strict=False):
            if post.action in FORM and handler[post.update_id] != handler[before.update_id]:
                elsewhere += 1
                pid = int(handler[before.update_id].split(":")[1])
                after_kill += pid in killed_workers and int(handler[post.update_id].split(":")[1]) != pid
    assert elsewhere > 0 and after_kill > 0, (elsewhere, after_kill)
    assert len(killed_workers) == KILLS - 1
    elapsed = time.monotonic() - started
    print(f"\n{CITIZENS} citizens, {len(posted)} updates, {len(presses)} presses; {KILLS - 1} workers and the receiver "
          f"killed after {kill_after} answers; {len(crowd.window)} updates held by killed workers "
          f"({len(answered_twice)} of them answered twice, {len(replayed)} answered from the reply ledger, "
          f"{len(in_flight & set(posted))} with a call in flight at the kill, {len(unrecorded)} sent unrecorded; "
          f"{refused_again} presses answered again and refused), "
          f"{taken_over} taken over; "
          f"{len(set(redelivered) - redelivered_before)} updates delivered again after the receiver's kill; "
          f"{elsewhere} conversation steps continued on another worker, {after_kill} of them after a kill; "
          f"{elapsed:.1f} s")
