"""A seeded crowd for tests/test_fuzz.py: people who send the bot anything, and the invariants
checked after every step.

One ``random.Random(seed)`` decides everything the crowd does, so a seed replays the same run
(steps that run two or three people concurrently depend on the event loop's interleaving too:
they replay the same inputs, not always the same outcome).

What people send, weighted so that real journeys progress, not only junk:
- *guided* input: what the last question in their chat asks for (a title carrying a marker, a
  description, a name, a phone, a tracking code, a cost, a Jalali time, a rejection reason…);
- presses of the buttons the bot offered them (mostly the newest message, sometimes an old one,
  sometimes one so old that Telegram sends only its chat and id, with date 0);
- the labels of their reply keyboard (typed, or the contact / location it requests), and any
  label or alias of messages_fa.buttons, spelled loosely;
- text of any Unicode (Persian, Arabic letters, RTL marks, ZWNJ, emoji, control characters; no
  lone surrogates, which JSON cannot carry), empty text, 10,000 characters;
- stickers, voice, video, audio, documents, photos (with and without caption), dice, venues,
  contacts (their own, someone else's, without user id, not Iranian), locations (also invalid);
- edited messages, forwarded messages, channel posts and my_chat_member updates;
- commands with junk arguments, /start with deep-link payloads of every shape (empty, 64+
  characters, non-ASCII, live and revoked ambassador payloads, random ``a…``), commands addressed
  to another bot;
- callback data copied from other people's messages, made up for other neighbourhoods, other
  phases, other proposals, broadcasts, ambassadors and results, and random ASCII bytes (≤ 64);
- messages and presses in groups: the staff chat (with non-staff volunteers in it) and
  neighbourhood groups, citizens' buttons re-homed into a group.

Markers: every proposal title the crowd types (and every seeded one) starts with a marker
``ᛝ`` + five runic letters + ``ᛝ`` (U+16A0–U+16FF); junk text never draws from that block, so a
marker in a message can only come from that title.
"""
from __future__ import annotations

import asyncio
import copy
import dataclasses
import datetime as dt
import itertools
import random
import re
import sqlite3
import traceback
from collections import defaultdict, namedtuple
from dataclasses import dataclass

import jdatetime

from bot.campaign.phone import normalize_iranian_mobile, phone_hash
from bot.campaign.roles import COMMAND_ACTIONS, Actor, actor, may, roles_of
from domain import APPROVED, FEASIBLE, Phase
from messages_fa import ambassadors as amb_t
from messages_fa import broadcasts as bc_t
from messages_fa import buttons as b
from messages_fa import staff as staff_t
from messages_fa import texts
from messages_fa.markup import HtmlMarkup, PlainMarkup
from tests.support.recording_request import BOT_USER

# -- markers -----------------------------------------------------------------------------------

MARK = "ᛝ"
MARK_DIGITS = "ᚠᚢᚦᚨᚱᚲᚷᚹᚺᚾᛁᛃᛇᛈᛉᛊ"
MARK_RE = re.compile(f"{MARK}[{MARK_DIGITS}]{{5}}{MARK}")
FORBIDDEN = range(0x16A0, 0x1700)  # the runic block: never in junk


def marker(number: int) -> str:
    digits = []
    for _ in range(5):
        number, d = divmod(number, 16)
        digits.append(MARK_DIGITS[d])
    return MARK + "".join(reversed(digits)) + MARK


# -- what people type ------------------------------------------------------------------------------

PERSIAN = "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهی"
ARABIC = "يكىةۀأإؤئآ"
DIGITS_FA, DIGITS_AR = "۰۱۲۳۴۵۶۷۸۹", "٠١٢٣٤٥٦٧٨٩"
INVISIBLE = "\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\u0640\u00ad\u061c"
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🇮🇷", "❤️", "🏳️‍🌈", "1️⃣", "🗳", "✅", "📝", "🤝", "🏆", "↩️", "🔔"]
CONTROL = "".join(map(chr, range(32))) + "\x7f\x85"
HTML = ["<b>", "</b>", "&", "&amp;", "<a href='x'>", "<", ">", '"', "'", "<script>", "</i>", "&#x202e;"]
SPACES = " \t\n\r\u00a0\u2028\u2029\u3000\u2003"
COMBINING = "\u0301\u064b\u064e\u0651\u0670\u20dd"
WORDS = ("پارک", "کوچه", "خیابان", "روشنایی", "نیمکت", "درخت", "پیاده‌رو", "کتابخانه", "زمین بازی", "سرای محله",
         "آب‌نما", "دوچرخه", "ایستگاه", "مسجد", "مدرسه", "سطل زباله", "رمپ", "سایه‌بان", "کاشت", "بازسازی")


def _code_point(rng: random.Random) -> str:
    while True:
        c = rng.randrange(0x20, 0x10FFFF) if rng.random() < 0.2 else rng.randrange(0x20, 0x3000)
        if not (0xD800 <= c <= 0xDFFF) and c not in FORBIDDEN:
            return chr(c)


def junk(rng: random.Random, length: int | None = None) -> str:
    """Any Unicode a phone can send (minus lone surrogates and the marker block)."""
    length = rng.choice((1, 2, 5, 12, 40, 120, 300)) if length is None else length
    out: list[str] = []
    while len(out) < length:
        pool = rng.randrange(10)
        if pool == 0:
            out.append(rng.choice(PERSIAN + ARABIC + DIGITS_FA + DIGITS_AR))
        elif pool == 1:
            out.append(rng.choice(INVISIBLE))
        elif pool == 2:
            out.append(rng.choice(EMOJI))
        elif pool == 3:
            out.append(rng.choice(CONTROL))
        elif pool == 4:
            out.append(rng.choice(HTML))
        elif pool == 5:
            out.append(rng.choice(SPACES))
        elif pool == 6:
            out.append(rng.choice(COMBINING))
        elif pool == 7:
            out.append(rng.choice(WORDS))
        elif pool == 8:
            out.append(chr(rng.randrange(0x20, 0x7F)))
        else:
            out.append(_code_point(rng))
    return "".join(out)


def loosely(rng: random.Random, label: str) -> str:
    """A label as people type it: Arabic yeh/kaf, no emoji, extra spaces, direction marks."""
    text = label
    if rng.random() < 0.4:
        text = re.sub(r"[^\w\s‌]", "", text).strip()
    if rng.random() < 0.3:
        text = text.replace("ی", "ي").replace("ک", "ك")
    if rng.random() < 0.2:
        text = f"  {text}\u200f "
    if rng.random() < 0.1:
        text = text.replace("\u200c", " ")
    return text


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def fa(text: str) -> str:
    return text.translate(str.maketrans("0123456789", DIGITS_FA))


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# -- the people -----------------------------------------------------------------------------------

@dataclass(eq=False)
class Person:
    platform: str
    user_id: int
    phone: str
    kind: str  # "citizen" | "ambassador" | "staff"
    groups: tuple[int, ...] = ()
    started: bool = False
    verbose: bool = False  # staff who explain every decision at length (up to the 500-character limit)

    @property
    def key(self) -> tuple[str, int]:
        return self.platform, self.user_id

    @property
    def ref(self) -> str:
        return actor(self.platform, self.user_id)

    def __repr__(self) -> str:
        return f"{self.kind}:{self.ref}"


ANSWER, SILENT, CALLBACK = "answer", "silent", "callback"


@dataclass
class Event:
    person: Person
    update: object
    chat_id: int
    expect: str  # ANSWER: ≥ 1 call to the chat; SILENT: none; CALLBACK: exactly one answerCallbackQuery
    what: str
    callback_id: str | None = None

    def __str__(self) -> str:
        return f"{self.person!r} in {self.chat_id}: {self.what}"


# -- what the database holds (read-only, on the bot's own connection) --------------------------------

P = namedtuple("P", "id code citizen_id neighbourhood_id status decided_by decided_at reject_reason category_id "
                    "feasibility feasibility_note cost reviewed_by duplicate_of title")
C = namedtuple("C", "id platform user_id chat_id neighbourhood_id verified_at first_vote_at")
MODERATION_FIELDS = ("status", "decided_by", "decided_at", "reject_reason", "category_id", "duplicate_of")
REVIEW_FIELDS = ("feasibility", "feasibility_note", "cost", "reviewed_by")
# The audit log's actions and the role action (bot/campaign/roles.py) each needs.
AUDIT_ACTIONS = {"approve": "moderate", "reject": "moderate", "category": "moderate", "duplicate": "moderate",
                 "feasibility": "review", "cost": "review", "export": "export", "ambassador": "ambassadors",
                 "calendar": "schedule", "results": "results", "broadcast": "broadcast"}


@dataclass
class State:
    proposals: dict[int, P]
    citizens: dict[int, C]
    by_chat: dict[tuple[str, int], C]
    ambassadors: dict[int, tuple]
    broadcasts: dict[int, tuple]
    audit: list[tuple]  # rows after the given id
    audit_max: int
    moves: dict[int, str]
    results: dict[int, tuple]
    published_winners: set[int]
    staff_inputs: dict[tuple[str, int], str]
    reason_prompts: set[tuple[str, int, int]]
    votes: set[tuple[int, int]]
    links: list[tuple[str, bool]]  # (payload, revoked)


def read_state(conn: sqlite3.Connection, audit_after: int) -> State:
    def q(sql: str, *args) -> list:
        return conn.execute(sql, args).fetchall()

    proposals = {r[0]: P(*r) for r in q(f"SELECT {', '.join(P._fields)} FROM proposals")}
    citizens = {r[0]: C(*r) for r in q(f"SELECT {', '.join(C._fields)} FROM citizens")}
    audit = q("SELECT id, actor, action, target FROM audit WHERE id > ? ORDER BY id", audit_after)
    return State(
        proposals=proposals, citizens=citizens, by_chat={(c.platform, c.chat_id): c for c in citizens.values()},
        ambassadors={r[0]: tuple(r[1:]) for r in q("SELECT citizen_id, status, decided_by, decided_at FROM ambassadors")},
        broadcasts={r[0]: tuple(r[1:]) for r in q(
            "SELECT id, status, created_by, cancelled_by, audience, send_at, announcement FROM broadcasts")},
        audit=[tuple(r) for r in audit], audit_max=audit[-1][0] if audit else audit_after,
        moves={r[0]: r[1] for r in q("SELECT id, moved_by FROM calendar_moves")},
        results={r[0]: tuple(r[1:]) for r in q("SELECT id, computed_by, published_at, published_by, computed_at FROM results")},
        published_winners={r[0] for r in q("SELECT w.proposal_id FROM result_winners w JOIN results r "
                                            "ON r.id = w.result_id WHERE r.published_at IS NOT NULL")},
        staff_inputs={(r[0], r[1]): r[2] for r in q("SELECT platform, user_id, kind FROM staff_inputs")},
        reason_prompts={tuple(r) for r in q("SELECT platform, chat_id, message_id FROM reason_prompts")},
        votes={tuple(r) for r in q("SELECT citizen_id, proposal_id FROM votes")},
        links=[(r[0], r[1] is not None) for r in q(
            "SELECT payload, revoked_at FROM invite_links ORDER BY ambassador_id, created_at, revoked_at IS NULL")],
    )


def integrity(conn: sqlite3.Connection) -> tuple[list, list]:
    return (conn.execute("PRAGMA integrity_check").fetchall(), conn.execute("PRAGMA foreign_key_check").fetchall())


def on_ballot(p: P) -> bool:
    return p.status == APPROVED and p.feasibility == FEASIBLE and p.cost is not None


# -- reading the recorded chats fast ------------------------------------------------------------------

def view(messenger, chat_id: int) -> list[dict]:
    """The bot's messages in a chat as they are now, oldest first. RecordingRequest.messages()
    deep-copies the whole chat for every call; the crowd reads chats at every step, so it looks
    at the recorder's own dict (read only) and copies just the message it acts on."""
    return list(messenger.request._views.get(chat_id, {}).values())


def prune(messenger, keep: int) -> None:
    """Forget all but the newest ``keep`` messages of every chat (memory in long runs). A
    forgotten message is never pressed again: the crowd only presses what the recorder holds."""
    for chat in messenger.request._views.values():
        while len(chat) > keep:
            del chat[next(iter(chat))]


def buttons_of(message: dict) -> list[tuple[str, str]]:
    markup = message.get("reply_markup") or {}
    return [(btn["text"], btn["callback_data"]) for row in markup.get("inline_keyboard", []) for btn in row
            if "callback_data" in btn]


def message_texts(params: dict) -> list[str]:
    """Everything a person reads in one API call: text, caption, button labels."""
    out = [params[k] for k in ("text", "caption") if isinstance(params.get(k), str)]
    markup = params.get("reply_markup")
    if isinstance(markup, dict):
        for row in markup.get("inline_keyboard", []) + markup.get("keyboard", []):
            for btn in row:
                out.append(btn if isinstance(btn, str) else btn.get("text", ""))
    return out


def chat_of(call) -> int | None:
    chat = call.params.get("chat_id")
    try:
        return int(chat)
    except (TypeError, ValueError):
        return None


# What the Bot API accepts (https://core.telegram.org/bots/api): the recorder answers every call,
# so the crowd checks what Telegram or Bale would have refused.
TEXT_LIMIT, CAPTION_LIMIT, ALERT_LIMIT, DATA_LIMIT = 4096, 1024, 200, 64
HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler", "span",
             "blockquote", "tg-emoji"}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z-]*)((?:\s+[a-zA-Z-]+(?:=(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*>")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


def html_text(text: str) -> tuple[str | None, str]:
    """(why Telegram would refuse this HTML or None, the text a person reads)."""
    stack, plain, i = [], [], 0
    while i < len(text):
        if text[i] == "<":
            tag = _TAG.match(text, i)
            if tag is None or tag[2].lower() not in HTML_TAGS:
                return f"unsupported or broken tag at {i}: {text[i:i + 30]!r}", ""
            name = tag[2].lower()
            if tag[1]:
                if not stack or stack.pop() != name:
                    return f"unbalanced </{name}> at {i}", ""
            else:
                stack.append(name)
            i = tag.end()
        elif text[i] == "&":
            entity = _ENTITY.match(text, i)
            if entity is None:
                return f"a bare & at {i}: {text[i:i + 20]!r}", ""
            plain.append("&")
            i = entity.end()
        else:
            plain.append(text[i])
            i += 1
    if stack:
        return f"unclosed <{stack[-1]}>", ""
    return None, "".join(plain)


def api_refusal(platform: str, call) -> str | None:
    """Why the real Bot API would answer this call with an error (None: it would accept it)."""
    p = call.params
    mode = p.get("parse_mode")
    if platform == "bale" and mode:
        return f"parse_mode {mode!r} on Bale, which renders none"
    for key, limit in (("text", TEXT_LIMIT), ("caption", CAPTION_LIMIT)):
        value = p.get(key)
        if not isinstance(value, str) or call.method == "answerCallbackQuery":
            continue
        why, shown = html_text(value) if mode == "HTML" else (None, value)
        if why:
            return f"{key}: {why}"
        if utf16_len(shown) > limit:
            return f"{key} of {utf16_len(shown)} UTF-16 units (limit {limit})"
        if key == "text" and not shown.strip():
            return "empty text"
    if call.method == "answerCallbackQuery" and len(p.get("text") or "") > ALERT_LIMIT:
        return f"an alert of {len(p['text'])} characters (limit {ALERT_LIMIT})"
    markup = p.get("reply_markup")
    if isinstance(markup, dict):
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if not button.get("text") or (data is not None and not 1 <= len(data.encode()) <= DATA_LIMIT):
                    return f"inline button {button}"
    return None


class InvariantError(AssertionError):
    pass


# -- the run ------------------------------------------------------------------------------------------

# Share of the steps spent in each phase; the clock moves through each phase's span linearly
# (with the calendar as admins may have moved it), never backwards.
PHASE_PLAN = (("before", 0.08), ("proposals", 0.34), ("review", 0.14), ("voting", 0.32), ("closed", 0.12))
SYSTEM_EVERY = 150  # steps between runs of the announcer and the broadcast worker
MIN_TICK = dt.timedelta(seconds=3)
RACE = 0.03  # share of the steps in which two staff members press the same decision at once
JOURNEY = 0.75  # share of the steps in which a person gets on with what they are doing
SESSION = 0.85  # chance that the next step is the same person's again (people do several things in a row)
BUTTON_WEIGHTS = {"pv:ok": 5, "pv:cancel": 0.5}
# Keyboard buttons that move a journey on are pressed more often than those that leave it.
MENU_WEIGHTS = {b.SEND_PROPOSAL: 4, b.VOTE: 4, b.CONTINUE: 4, b.SHARE_PHONE: 4, b.RESULTS: 2, b.AMBASSADOR: 0.7,
                b.BACK: 0.5, b.CANCEL: 0.5}
PRUNE_EVERY, KEEP_MESSAGES = 100, 60
COMMANDS = ("start", "help", "cancel", "whoami", "ambassador", *COMMAND_ACTIONS)
CITIZEN_LABELS = (b.SEND_PROPOSAL, b.VOTE, b.MY_PROPOSALS, b.CHANGE_NEIGHBOURHOOD, b.HELP, b.REMIND_ME, b.AMBASSADOR,
                  b.RESULTS, b.BACK, b.CANCEL, b.CONTINUE, b.SHARE_LOCATION, b.SHARE_PHONE, "رای", "لغو", "پیشنهاد",
                  "سفیر", "نتایج", "ادامه", "بازگشت")
# Private-chat actions that may run concurrently with other people's (they are always answered).
CONCURRENT_SAFE = {"guided", "press", "menu", "label", "junk", "media", "contact", "location", "command", "forged",
                   "foreign", "random_data", "stale", "reply", "group_press", "staff_chat_press"}
CITIZEN_WEIGHTS = {
    "guided": 22, "press": 24, "menu": 14, "label": 3, "junk": 7, "long": 1, "media": 5, "contact": 3,
    "location": 2, "edited": 2, "forward": 1, "command": 6, "start": 2, "forged": 5, "foreign": 3,
    "random_data": 2, "stale": 2, "reply": 1, "group_message": 3, "group_press": 2, "group_edited": 1,
    "member": 1, "channel_post": 1, "staff_chat_press": 2, "staff_chat_reply": 1,
}
STAFF_WEIGHTS = {
    **CITIZEN_WEIGHTS, "guided": 24, "press": 22, "staff_command": 12, "staff_chat_press": 10,
    "staff_chat_reply": 3, "group_message": 2,
}
SLOW_COMMANDS = {"stats": 0.03, "export": 0.03}  # drawing charts and workbooks: kept rare


class Crowd:
    """Drives ``bot`` (tests/conftest.Bot) with ``people`` for ``steps`` steps from ``seed``."""

    def __init__(self, bot, seed: int, steps: int, people: list[Person], *, check_every: int = 50,
                 new_people: int = 40) -> None:
        self.bot, self.seed, self.steps = bot, seed, steps
        self.config = bot.config
        self.rng = random.Random(seed)
        self.people = people
        self.check_every = check_every
        self.new_people = new_people
        self.markers: dict[str, tuple[str, int]] = {}  # marker -> who typed it
        self._marker_numbers = itertools.count(1)
        self._message_ids = itertools.count(10_000_000)
        self._new_ids = itertools.count(30_000)
        self.step = 0
        self.phase: Phase | None = None
        self.seen_phases: set[Phase] = set()
        self.counts: defaultdict[str, int] = defaultdict(int)
        self.history: list[str] = []
        self.hoods = [n.id for n in self.config.neighbourhoods]
        self.hood_names = {n.id: n.name for n in self.config.neighbourhoods}
        self.favourite_hoods = {"tajrish", "darband", "niavaran", "velenjak"}
        self.categories = [c.id for c in self.config.categories]
        self.prompts = self._prompts()
        self.started_at_audit = 0
        self.current: Person | None = None
        self.decided: set[str] = set()  # proposals with a moderation decision in the audit log

    # -- helpers ------------------------------------------------------------------------------

    def messenger(self, person: Person):
        return self.bot.messengers[person.platform]

    def new_marker(self, owner: tuple[str, int]) -> str:
        mark = marker(next(self._marker_numbers))
        self.markers[mark] = owner
        return mark

    def title(self, person: Person) -> str:
        rng = self.rng
        title = f"{self.new_marker(person.key)} {words(rng, rng.randint(1, 6))}"
        roll = rng.random()
        if roll < 0.05:
            return title + " " + "ت" * 120  # too long
        if roll < 0.1:
            return title + "".join(rng.choice(HTML) for _ in range(3))
        return title

    def fail(self, message: str, events: list[Event] = ()) -> InvariantError:
        lines = [f"FUZZ_SEED={self.seed} FUZZ_STEPS={self.steps}: step {self.step}: {message}"]
        lines += [f"  this step: {event}" for event in events]
        lines += ["  its API calls:"] + [f"    {platform} {call.method} {call.status} chat={call.params.get('chat_id')} "
                                        f"{str(call.params.get('text', ''))[:80]!r}"
                                        for platform, m in self.bot.messengers.items() for call in m.request.calls][:40]
        lines += ["  the steps before:"] + [f"    {h}" for h in self.history[-10:]]
        return InvariantError("\n".join(lines))

    async def read(self, audit_after: int) -> State:
        return await self.bot.db.read(read_state, audit_after)

    async def settle(self) -> None:
        """Background tasks the handlers started (staff cards, notices), and theirs in turn."""
        for _ in range(20):
            # PTB keeps them in a private set (as tests/conftest.Messenger.settle knows).
            tasks = [t for m in self.bot.messengers.values()
                     for t in m.app._Application__create_task_tasks if not t.done()]
            if not tasks:
                return
            await asyncio.gather(*tasks, return_exceptions=True)  # their errors reach bot.errors

    def clear_calls(self) -> None:
        for m in self.bot.messengers.values():
            m.request.calls.clear()

    # -- the clock -------------------------------------------------------------------------------

    def _bounds(self, name: str) -> tuple[dt.datetime, dt.datetime]:
        c = self.bot.services.calendar.current
        return {
            "before": (c.proposals_opens - dt.timedelta(days=3), c.proposals_opens),
            "proposals": (c.proposals_opens, c.proposals_closes),
            "review": (c.proposals_closes, c.voting_opens),
            "voting": (c.voting_opens, c.voting_closes),
            "closed": (c.voting_closes, c.voting_closes + dt.timedelta(days=5)),
        }[name]

    def move_clock(self) -> bool:
        """True when the phase changed."""
        progress, done = (self.step - 1) / self.steps, 0.0
        for name, share in PHASE_PLAN:
            if progress < done + share or name == PHASE_PLAN[-1][0]:
                fraction = min(1.0, max(0.0, (progress - done) / share))
                break
            done += share
        start, end = self._bounds(name)
        target = start + (end - start) * 0.99 * fraction + dt.timedelta(minutes=1)
        # At least a few seconds a step: nobody in the crowd outpaces the flood limits
        # (bot/campaign/flood.py refills a message a second), so no update is dropped as a flood.
        self.bot.clock.set(max(self.bot.clock.now() + MIN_TICK, target))
        phase = self.bot.services.phase().phase
        changed, self.phase = phase != self.phase, phase
        self.seen_phases.add(phase)
        return changed

    # -- the run -----------------------------------------------------------------------------------

    async def run(self) -> None:
        state = await self.read(0)
        self.started_at_audit = state.audit_max
        self.decided |= {target for _, _, action, target in state.audit if action in ("approve", "reject", "duplicate")}
        for step in range(1, self.steps + 1):
            self.step = step
            if self.move_clock() or self.step % SYSTEM_EVERY == 0:
                state = await self.system_step(state)
            events = self.make_events(state)
            self.clear_calls()
            try:
                await asyncio.gather(*(self.messenger(e.person).app.process_update(e.update) for e in events))
                await self.settle()
            except Exception as exc:  # PTB catches handler errors: this is the harness failing
                raise self.fail(f"processing raised {exc!r}\n{traceback.format_exc()}", events) from exc
            after = await self.read(state.audit_max)
            self.check_step(events, state, after)
            self.history.append(f"{self.step} {self.phase.value}: " + " | ".join(map(str, events)))
            del self.history[:-12]
            state = after
            if self.step % self.check_every == 0:
                await self.check_integrity()
            if self.step % PRUNE_EVERY == 0:
                for m in self.bot.messengers.values():
                    prune(m, KEEP_MESSAGES)
        await self.check_integrity()

    async def system_step(self, state: State) -> State:
        """What the bot does by itself: due calendar announcements, then the broadcast worker."""
        self.clear_calls()
        try:
            await self.bot.announcer.catch_up()
            await self.bot.broadcast(passes=5)
            await self.settle()
        except Exception as exc:  # the announcer and the worker run outside PTB's error handling
            raise self.fail(f"the announcer or the broadcast worker raised {exc!r}\n{traceback.format_exc()}") from exc
        after = await self.read(state.audit_max)
        self.check_errors([])
        self.check_markers(after, {})
        self.check_staff_state([], state, after)
        self.check_votes(state, after)
        self.check_api()
        self.counts["system steps"] += 1
        return after

    # -- choosing what happens --------------------------------------------------------------------

    def pick_person(self, exclude: set) -> Person:
        rng = self.rng
        if self.current is not None and self.current not in exclude and rng.random() < SESSION:
            return self.current
        self.current = self._pick_person(exclude)
        return self.current

    def _pick_person(self, exclude: set) -> Person:
        rng = self.rng
        if self.new_people and rng.random() < 0.01:
            self.new_people -= 1
            platform = rng.choice(list(self.bot.messengers))
            uid = next(self._new_ids)
            person = Person(platform, uid, f"+98935{uid:07d}", "citizen",
                            groups=(self.groups_of(platform)[0],) if rng.random() < 0.5 else ())
            self.people.append(person)
            return person
        while True:
            kind = rng.choices(("citizen", "ambassador", "staff"), (60, 10, 30))[0]
            choices = [p for p in self.people if p.kind == kind and p not in exclude]
            if choices:
                return rng.choice(choices)

    def groups_of(self, platform: str) -> tuple[int, ...]:
        return (-500, -501) if platform == "telegram" else (-700,)

    def make_events(self, state: State) -> list[Event]:
        rng = self.rng
        if rng.random() < RACE:
            events = self.race()
            if events:
                self.counts["race"] += 1
                return events
        n = 1 if rng.random() < 0.85 else rng.choice((2, 3))
        events: list[Event] = []
        used: set = set()
        for _ in range(n):
            person = self.pick_person(used)
            used.add(person)
            events.append(self.event_for(person, state, concurrent=n > 1))
        for event in events:
            self.counts[event.what.split(" ", 1)[0]] += 1
        return events

    def race(self) -> list[Event]:
        """Two staff members press the same decision at once: on one card in the staff chat, or
        on the Telegram card and its Bale copy ("two moderators pressing at once act once")."""
        rng = self.rng
        staff = [p for p in self.people if p.kind == "staff"]
        copies: defaultdict[str, list[tuple[Person, dict]]] = defaultdict(list)
        for person in staff:
            chats = [person.user_id] + [c for c in person.groups if c == self.config.platforms[person.platform].staff_chat_id]
            for chat in chats:
                for message in view(self.messenger(person), chat)[-15:]:
                    for _, data in buttons_of(message):
                        if re.match(r"^(m:[ar]|amb:[ar]|rv:a|bc:go|rs:p):", data):
                            copies[data].append((person, message))
        contested = sorted(data for data, found in copies.items() if len({p for p, _ in found}) > 1)
        if not contested:
            return []
        data = rng.choice(contested)
        pressers: dict[Person, dict] = {}
        for person, message in rng.sample(copies[data], len(copies[data])):
            pressers.setdefault(person, message)
        chosen = rng.sample(sorted(pressers, key=repr), 2)
        return [self.callback_event(p, self.messenger(p), copy.deepcopy(pressers[p]), data, "race") for p in chosen]

    def event_for(self, person: Person, state: State, concurrent: bool) -> Event:
        rng = self.rng
        m = self.messenger(person)
        if not person.started:
            person.started = True
            if rng.random() < 0.7:
                return self.do_start(person, m, state)
        if rng.random() < JOURNEY:
            event = self.do_journey(person, m, state)
            if event is not None:
                return event
        weights = STAFF_WEIGHTS if person.kind == "staff" else CITIZEN_WEIGHTS
        names = [n for n in weights if not concurrent or n in CONCURRENT_SAFE]
        while True:
            name = rng.choices(names, [weights[n] for n in names])[0]
            event = getattr(self, f"do_{name}")(person, m, state)
            if event is not None:
                return event

    # -- building updates ---------------------------------------------------------------------------

    def _message(self, m, person: Person, chat_id: int | None = None, **extra) -> dict:
        return {"message_id": next(self._message_ids), "date": int(self.bot.clock.now().timestamp()),
                "chat": m.updates.chat(person.user_id, chat_id), "from": m.updates.user(person.user_id), **extra}

    @staticmethod
    def _text_fields(text: str) -> dict:
        fields: dict = {"text": text}
        if text.startswith("/"):
            command = re.match(r"/\S*", text)[0]
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        return fields

    def message_event(self, person: Person, m, what: str, chat_id: int | None = None, key: str = "message",
                      state: State | None = None, **extra) -> Event:
        message = self._message(m, person, chat_id, **extra)
        if key == "edited_message":
            message["edit_date"] = message["date"] + 1
        update = m.updates.raw({key: message})
        chat = person.user_id if chat_id is None else chat_id
        if key != "message":
            expect = SILENT  # edits are not new input (handlers.common.NEW_MESSAGE)
        elif chat > 0:
            expect = ANSWER
        else:
            expect = self.group_expect(person, message, state)
        return Event(person, update, chat, expect, what)

    def text_event(self, person: Person, m, text: str, what: str, chat_id: int | None = None,
                   state: State | None = None, reply_to: dict | None = None, key: str = "message") -> Event:
        extra = self._text_fields(text)
        if reply_to is not None:
            extra["reply_to_message"] = reply_to
        return self.message_event(person, m, f"{what} {text[:60]!r}", chat_id, key=key, state=state, **extra)

    def group_expect(self, person: Person, message: dict, state: State | None) -> str:
        """In a group the bot answers only /whoami, /start and /help (the way into the private
        chat), the staff commands of those who may use them (someone else is refused in private,
        never in the group), and a moderator's reply to its rejection-reason question; everything
        else in a group is deliberately left unanswered."""
        text = message.get("text") or ""
        match = re.match(r"/([A-Za-z0-9_]+)(?:@(\S+))?(?:\s|$)", text)
        if match and (match[2] is None or match[2].lower() == BOT_USER["username"]):
            name = match[1].lower()
            if name in ("whoami", "start", "help") or (name in COMMAND_ACTIONS and
                                    may(self.config, person.platform, person.user_id, COMMAND_ACTIONS[name])):
                return ANSWER
        replied = message.get("reply_to_message")
        if replied and text and not text.startswith("/") and state is not None and \
                (person.platform, message["chat"]["id"], replied["message_id"]) in state.reason_prompts and \
                may(self.config, person.platform, person.user_id, "moderate"):
            return ANSWER  # a moderator's reason; anyone else is refused in private
        return SILENT

    def callback_event(self, person: Person, m, message: dict, data: str, what: str) -> Event:
        update = m.updates.callback(person.user_id, message, data)
        return Event(person, update, message["chat"]["id"], CALLBACK, f"{what} {data!r}",
                     callback_id=update.callback_query.id)

    def contact_fields(self, person: Person, own: bool = True, phone: str | None = None) -> dict:
        contact = {"phone_number": phone or person.phone, "first_name": "x"}
        if own:
            contact["user_id"] = person.user_id
        return {"contact": contact}

    # -- what the last question asked -------------------------------------------------------------------

    def _prompts(self) -> list[tuple[str, str]]:
        s = "\x00"

        def fixed(text: str) -> str:
            return max(text.split(s), key=len).strip()

        limits, markup = self.config.limits, HtmlMarkup()
        return [
            (texts.ask_title(limits.title_length), "title"),
            (fixed(texts.ask_description(limits.description_length)), "description"),
            (texts.ask_media(), "media"),
            (texts.ask_phone(), "phone"),
            (amb_t.ask_name(), "amb_name"),
            (amb_t.ask_groups(), "amb_groups"),
            (amb_t.ask_phone(), "phone"),
            (staff_t.ask_duplicate_code(), "code"),
            (fixed(staff_t.ask_note(True)), "note"),
            (fixed(staff_t.ask_note(False)), "note"),
            (staff_t.ask_cost(self.config.money_unit), "cost"),
            (bc_t.ask_content(), "content"),
            (fixed(bc_t.ask_send_time(s)), "time"),
            (fixed(bc_t.ask_new_time("voting_opens", s, s)), "time"),
            (fixed(texts.ask_reject_reason(s)), "reason"),
            (texts.choose_neighbourhood(), "hood"),
            (texts.neighbourhood_needed(), "hood"),
            (fixed(texts.neighbourhood_not_found(markup, s)), "hood"),
            (fixed(texts.neighbourhood_not_found(PlainMarkup(), s)), "hood"),
        ]

    def prompt(self, m, chat_id: int) -> tuple[str, dict] | None:
        for message in reversed(view(m, chat_id)[-2:]):
            text = message.get("text") or ""
            for key, kind in self.prompts:
                if key and key in text:
                    return kind, message
        return None

    # -- values people type ---------------------------------------------------------------------------

    def some_proposal(self, state: State) -> P | None:
        return self.rng.choice(list(state.proposals.values())) if state.proposals else None

    def some_id(self, ids) -> int:
        rng = self.rng
        ids = sorted(ids)
        if ids and rng.random() < 0.8:
            return rng.choice(ids)
        return rng.choice((0, 1, 99_999, 10**12 - 1, rng.randrange(1, 500)))

    def explanation(self, person: Person) -> str:
        """A rejection reason or a feasibility note as staff write them: a sentence, or a
        careful paragraph near the 500-character limit; a few over it, a few junk."""
        rng = self.rng
        roll = rng.random()
        if person.verbose and roll < 0.9:
            return words(rng, 80)[:rng.randint(400, 500)]
        if roll < 0.55:
            return words(rng, rng.randint(1, 12))
        if roll < 0.9:
            return words(rng, 80)[:rng.randint(300, 500)]
        if roll < 0.95:
            return "د" * rng.randint(501, 700)
        return junk(rng)

    def jalali_time(self) -> str:
        rng = self.rng
        if rng.random() < 0.1:
            return rng.choice(("1405/13/01 09:00", "1405/09/31 25:00", "فردا", "9:00", junk(rng, 8)))
        moment = self.bot.clock.now() + dt.timedelta(hours=rng.choice((-30, -1, 1, 5, 30, 24 * 7, 24 * 40)))
        local = jdatetime.datetime.fromgregorian(datetime=moment.astimezone(self.config.timezone))
        text = f"{local.year}/{local.month:02d}/{local.day:02d} {local.hour:02d}:00"
        return fa(text) if rng.random() < 0.4 else text

    def typed_hood(self) -> str:
        rng = self.rng
        name = self.hood_names[rng.choice(sorted(self.favourite_hoods)) if rng.random() < 0.7 else rng.choice(self.hoods)]
        roll = rng.random()
        if roll < 0.2:
            return loosely(rng, name)
        if roll < 0.3:
            return name[: rng.randint(1, max(1, len(name) - 1))]  # several may match
        if roll < 0.35:
            return junk(rng, 10)
        return name

    def phone_for(self, person: Person) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.6:
            return person.phone
        if roll < 0.7:
            return fa("0" + person.phone[3:])
        if roll < 0.8:
            return person.phone.lstrip("+")
        if roll < 0.9:
            return rng.choice(("+14155550100", "+441234567890", "12", "۰۹۱۲", "+98912" + "1" * 40))
        return f"+98912{rng.randrange(10**7):07d}"  # a number someone else may have

    # -- actions: each returns an Event, or None when it does not apply to this person now -------------

    def do_journey(self, person: Person, m, state: State) -> Event | None:
        """What someone getting things done does next: press the newest message's buttons, else
        answer the question asked, else mostly a menu button (staff: sometimes a staff command)."""
        messages = view(m, person.user_id)
        if messages and buttons_of(messages[-1]) and self.rng.random() < 0.85:
            message = messages[-1]
            return self.callback_event(person, m, copy.deepcopy(message), self._choose_button(message), "press")
        if self.prompt(m, person.user_id) is not None:
            return self.do_guided(person, m, state)
        if person.kind == "staff" and self.rng.random() < 0.3:
            return self.do_staff_command(person, m, state)
        # Nothing asked: the menu, or (None) whatever else people do.
        return self.do_menu(person, m, state) if self.rng.random() < 0.6 else None

    def do_guided(self, person: Person, m, state: State) -> Event | None:
        rng = self.rng
        found = self.prompt(m, person.user_id)
        if found is None:
            return self.do_press(person, m, state) or self.do_menu(person, m, state)
        kind, question = found
        if kind == "title":
            return self.text_event(person, m, self.title(person), "title")
        if kind == "description":
            text = words(rng, rng.randint(3, 25)) if rng.random() < 0.9 else rng.choice(("کوتاه", "ش" * 1200))
            return self.text_event(person, m, text, "description")
        if kind == "media":
            roll = rng.random()
            if roll < 0.3:
                return self.message_event(person, m, "photo", **self._photo(rng.random() < 0.5))
            if roll < 0.5:
                return self.message_event(person, m, "location", location=self._location(valid=rng.random() < 0.9))
            return self.text_event(person, m, loosely(rng, rng.choice((b.CONTINUE, b.CONTINUE, b.BACK))), "label")
        if kind == "phone":
            own = rng.random() < 0.85
            return self.message_event(person, m, f"contact own={own}", **self.contact_fields(
                person, own, self.phone_for(person)))
        if kind == "amb_name":
            text = words(rng, 2) if rng.random() < 0.85 else rng.choice(("ab", "ن" * 100, junk(rng, 20)))
            return self.text_event(person, m, text, "name")
        if kind == "amb_groups":
            text = "\n".join(words(rng, 3) for _ in range(rng.randint(1, 4))) if rng.random() < 0.9 else "x"
            return self.text_event(person, m, text, "groups")
        if kind == "code":
            proposal = self.some_proposal(state)
            code = proposal.code if proposal and rng.random() < 0.8 else junk(rng, 7)
            return self.text_event(person, m, fa(code) if rng.random() < 0.3 else code, "code")
        if kind == "note":
            text = self.explanation(person)
            return self.text_event(person, m, text, "note")
        if kind == "cost":
            text = rng.choice(("12,500,000", "۱۲٬۵۰۰٬۰۰۰", "12500000", "۵۰۰ میلیون", "0", "-5", "9" * 30, "۱۲.۵",
                               str(rng.randrange(1, 10**10))))
            return self.text_event(person, m, text, "cost")
        if kind == "content":
            roll = rng.random()
            if roll < 0.6:
                return self.text_event(person, m, words(rng, rng.randint(1, 15)), "content")
            if roll < 0.8:
                return self.message_event(person, m, "photo content", **self._photo(True))
            if roll < 0.9:
                return self.message_event(person, m, "document content", **self._document())
            return self.message_event(person, m, "sticker content", **self._sticker())
        if kind == "time":
            return self.text_event(person, m, self.jalali_time(), "time")
        if kind == "reason":
            reason = self.explanation(person)
            return self.text_event(person, m, reason, "reason reply", reply_to=copy.deepcopy(question))
        return self.text_event(person, m, self.typed_hood(), "hood")

    def _photo(self, caption: bool) -> dict:
        fid = f"photo{next(self._message_ids)}"
        fields: dict = {"photo": [{"file_id": fid + "s", "file_unique_id": fid + "su", "width": 90, "height": 90},
                                  {"file_id": fid, "file_unique_id": fid + "u", "width": 1280, "height": 960}]}
        if caption:
            fields["caption"] = junk(self.rng) if self.rng.random() < 0.5 else words(self.rng, 4)
        return fields

    def _document(self) -> dict:
        rng = self.rng
        fid = f"doc{next(self._message_ids)}"
        name = rng.choice(("file.pdf", "طرح.docx", "x" * 300, "a.exe", junk(rng, 12)))
        return {"document": {"file_id": fid, "file_unique_id": fid + "u", "file_name": name,
                             "mime_type": rng.choice(("application/pdf", "image/png", "application/octet-stream")),
                             "file_size": rng.choice((1, 12_345, 2 * 10**9))}}

    def _sticker(self) -> dict:
        fid = f"sticker{next(self._message_ids)}"
        return {"sticker": {"file_id": fid, "file_unique_id": fid + "u", "type": "regular", "width": 512,
                            "height": 512, "is_animated": False, "is_video": False, "emoji": "👍"}}

    def _location(self, valid: bool) -> dict:
        rng = self.rng
        if valid:
            return {"latitude": 35.8 + rng.random() / 10, "longitude": 51.4 + rng.random() / 10}
        return {"latitude": rng.choice((91.0, -90.5, 0.0, 1e9)), "longitude": rng.choice((181.0, -400.0, 0.0))}

    def _media(self) -> tuple[str, dict]:
        rng = self.rng
        fid = f"m{next(self._message_ids)}"
        sized = {"file_id": fid, "file_unique_id": fid + "u", "width": 1, "height": 1, "duration": 1}
        kind = rng.choice(("sticker", "photo", "document", "voice", "video", "video_note", "audio", "animation",
                           "dice", "venue", "poll"))
        if kind == "sticker":
            return kind, self._sticker()
        if kind == "photo":
            return kind, self._photo(rng.random() < 0.5)
        if kind == "document":
            return kind, self._document()
        if kind == "voice":
            return kind, {"voice": {"file_id": fid, "file_unique_id": fid + "u", "duration": 3}}
        if kind == "video":
            return kind, {"video": sized, "caption": words(rng, 2)}
        if kind == "video_note":
            return kind, {"video_note": {"file_id": fid, "file_unique_id": fid + "u", "length": 1, "duration": 1}}
        if kind == "audio":
            return kind, {"audio": {"file_id": fid, "file_unique_id": fid + "u", "duration": 1}}
        if kind == "animation":
            return kind, {"animation": sized, "document": {"file_id": fid, "file_unique_id": fid + "u"}}
        if kind == "dice":
            return kind, {"dice": {"emoji": "🎲", "value": rng.randint(1, 6)}}
        if kind == "venue":
            location = self._location(True)
            return kind, {"venue": {"location": location, "title": words(rng, 2), "address": words(rng, 3)},
                          "location": location}
        return kind, {"poll": {"id": fid, "question": words(rng, 3), "total_voter_count": 0, "is_closed": False,
                               "is_anonymous": True, "type": "regular", "allows_multiple_answers": False,
                               "allows_revoting": False, "members_only": False,
                               "options": [{"text": "a", "voter_count": 0, "persistent_id": "a"},
                                           {"text": "b", "voter_count": 0, "persistent_id": "b"}]}}

    def _pressable(self, m, chat_id: int) -> list[dict]:
        return [message for message in view(m, chat_id) if buttons_of(message)]

    def _choose_button(self, message: dict) -> str:
        options = buttons_of(message)
        weights = [10 if data.split(":")[-1] in self.favourite_hoods and data[:2] in ("n:", "an") else
                   BUTTON_WEIGHTS.get(data, 1) for _, data in options]
        return self.rng.choices(options, weights)[0][1]

    def _inaccessible(self, message: dict) -> dict:
        """How Telegram shows an old message in a callback query: chat and id, date 0, nothing
        else (tdlib/telegram-bot-api#401)."""
        return {"chat": message["chat"], "message_id": message["message_id"], "date": 0}

    def do_press(self, person: Person, m, state: State) -> Event | None:
        rng = self.rng
        messages = self._pressable(m, person.user_id)
        if not messages:
            return None
        message = messages[-1] if rng.random() < 0.75 else rng.choice(messages)
        data = self._choose_button(message)
        what = "press" if message is messages[-1] else "press-old"
        message = copy.deepcopy(message)
        if rng.random() < 0.03:
            message, what = self._inaccessible(message), "press-48h"
        return self.callback_event(person, m, message, data, what)

    def do_stale(self, person: Person, m, state: State) -> Event | None:
        messages = self._pressable(m, person.user_id)
        if not messages:
            return None
        message = self.rng.choice(messages)
        inaccessible = self.rng.random() < 0.5
        target = self._inaccessible(message) if inaccessible else copy.deepcopy(message)
        return self.callback_event(person, m, target, self._choose_button(message),
                                   "stale-48h" if inaccessible else "stale")

    def do_menu(self, person: Person, m, state: State) -> Event | None:
        rng = self.rng
        keyboard = m.request.reply_keyboard(person.user_id)
        labels = [btn for row in (keyboard or {}).get("keyboard", []) for btn in row]
        if not labels:
            return None
        label = rng.choices(labels, [MENU_WEIGHTS.get(x if isinstance(x, str) else x["text"], 1) for x in labels])[0]
        if isinstance(label, dict) and label.get("request_contact"):
            return self.message_event(person, m, "contact own=True", **self.contact_fields(person))
        if isinstance(label, dict) and label.get("request_location"):
            return self.message_event(person, m, "location", location=self._location(True))
        text = label if isinstance(label, str) else label["text"]
        return self.text_event(person, m, loosely(rng, text) if rng.random() < 0.15 else text, "menu")

    def do_label(self, person: Person, m, state: State) -> Event:
        return self.text_event(person, m, loosely(self.rng, self.rng.choice(CITIZEN_LABELS)), "label")

    def do_junk(self, person: Person, m, state: State) -> Event:
        text = "" if self.rng.random() < 0.05 else junk(self.rng)
        return self.text_event(person, m, text, "junk")

    def do_long(self, person: Person, m, state: State) -> Event:
        rng = self.rng
        text = rng.choice(("ت" * 10_000, (words(rng, 10) + "\n") * 200, junk(rng, 3000)))[:10_000]
        return self.text_event(person, m, text.ljust(10_000, "ا"), "long")

    def do_media(self, person: Person, m, state: State) -> Event:
        kind, fields = self._media()
        return self.message_event(person, m, kind, **fields)

    def do_contact(self, person: Person, m, state: State) -> Event:
        rng = self.rng
        roll = rng.random()
        if roll < 0.5:
            return self.message_event(person, m, "contact own=True", **self.contact_fields(person, True,
                                                                                          self.phone_for(person)))
        if roll < 0.8:  # someone else's card, forwarded from the address book
            other = rng.choice(self.people)
            fields = {"contact": {"phone_number": other.phone, "first_name": "y", "user_id": other.user_id}}
            return self.message_event(person, m, "contact of someone else", **fields)
        return self.message_event(person, m, "contact without user id",
                                  **self.contact_fields(person, False, self.phone_for(person)))

    def do_location(self, person: Person, m, state: State) -> Event:
        valid = self.rng.random() < 0.7
        fields = {"location": {**self._location(valid), "live_period": 60}} if self.rng.random() < 0.2 else \
            {"location": self._location(valid)}
        return self.message_event(person, m, f"location valid={valid}", **fields)

    def do_edited(self, person: Person, m, state: State) -> Event:
        text = self.rng.choice(("/cancel", "/start", b.CANCEL, junk(self.rng), self.typed_hood()))
        return self.text_event(person, m, text, "edited", key="edited_message")

    def do_forward(self, person: Person, m, state: State) -> Event:
        origin = {"type": "hidden_user", "sender_user_name": "someone", "date": 0}
        return self.message_event(person, m, "forwarded", text=words(self.rng, 4), forward_origin=origin)

    def _args(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.4:
            return ""
        if roll < 0.7:
            return " " + junk(rng, rng.choice((1, 5, 30)))
        return " " + rng.choice(("1", "-1", "x" * 100, "/start", "a" * 33, "@test_bot", "\u200f"))

    def do_command(self, person: Person, m, state: State) -> Event:
        rng = self.rng
        name = rng.choice((*COMMANDS, "nonsense", "START", "Help"))
        if name in SLOW_COMMANDS and rng.random() > SLOW_COMMANDS[name]:
            name = "help"
        suffix = rng.choice(("", "", "", "@test_bot", "@other_bot", "@TEST_BOT"))
        return self.text_event(person, m, f"/{name}{suffix}{self._args()}", "command")

    def payload(self, state: State) -> str:
        rng = self.rng
        live = [p for p, revoked in state.links if not revoked]
        revoked = [p for p, r in state.links if r]
        roll = rng.random()
        if roll < 0.35 and live:
            return rng.choice(live)
        if roll < 0.45 and revoked:
            return rng.choice(revoked)
        return rng.choice(("", "a" + "".join(rng.choice("abcXYZ019_-") for _ in range(32)), "a" * 65, "b" * 64,
                           "سلام", "a" + "ب" * 32, junk(rng, 20).replace(" ", ""), "a", "a-_" * 11,
                           "".join(chr(rng.randrange(33, 127)) for _ in range(rng.randint(1, 80)))))

    def do_start(self, person: Person, m, state: State) -> Event:
        payload = self.payload(state)
        suffix = "@test_bot" if self.rng.random() < 0.1 else ""
        return self.text_event(person, m, f"/start{suffix} {payload}".rstrip(), "start")

    def forged_data(self, state: State) -> str:
        rng = self.rng
        pid = self.some_id(state.proposals)
        cid = self.some_id(state.ambassadors if rng.random() < 0.7 else state.citizens)
        bid = self.some_id(state.broadcasts)
        rid = self.some_id(state.results)
        hood = rng.choice((*self.hoods, "atlantis", "", "../x", "TAJRISH", "tajrish "))
        n = rng.choice((0, 1, 2, 5, 26, 27, 99, 999999))
        data = rng.choice((
            f"n:{hood}", f"an:{hood}", "an:-", f"c:{rng.choice((*self.categories, 'nope'))}", "pv:ok", "pv:edit",
            "pv:cancel", f"pe:{rng.choice(('cat', 'title', 'desc', 'media', 'back', 'x'))}",
            f"v:{pid}:{n}", f"w:{pid}:{n}", f"p:{n}", "p:-1", f"v:{pid}", f"m:a:{pid}", f"m:r:{pid}",
            f"rv:{rng.choice(('a', 'r', 'c', 'd', 'n', 'rt'))}:{pid}", f"rv:rr:{pid}:{n % 10}", f"rv:cc:{pid}:{n % 10}",
            f"fz:{rng.choice('yn')}:{pid}:{rng.choice('ufn')}", f"fz:{rng.choice('cs')}:{pid}",
            f"bc:{rng.choice(('a', 'n', 't', 'd', 'p', 'go', 'at', 'back', 'x'))}:{bid}:{rng.choice(('e', 'v', 't', '3', 'zz'))}",
            f"bc:go:{bid}", f"cal:mv:{n % 10}", f"amb:{rng.choice('arsuxkv')}:{cid}", f"amb:p:{n}",
            f"ap:{rng.choice(('links', 'card', 'poster', 'stats', 'new', 'x'))}", f"au:{n}",
            f"rs:v:{rid}:{n % 30}", f"rs:p:{rid}", "rs:c", f"rs:h:{n % 30}",
        ))
        return data.encode()[:64].decode("ascii", "ignore")

    def _own_target(self, person: Person, m) -> dict | None:
        messages = view(m, person.user_id)
        if not messages:
            return None
        return copy.deepcopy(messages[-1] if self.rng.random() < 0.7 else self.rng.choice(messages))

    def do_forged(self, person: Person, m, state: State) -> Event | None:
        target = self._own_target(person, m)
        return None if target is None else self.callback_event(person, m, target, self.forged_data(state), "forged")

    def do_foreign(self, person: Person, m, state: State) -> Event | None:
        """A button copied from someone else's chat, pressed on one's own message."""
        target = self._own_target(person, m)
        others = [p for p in self.people if p.platform == person.platform and p is not person]
        chats = [p.user_id for p in others] + [self.config.platforms[person.platform].staff_chat_id or 0]
        pressable = self._pressable(m, self.rng.choice(chats))
        if target is None or not pressable:
            return None
        return self.callback_event(person, m, target, self._choose_button(self.rng.choice(pressable)), "foreign")

    def do_random_data(self, person: Person, m, state: State) -> Event | None:
        target = self._own_target(person, m)
        if target is None:
            return None
        data = bytes(self.rng.randrange(128) for _ in range(self.rng.randint(0, 64))).decode("ascii")
        return self.callback_event(person, m, target, data, "random-data")

    def do_reply(self, person: Person, m, state: State) -> Event | None:
        messages = view(m, person.user_id)
        if not messages:
            return None
        replied = copy.deepcopy(self.rng.choice(messages))
        return self.text_event(person, m, words(self.rng, 3), "reply", reply_to=replied)

    # -- groups ---------------------------------------------------------------------------------------

    def _group(self, person: Person) -> int | None:
        return self.rng.choice(person.groups) if person.groups else None

    def do_group_message(self, person: Person, m, state: State) -> Event | None:
        rng = self.rng
        chat = self._group(person)
        if chat is None:
            return None
        roll = rng.random()
        if roll < 0.45:
            name = rng.choice((*COMMANDS, "nonsense"))
            if name in SLOW_COMMANDS and rng.random() > SLOW_COMMANDS[name]:
                name = "whoami"
            suffix = rng.choice(("", "", "@test_bot", "@other_bot"))
            return self.text_event(person, m, f"/{name}{suffix}{self._args()}", "group-command", chat, state)
        if roll < 0.6:
            messages = view(m, chat)
            if messages:
                replied = copy.deepcopy(rng.choice(messages))
                return self.text_event(person, m, rng.choice((words(rng, 3), "/start", "")), "group-reply", chat,
                                       state, reply_to=replied)
        if roll < 0.75:
            kind, fields = self._media()
            return self.message_event(person, m, f"group-{kind}", chat, state=state, **fields)
        text = rng.choice((junk(rng), rng.choice(CITIZEN_LABELS), self.typed_hood()))
        return self.text_event(person, m, text, "group-text", chat, state)

    def do_group_edited(self, person: Person, m, state: State) -> Event | None:
        chat = self._group(person)
        if chat is None:
            return None
        return self.text_event(person, m, self.rng.choice(("/whoami", "/review", junk(self.rng))), "group-edited",
                               chat, key="edited_message")

    def do_group_press(self, person: Person, m, state: State) -> Event | None:
        """A group's own buttons, or a citizen's button data pressed on a message of the group (a
        tampered client: it can send any data, but only for a message that is there)."""
        chat = self._group(person)
        if chat is None:
            return None
        own, there = self._pressable(m, person.user_id), self._pressable(m, chat)
        if there and (not own or self.rng.random() < 0.5):
            message = copy.deepcopy(self.rng.choice(there))
            return self.callback_event(person, m, message, self._choose_button(message), "group-press")
        messages = view(m, chat)
        if not own or not messages:
            return None
        data = self._choose_button(self.rng.choice(own))
        return self.callback_event(person, m, copy.deepcopy(self.rng.choice(messages)), data, "group-press-private-data")

    def do_member(self, person: Person, m, state: State) -> Event:
        """They block (or unblock) the bot: an update without anything to answer."""
        status = self.rng.choice(("kicked", "member"))
        update = m.updates.raw({"my_chat_member": {
            "chat": m.updates.chat(person.user_id), "from": m.updates.user(person.user_id),
            "date": int(self.bot.clock.now().timestamp()),
            "old_chat_member": {"user": BOT_USER, "status": "member" if status == "kicked" else "kicked",
                                **({"until_date": 0} if status == "member" else {})},
            "new_chat_member": {"user": BOT_USER, "status": status, **({"until_date": 0} if status == "kicked" else {})},
        }})
        return Event(person, update, person.user_id, SILENT, f"my_chat_member {status}")

    def do_channel_post(self, person: Person, m, state: State) -> Event:
        channel = -1009000
        update = m.updates.raw({"channel_post": {
            "message_id": next(self._message_ids), "date": int(self.bot.clock.now().timestamp()),
            "chat": {"id": channel, "type": "channel", "title": "c"}, **self._text_fields(
                self.rng.choice(("/whoami", "/start", words(self.rng, 3))))}})
        return Event(person, update, channel, SILENT, "channel_post")

    # -- staff ----------------------------------------------------------------------------------------

    def do_staff_command(self, person: Person, m, state: State) -> Event:
        rng = self.rng
        name = rng.choice(sorted(COMMAND_ACTIONS))
        if name in SLOW_COMMANDS and rng.random() > SLOW_COMMANDS[name]:
            name = "review"
        return self.text_event(person, m, f"/{name}{self._args() if rng.random() < 0.2 else ''}", "staff-command")

    def _staff_chat(self, person: Person) -> int | None:
        chat = self.config.platforms[person.platform].staff_chat_id
        return chat if chat is not None and chat in person.groups else None

    def do_staff_chat_press(self, person: Person, m, state: State) -> Event | None:
        chat = self._staff_chat(person)
        messages = self._pressable(m, chat) if chat is not None else []
        if not messages:
            return None
        message = messages[-1] if self.rng.random() < 0.5 else self.rng.choice(messages)
        return self.callback_event(person, m, copy.deepcopy(message), self._choose_button(message), "staff-chat-press")

    def do_staff_chat_reply(self, person: Person, m, state: State) -> Event | None:
        chat = self._staff_chat(person)
        if chat is None:
            return None
        questions = [message for message in view(m, chat)
                     if (person.platform, chat, message["message_id"]) in state.reason_prompts]
        if not questions:
            return None
        reason = self.explanation(person)
        return self.text_event(person, m, reason, "staff-chat-reason", chat, state,
                               reply_to=copy.deepcopy(self.rng.choice(questions)))

    # -- invariants --------------------------------------------------------------------------------

    def check_step(self, events: list[Event], before: State, after: State) -> None:
        # A call the Bot API would refuse first: the error it then causes is only its symptom.
        self.check_api(events)
        self.check_errors(events)
        self.check_answers(events)
        self.check_votes(before, after, events)
        self.check_markers(after, {e.callback_id: e.person for e in events if e.callback_id}, events)
        self.check_staff_state([e.person for e in events], before, after, events)

    def check_api(self, events: list[Event] = ()) -> None:
        """7. Every call is one the Bot API would accept (lengths, HTML, button data; plain on Bale)."""
        for platform, m in self.bot.messengers.items():
            for call in m.request.calls:
                why = api_refusal(platform, call)
                if why is not None:
                    raise self.fail(f"{platform} {call.method} to {call.params.get('chat_id')} would be refused: {why}",
                                    events)

    def check_errors(self, events: list[Event]) -> None:
        """1. Nothing reached PTB's error handler (tests/conftest.Bot records what would have)."""
        if self.bot.errors:
            error = self.bot.errors[0]
            trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            self.bot.errors.clear()
            raise self.fail(f"an error reached the error handler: {error!r}\n{trace}", events)

    def check_answers(self, events: list[Event]) -> None:
        """2. Every update is answered or deliberately ignored (see Event.expect), where it came from."""
        for event in events:
            calls = self.messenger(event.person).request.calls
            if event.expect == CALLBACK:
                answers = [c for c in calls if c.method == "answerCallbackQuery"
                           and c.params.get("callback_query_id") == event.callback_id]
                if len(answers) != 1:
                    raise self.fail(f"a callback query got {len(answers)} answerCallbackQuery (exactly 1 expected)",
                                    events)
                continue
            to_chat = [c.method for c in calls if chat_of(c) == event.chat_id and c.method != "answerCallbackQuery"]
            if event.expect == ANSWER and not to_chat:
                raise self.fail(f"no answer in chat {event.chat_id}", events)
            if event.expect == SILENT and to_chat:
                raise self.fail(f"a deliberately ignored update was answered: {to_chat}", events)
        # And a citizen's update is answered to them: it reaches no other citizen's private chat
        # (staff do: cards, applications). Staff steps may tell authors and ambassadors.
        if any(roles_of(self.config, *event.person.key) for event in events):
            return
        own = {event.person.key for event in events}
        for platform, m in self.bot.messengers.items():
            for call in m.request.calls:
                chat = chat_of(call)
                if chat is not None and chat > 0 and (platform, chat) not in own \
                        and not roles_of(self.config, platform, chat):
                    raise self.fail(f"a citizen's step sent {call.method} to another person's chat {platform}:{chat}",
                                    events)

    def check_votes(self, before: State, after: State, events: list[Event] = ()) -> None:
        """3. Nobody holds more votes than the limit, nor two on one proposal; every vote is a
        verified citizen's, for an approved, costed proposal of their own neighbourhood; votes
        change only while voting is open."""
        limit = self.config.limits.votes_per_citizen
        per_citizen: defaultdict[int, int] = defaultdict(int)
        for citizen_id, proposal_id in after.votes:
            per_citizen[citizen_id] += 1
            citizen, proposal = after.citizens.get(citizen_id), after.proposals.get(proposal_id)
            if citizen is None or proposal is None:
                raise self.fail(f"a vote of citizen {citizen_id} for proposal {proposal_id}: one does not exist", events)
            if citizen.verified_at is None or citizen.first_vote_at is None:
                raise self.fail(f"citizen {citizen_id} voted without a verified phone", events)
            if not on_ballot(proposal) or proposal.neighbourhood_id != citizen.neighbourhood_id:
                raise self.fail(f"vote of {citizen_id} ({citizen.neighbourhood_id}) on {proposal} is not on their "
                                "ballot", events)
        over = {c: n for c, n in per_citizen.items() if n > limit}
        if over:
            raise self.fail(f"more than {limit} votes: {over}", events)
        if after.votes != before.votes and self.phase is not Phase.VOTING:
            raise self.fail(f"votes changed outside voting ({self.phase}): +{after.votes - before.votes} "
                            f"-{before.votes - after.votes}", events)
        # The primary key makes a second vote on one proposal impossible; a set cannot show it,
        # so count the rows themselves every integrity check (check_integrity).

    def _proposal_markers(self, state: State) -> dict[str, P]:
        found = {}
        for proposal in state.proposals.values():
            match = MARK_RE.search(proposal.title)
            if match:
                found[match[0]] = proposal
        return found

    def marker_refusal(self, mark: str, platform: str, chat: int, state: State, by_marker: dict[str, P]) -> str | None:
        """Why this chat must not read this marker (None: it may).

        The product's rules (handlers/ and bot/campaign/services/): staff and the staff chat see every
        proposal; a citizen sees their own proposals (and drafts), the ballot of their own
        neighbourhood (approved, feasible and costed: storage.rows.ON_BALLOT), every
        neighbourhood's published winners (the results button), and — as the rejection reason
        of their own proposal marked a duplicate — the original's title, whatever its
        neighbourhood or status (messages_fa.staff.duplicate_reason). Text a staff member typed
        is theirs to publish (a broadcast); text a citizen typed goes to them and to staff only."""
        staff_chat = self.config.platforms[platform].staff_chat_id
        if chat == staff_chat or (chat > 0 and roles_of(self.config, platform, chat)):
            return None
        proposal = by_marker.get(mark)
        citizen = state.by_chat.get((platform, chat)) if chat > 0 else None
        if proposal is None:
            owner = self.markers.get(mark)
            if owner is None:
                return "a marker nobody typed"
            if roles_of(self.config, *owner):
                return None
            if citizen is not None and (citizen.platform, citizen.user_id) == owner:
                return None
            return f"text typed by {owner} (no proposal)"
        if proposal.id in state.published_winners:
            return None
        if citizen is None:
            return f"proposal {proposal.id} ({proposal.status}) in a chat that is no citizen's"
        if proposal.citizen_id == citizen.id:
            return None
        if on_ballot(proposal) and proposal.neighbourhood_id == citizen.neighbourhood_id:
            return None
        if (proposal.status == "approved" and proposal.feasibility != "not_feasible"
                and proposal.neighbourhood_id == citizen.neighbourhood_id):
            return None  # a similar proposal of their neighbourhood, offered before a new one (issue 16 §3)
        if any(q.duplicate_of == proposal.id and q.citizen_id == citizen.id for q in state.proposals.values()):
            return None
        return (f"proposal {proposal.id} ({proposal.status}, feasibility {proposal.feasibility}, cost {proposal.cost}, "
                f"{proposal.neighbourhood_id}) shown to citizen {citizen.id} of {citizen.neighbourhood_id}")

    def check_markers(self, state: State, pressers: dict[str, Person], events: list[Event] = ()) -> None:
        """4. No proposal is seen outside its neighbourhood or before approval."""
        by_marker = None
        for platform, m in self.bot.messengers.items():
            for call in m.request.calls:
                if call.method == "answerCallbackQuery":
                    person = pressers.get(call.params.get("callback_query_id"))
                    chat, found = (person.user_id if person else 0), MARK_RE.findall(call.params.get("text") or "")
                else:
                    chat = chat_of(call)
                    if chat is None:
                        continue
                    found = [mark for text in message_texts(call.params) for mark in MARK_RE.findall(text)]
                for mark in found:
                    by_marker = by_marker if by_marker is not None else self._proposal_markers(state)
                    why = self.marker_refusal(mark, platform, chat, state, by_marker)
                    if why is not None:
                        raise self.fail(f"{call.method} to {platform} chat {chat} shows {mark}: {why}", events)

    def check_staff_state(self, persons: list[Person], before: State, after: State, events: list[Event] = ()) -> None:
        """5. Staff-only state changes only by the hand of someone whose role allows it (and the
        audit log names them); citizens change only what is theirs."""
        from handlers.staff_input import TAKERS  # what each open question belongs to

        system = not persons
        acting = {p.key for p in persons}

        def allowed(action: str) -> set[str]:
            return {p.ref for p in persons if may(self.config, p.platform, p.user_id, action)}

        problems = []
        for pid, old in before.proposals.items():
            new = after.proposals.get(pid)
            if new is None:
                problems.append(f"proposal {pid} vanished")
                continue
            if (new.id, new.code, new.citizen_id, new.neighbourhood_id, new.title) != \
                    (old.id, old.code, old.citizen_id, old.neighbourhood_id, old.title):
                problems.append(f"proposal {pid} changed its identity: {old} → {new}")
            if old.status != "pending" and new.status != old.status:
                problems.append(f"proposal {pid} decided twice: {old.status} → {new.status}")
            for fields, action, by in ((MODERATION_FIELDS, "moderate", "decided_by"), (REVIEW_FIELDS, "review", "reviewed_by")):
                changed = [f for f in fields if getattr(old, f) != getattr(new, f)]
                if not changed:
                    continue
                ok = allowed(action)
                if not ok or (getattr(new, by) != getattr(old, by) and getattr(new, by) not in ok):
                    problems.append(f"proposal {pid}: {changed} changed ({old} → {new}) by {persons or 'the system'}")
        for pid in after.proposals.keys() - before.proposals.keys():
            new = after.proposals[pid]
            author = after.citizens[new.citizen_id]
            if (new.status, new.decided_by, new.feasibility, new.cost, new.reviewed_by, new.duplicate_of) != \
                    ("pending", None, None, None, None, None) or (author.platform, author.user_id) not in acting:
                problems.append(f"new proposal {new} (author {author}) in a step of {persons or 'the system'}")
        for audit_id, who, action, target in after.audit:
            need = AUDIT_ACTIONS.get(action)
            if need is None or who not in allowed(need):
                problems.append(f"audit {audit_id}: {who} {action} {target} in a step of {persons or 'the system'}")
            if action in ("approve", "reject", "duplicate"):  # a proposal is decided once, whoever presses
                if target in self.decided:
                    problems.append(f"audit {audit_id}: {target} decided again ({who} {action})")
                self.decided.add(target)
        for bid, row in after.broadcasts.items():
            old = before.broadcasts.get(bid)
            _, created_by, cancelled_by, _, _, announcement = row
            if old is None:
                ok = (system or (announcement == "results" and allowed("results"))) if announcement \
                    else created_by in allowed("broadcast")
            elif old != row:
                ok = old[1:] == row[1:] if system else bool(allowed("broadcast")) and \
                    (cancelled_by == old[2] or cancelled_by in allowed("broadcast"))
            else:
                ok = True
            if not ok:
                problems.append(f"broadcast {bid}: {old} → {row} in a step of {persons or 'the system'}")
        for move_id in after.moves.keys() - before.moves.keys():
            if after.moves[move_id] not in allowed("schedule"):
                problems.append(f"calendar move {move_id} by {after.moves[move_id]} in a step of {persons}")
        decided = {"approved", "rejected", "suspended", "removed"}
        for cid, row in after.ambassadors.items():
            old = before.ambassadors.get(cid)
            if old == row:
                continue
            status, decided_by, _ = row
            owner = after.citizens[cid]
            own = (owner.platform, owner.user_id) in acting
            if old is None:
                ok = own and status in ("draft", "pending") and decided_by is None
            elif (decided_by is not None and decided_by != old[1]) or (status in decided and status != old[0]):
                ok = decided_by in allowed("ambassadors")
            else:  # the applicant's own steps: submit, or apply again after a rejection or removal
                ok = own and (old[0], status) in {("draft", "pending"), ("rejected", "draft"), ("removed", "draft")}
            if not ok:
                problems.append(f"ambassador {cid}: {old} → {row} in a step of {persons or 'the system'}")
        for rid, row in after.results.items():
            old = before.results.get(rid)
            if old is None and row[0] not in allowed("results"):
                problems.append(f"results {rid} computed by {row[0]} in a step of {persons or 'the system'}")
            elif old is not None and old != row and row[2] not in allowed("results"):
                problems.append(f"results {rid}: {old} → {row} in a step of {persons or 'the system'}")
            closes = self.bot.services.calendar.current.voting_closes
            if row[1] is not None and (old is None or old[1] is None) and \
                    (self.phase is not Phase.CLOSED or dt.datetime.fromisoformat(row[3]) < closes):
                problems.append(f"results {rid} computed at {row[3]} published while {self.phase.value} (voting "
                                f"closes {closes}): only a count of every vote is published")
        for key, kind in after.staff_inputs.items():
            if before.staff_inputs.get(key) != kind:
                action = TAKERS.get(kind, (None,))[0]
                if key not in acting or not may(self.config, *key, action):
                    problems.append(f"an open staff question {kind} for {key} in a step of {persons or 'the system'}")
        if after.reason_prompts - before.reason_prompts and not allowed("moderate"):
            problems.append(f"rejection-reason questions asked in a step of {persons or 'the system'}")
        if problems:
            raise self.fail("staff-only state changed:\n    " + "\n    ".join(problems), events)

    async def check_integrity(self) -> None:
        """6. The database is sound, and the votes' primary key holds."""
        ok, foreign = await self.bot.db.read(integrity)
        if [tuple(r) for r in ok] != [("ok",)] or foreign:
            raise self.fail(f"integrity_check {[tuple(r) for r in ok]}, foreign_key_check {[tuple(r) for r in foreign]}")
        twice = await self.bot.db.read(lambda conn: conn.execute(
            "SELECT citizen_id, proposal_id, count(*) FROM votes GROUP BY 1, 2 HAVING count(*) > 1").fetchall())
        if twice:
            raise self.fail(f"two votes on one proposal: {[tuple(r) for r in twice]}")

    # -- what the run covered -----------------------------------------------------------------------

    async def summary(self) -> dict:
        state = await self.read(self.started_at_audit)
        return {
            "phases": sorted(p.value for p in self.seen_phases),
            "proposals": len(state.proposals),
            "votes": len(state.votes),
            "audit": len(state.audit),
            "ambassadors": sorted({row[0] for row in state.ambassadors.values()}),
            "broadcasts": len(state.broadcasts),
            "results": len(state.results),
            "calendar moves": len(state.moves),
            "actions": dict(sorted(self.counts.items())),
        }


# -- the world the crowd starts in -------------------------------------------------------------------

TELEGRAM_STAFF = {"admins": {900}, "moderators": {910, 930}, "reviewers": {920, 930}}
BALE_STAFF = {"admins": {901}, "moderators": {911}, "reviewers": {921}}
VERBOSE_STAFF = {930, 911}  # a moderator-reviewer on Telegram and a moderator on Bale
STAFF_CHAT = -1000  # tests/conftest.make_config's Telegram staff chat; Bale has none (admins get cards)
# hood → statuses of its seeded proposals ("ballot": approved, feasible and costed)
SEEDED = {
    "tajrish": ("ballot",) * 7 + ("approved", "not_feasible", "pending", "rejected"),
    "darband": ("ballot", "ballot", "ballot", "pending"),
    "niavaran": ("ballot", "ballot", "approved", "rejected"),
    "velenjak": ("approved", "pending"),
}
# hood → the crowd's citizens who wrote them (three active proposals each at most)
AUTHORS = {"tajrish": [("telegram", 5001), ("telegram", 5002), ("telegram", 5003), ("bale", 6001)],
           "darband": [("bale", 6002), ("telegram", 5004)], "niavaran": [("telegram", 5005), ("bale", 6003)],
           "velenjak": [("telegram", 5006)]}


def crowd_config(config):
    """Staff on both messengers, every role; broadcasts paced fast enough for a test (the sender
    waits real time between messages)."""
    platforms = {}
    for name, staff in (("telegram", TELEGRAM_STAFF), ("bale", BALE_STAFF)):
        platforms[name] = dataclasses.replace(
            config.platforms[name], admins=frozenset(staff["admins"]), moderators=frozenset(staff["moderators"]),
            reviewers=frozenset(staff["reviewers"]), broadcast_rate=100_000.0)
    return dataclasses.replace(config, platforms=platforms)


def crowd_people() -> list[Person]:
    def phone(n: int) -> str:
        return f"+98912{n:07d}"

    people = []
    for uid in range(5001, 5013):  # 5001 and 5002 volunteer in the staff chat
        groups = ((-500, -501) if uid % 2 else (-500,)) + ((STAFF_CHAT,) if uid <= 5002 else ())
        people.append(Person("telegram", uid, phone(uid), "citizen", groups))
    for uid in range(6001, 6006):
        people.append(Person("bale", uid, phone(uid), "citizen", (-700,)))
    # 5003's Bale account, with the same phone; and on Bale, id 5001 is someone else than on Telegram.
    people.append(Person("bale", 6006, phone(5003), "citizen", (-700,)))
    people.append(Person("bale", 5001, phone(995001), "citizen", (-700,)))
    people.append(Person("telegram", 7001, phone(7001), "ambassador", (-500, STAFF_CHAT)))
    people.append(Person("telegram", 7002, phone(7002), "ambassador", (-501,)))
    people.append(Person("bale", 7101, phone(7101), "ambassador", (-700,)))
    for name, staff, chats in (("telegram", TELEGRAM_STAFF, (STAFF_CHAT, -500)), ("bale", BALE_STAFF, (-700,))):
        for uid in sorted(set().union(*staff.values())):
            people.append(Person(name, uid, phone(uid), "staff", chats, verbose=uid in VERBOSE_STAFF))
    return people


async def seed_world(crowd: Crowd) -> None:
    """Proposals in four neighbourhoods in every state, two approved ambassadors with links and a
    pending applicant — written through the services and repositories, at the clock's moment."""
    bot = crowd.bot
    services, repos, now = bot.services, bot.services.repos, bot.clock.now()
    from bot.campaign.services.proposals import new_tracking_code

    people = {p.key: p for p in crowd.people}
    moderator, reviewer = Actor.person("telegram", 910), Actor.person("bale", 921)
    count = 0
    for hood, statuses in SEEDED.items():
        for i, status in enumerate(statuses):
            author = people[AUTHORS[hood][i % len(AUTHORS[hood])]]
            citizen, _ = await services.citizens.enter(author.platform, author.user_id, author.user_id)
            await repos.citizens.set_neighbourhood(citizen.id, hood)
            author.started = True
            title = f"{crowd.new_marker(author.key)} {words(crowd.rng, 3)}"
            await repos.drafts.update(citizen.id, now, category_id=crowd.categories[count % len(crowd.categories)],
                                      title=title, description=words(crowd.rng, 12))
            proposal = await repos.proposals.submit_draft(citizen.id, hood, author.platform, new_tracking_code,
                                                          crowd.config.limits.proposals_per_citizen, now)
            assert proposal is not None, (hood, i)
            count += 1
            if status == "pending":
                continue
            if status == "rejected":
                await services.proposals.decide(moderator, proposal.id, False, words(crowd.rng, 4))
                continue
            await services.proposals.decide(moderator, proposal.id, True)
            if status in ("ballot", "not_feasible"):
                await services.proposals.judge(reviewer, proposal.id, status == "ballot", words(crowd.rng, 3))
            if status == "ballot":
                await services.proposals.set_cost(reviewer, proposal.id, str(crowd.rng.randrange(1, 900) * 10**6))
    for key, hood, decision in ((("telegram", 7001), "tajrish", "approve"), (("bale", 7101), "darband", "approve"),
                                (("telegram", 7002), "niavaran", None)):
        person = people[key]
        citizen, _ = await services.citizens.enter(person.platform, person.user_id, person.user_id)
        await repos.citizens.set_neighbourhood(citizen.id, hood)
        person.started = True
        normalized = normalize_iranian_mobile(person.phone)
        await repos.ambassadors.start_draft(citizen.id, now)
        await repos.ambassadors.update_draft(citizen.id, full_name=words(crowd.rng, 2), neighbourhood_id=hood,
                                             groups=words(crowd.rng, 3), phone=normalized,
                                             phone_hash=phone_hash(crowd.config.phone_hash_secret, normalized))
        await repos.ambassadors.submit(citizen.id, now)
        if decision:
            admin = Actor.person(person.platform, 900 if person.platform == "telegram" else 901)
            await services.ambassadors.decide(admin, citizen.id, decision)
            await services.ambassadors.link(await repos.ambassadors.get(citizen.id))
