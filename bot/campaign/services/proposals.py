"""Writing, submitting and moderating proposals."""
from __future__ import annotations

import datetime as dt
import enum
import secrets
from dataclasses import dataclass

from bot.campaign.calendar import CampaignCalendar
from bot.campaign.clock import Clock
from bot.campaign.config import DESCRIPTION_LENGTH, TITLE_LENGTH, Config
from bot.campaign.money import parse_cost
from bot.campaign.roles import Actor, may_act
from domain import APPROVED, FEASIBLE, NOT_FEASIBLE, PENDING, REJECTED, Citizen, Draft, Phase, Proposal
from messages_fa import texts
from messages_fa.fit import units
from messages_fa.normalize import clean_text, has_words, to_ascii_digits, visible_length
from storage.interface import Repositories

MIN_TITLE, MIN_DESCRIPTION = TITLE_LENGTH[0], DESCRIPTION_LENGTH[0]  # check-config holds the limits to them
MAX_REASON = 500  # a typed rejection reason or feasibility explanation, in UTF-16 units
MAX_CODE_TYPED = 20  # a tracking code is 7 digits; room for spaces and a stray character


class Gate(enum.Enum):
    OK = "ok"
    NOT_OPEN = "not_open"
    NO_NEIGHBOURHOOD = "no_neighbourhood"
    LIMIT = "limit"
    DAILY_LIMIT = "daily_limit"  # limits.proposals_per_day reached today (Tehran calendar day)
    NO_DRAFT = "no_draft"


class TextCheck(enum.Enum):
    OK = "ok"
    TOO_LONG = "too_long"
    TOO_SHORT = "too_short"
    NO_WORDS = "no_words"  # only invisible characters, fillers or punctuation: nothing staff could read


@dataclass(frozen=True)
class TextResult:
    check: TextCheck
    length: int
    limit: int


class VoiceCheck(enum.Enum):
    OK = "ok"
    TOO_LONG = "too_long"  # over voice.max_seconds
    TOO_BIG = "too_big"  # over voice.max_megabytes (Telegram's bots download at most 20 MB)


@dataclass(frozen=True)
class SubmitResult:
    gate: Gate
    proposal: Proposal | None = None


class Decision(enum.Enum):
    DONE = "done"
    NOT_STAFF = "not_staff"
    ALREADY = "already"
    MISSING = "missing"
    CLOSED = "closed"  # voting has opened: the ballot no longer changes
    INVALID = "invalid"  # a cost that cannot be read
    TOO_LONG = "too_long"  # a reason or explanation over MAX_REASON characters: nothing changed
    NO_TITLE = "no_title"  # approving before staff wrote the title its author left to them (/title)


@dataclass(frozen=True)
class DecisionResult:
    decision: Decision
    proposal: Proposal | None = None


def new_tracking_code() -> str:
    """Seven random digits: short enough to read over the phone, not enumerable."""
    return str(1_000_000 + secrets.randbelow(9_000_000))


class ProposalService:
    def __init__(self, config: Config, clock: Clock, repos: Repositories, calendar: CampaignCalendar) -> None:
        self.config, self.clock, self.repos, self.calendar = config, clock, repos, calendar

    async def gate(self, citizen: Citizen) -> Gate:
        """May this citizen start (or submit) a proposal right now?"""
        if self.calendar.phase().phase is not Phase.PROPOSALS:
            return Gate.NOT_OPEN
        if self.config.neighbourhood(citizen.neighbourhood_id) is None:
            return Gate.NO_NEIGHBOURHOOD
        if await self.repos.proposals.count_active_by_citizen(citizen.id) >= self.config.limits.proposals_per_citizen:
            return Gate.LIMIT
        if await self.repos.proposals.count_since(citizen.id, self.today_starts()) >= self.config.limits.proposals_per_day:
            return Gate.DAILY_LIMIT
        return Gate.OK

    def today_starts(self) -> dt.datetime:
        """00:00 of today in general.timezone (Tehran), as UTC: the daily limit's day."""
        local = self.clock.now().astimezone(self.config.timezone)
        return dt.datetime.combine(local.date(), dt.time(), tzinfo=self.config.timezone).astimezone(dt.UTC)

    def next_day_starts(self) -> dt.datetime:
        """00:00 of tomorrow in general.timezone, as UTC: when a citizen at the daily limit may
        send again."""
        local = self.clock.now().astimezone(self.config.timezone)
        tomorrow = local.date() + dt.timedelta(days=1)
        return dt.datetime.combine(tomorrow, dt.time(), tzinfo=self.config.timezone).astimezone(dt.UTC)

    def open_on_next_day(self) -> bool:
        """Whether registration is still open when tomorrow starts (otherwise "tomorrow" is no answer)."""
        return self.next_day_starts() < self.calendar.current.proposals_closes

    async def start(self, citizen: Citizen) -> tuple[Gate, Draft | None]:
        """Gate, then the draft to continue: an unfinished one is kept (a menu press in the middle
        of writing must not lose it; the cancel button discards it), otherwise a fresh one."""
        gate = await self.gate(citizen)
        if gate is not Gate.OK:
            return gate, None
        draft = await self.repos.drafts.get(citizen.id)
        if draft is None or not (draft.category_id or draft.title or draft.description):
            await self.repos.drafts.start(citizen.id, self.clock.now())
            return gate, None
        return gate, draft

    async def draft(self, citizen: Citizen) -> Draft | None:
        return await self.repos.drafts.get(citizen.id)

    async def set_category(self, citizen: Citizen, category_id: str) -> bool:
        if self.config.category(category_id) is None:
            return False
        await self.repos.drafts.update(citizen.id, self.clock.now(), category_id=category_id)
        return True

    async def set_title(self, citizen: Citizen, text: str) -> TextResult:
        # A typed title replaces "staff will write it" chosen before.
        return await self._set_text(citizen, "title", clean_text(text, single_line=True),
                                    MIN_TITLE, self.config.limits.title_length, title_by_staff=None)

    async def set_description(self, citizen: Citizen, text: str) -> TextResult:
        # A typed description replaces a voice note sent before it.
        return await self._set_text(citizen, "description", clean_text(text, single_line=False),
                                    MIN_DESCRIPTION, self.config.limits.description_length,
                                    voice_file_id=None, voice_duration=None, voice_platform=None)

    async def set_voice(self, citizen: Citizen, file_id: str, duration: int, size: int | None) -> VoiceCheck:
        """A voice note as the description: its file id, length and messenger are kept, and the
        description reads that it is a voice note (so every screen that shows one has text)."""
        limits = self.config.voice
        if duration > limits.max_seconds:
            return VoiceCheck.TOO_LONG
        if size is not None and size > limits.max_bytes:
            return VoiceCheck.TOO_BIG
        await self.repos.drafts.update(citizen.id, self.clock.now(), description=texts.voice_description(duration),
                                       voice_file_id=file_id, voice_duration=duration, voice_platform=citizen.platform)
        return VoiceCheck.OK

    async def let_staff_write_title(self, citizen: Citizen) -> None:
        """For a citizen who cannot type: the title says staff will write it (and they do, from
        the card, before approving)."""
        await self.repos.drafts.update(citizen.id, self.clock.now(), title=texts.title_by_staff(), title_by_staff=1)

    async def _set_text(self, citizen: Citizen, field: str, text: str, minimum: int, limit: int,
                        **also: object) -> TextResult:
        # Counted as the messengers count (an emoji is two): what passes here fits the preview.
        length = units(text)
        if length > limit:
            return TextResult(TextCheck.TOO_LONG, length, limit)
        if not has_words(text):
            return TextResult(TextCheck.NO_WORDS, length, limit)
        if visible_length(text) < minimum:
            return TextResult(TextCheck.TOO_SHORT, length, limit)
        await self.repos.drafts.update(citizen.id, self.clock.now(), **{field: text}, **also)
        return TextResult(TextCheck.OK, length, limit)

    async def set_photo(self, citizen: Citizen, file_id: str) -> None:
        await self.repos.drafts.update(citizen.id, self.clock.now(), photo_file_id=file_id)

    async def set_location(self, citizen: Citizen, latitude: float, longitude: float) -> bool:
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            return False
        await self.repos.drafts.update(citizen.id, self.clock.now(), latitude=latitude, longitude=longitude)
        return True

    async def discard(self, citizen: Citizen) -> None:
        await self.repos.drafts.delete(citizen.id)

    async def submit(self, citizen: Citizen) -> SubmitResult:
        gate = await self.gate(citizen)
        if gate is not Gate.OK:
            return SubmitResult(gate)
        try:
            # Both limits again inside the transaction: the gate above may be stale by now.
            proposal = await self.repos.proposals.submit_draft(
                citizen.id, citizen.neighbourhood_id, citizen.platform, new_tracking_code,
                self.config.limits.proposals_per_citizen, self.clock.now(),
                per_day=(self.config.limits.proposals_per_day, self.today_starts()),
            )
        except LookupError:
            return SubmitResult(Gate.NO_DRAFT)
        if proposal is None:
            # Refused inside the transaction; which limit it was, as of now.
            gate = await self.gate(citizen)
            return SubmitResult(gate if gate in (Gate.LIMIT, Gate.DAILY_LIMIT) else Gate.LIMIT)
        return SubmitResult(Gate.OK, proposal)

    async def mine(self, citizen: Citizen) -> list[Proposal]:
        return await self.repos.proposals.by_citizen(citizen.id)

    async def get(self, proposal_id: int) -> Proposal | None:
        return await self.repos.proposals.get(proposal_id)

    async def remember_reason_question(self, platform: str, chat_id: int, message_id: int, proposal_id: int) -> None:
        await self.repos.proposals.add_reason_prompt(platform, chat_id, message_id, proposal_id, self.clock.now())

    async def reason_question(self, platform: str, chat_id: int, message_id: int) -> int | None:
        return await self.repos.proposals.reason_prompt(platform, chat_id, message_id)

    async def pending_without_staff_cards(self) -> list[Proposal]:
        return await self.repos.proposals.pending_without_staff_cards()

    async def decide(self, by: Actor, proposal_id: int, approve: bool, reason: str | None = None) -> DecisionResult:
        """Approve or reject a pending proposal. Exactly one of two simultaneous presses wins."""
        if not may_act(self.config, by, "moderate"):
            return DecisionResult(Decision.NOT_STAFF)
        staff_ref = by.ref
        proposal = await self.repos.proposals.get(proposal_id)
        if proposal is None:
            return DecisionResult(Decision.MISSING)
        if approve and proposal.title_by_staff and proposal.title == texts.title_by_staff():
            # Never put to the vote under «staff will write the title».
            return DecisionResult(Decision.NO_TITLE, proposal)
        if not approve:
            reason = clean_text(reason or "", single_line=False)
            if units(reason) > MAX_REASON:  # refused, not cut: the author would read half a sentence
                return DecisionResult(Decision.TOO_LONG)
            reason = reason or "—"
        decided = await self.repos.proposals.decide(
            proposal_id, APPROVED if approve else REJECTED, staff_ref, self.clock.now(), None if approve else reason
        )
        if decided:
            await self.repos.audit.record(staff_ref, "approve" if approve else "reject", f"proposal {decided.code}",
                                          PENDING, decided.status + ("" if approve else f": {reason}"), self.clock.now())
        return DecisionResult(Decision.DONE, decided) if decided else DecisionResult(Decision.ALREADY)

    # -- the review queue ----------------------------------------------------------------------

    async def next_pending(self, after_id: int = 0) -> Proposal | None:
        return await self.repos.proposals.next_pending(after_id)

    async def fix_category(self, by: Actor, proposal_id: int, category_id: str) -> DecisionResult:
        if not may_act(self.config, by, "moderate"):
            return DecisionResult(Decision.NOT_STAFF)
        staff_ref = by.ref
        if self.config.category(category_id) is None or await self.repos.proposals.get(proposal_id) is None:
            return DecisionResult(Decision.MISSING)
        changed = await self.repos.proposals.set_category(proposal_id, category_id)
        if changed is None:
            return DecisionResult(Decision.ALREADY)
        before, proposal = changed
        await self.repos.audit.record(staff_ref, "category", f"proposal {proposal.code}", before, category_id,
                                      self.clock.now())
        return DecisionResult(Decision.DONE, proposal)

    async def mark_duplicate(self, by: Actor, proposal_id: int, typed_code: str, reason_for) -> DecisionResult:
        """``typed_code``: the original's tracking code, as the moderator typed it;
        ``reason_for(original)``: the rejection reason the author reads (naming the original)."""
        if not may_act(self.config, by, "moderate"):
            return DecisionResult(Decision.NOT_STAFF)
        staff_ref = by.ref
        typed_code = to_ascii_digits(typed_code.strip())
        if len(typed_code) > MAX_CODE_TYPED:
            return DecisionResult(Decision.MISSING)
        original = await self.repos.proposals.by_code(typed_code)
        if original is None or original.id == proposal_id:
            return DecisionResult(Decision.MISSING)
        marked = await self.repos.proposals.mark_duplicate(proposal_id, original.id, reason_for(original), staff_ref,
                                                           self.clock.now())
        if marked is None:
            return DecisionResult(Decision.ALREADY)
        await self.repos.audit.record(staff_ref, "duplicate", f"proposal {marked.code}", PENDING,
                                      f"rejected: duplicate of {original.code}", self.clock.now())
        return DecisionResult(Decision.DONE, marked)

    async def write_title(self, by: Actor, typed_code: str, typed_title: str) -> tuple[Decision, Proposal | None, int]:
        """Staff write the title of a proposal whose author could not type it (/title <code> <title>),
        until voting opens. Returns (decision, proposal, the title limit): TOO_LONG and INVALID (too
        short, no words) change nothing; MISSING: no such code, or its author typed the title."""
        limit = self.config.limits.title_length
        if not may_act(self.config, by, "moderate"):
            return Decision.NOT_STAFF, None, limit
        if not self.reviewing_open():
            return Decision.CLOSED, None, limit
        code = to_ascii_digits(typed_code.strip())
        proposal = await self.repos.proposals.by_code(code) if len(code) <= MAX_CODE_TYPED else None
        if proposal is None:
            return Decision.MISSING, None, limit
        title = clean_text(typed_title, single_line=True)
        if units(title) > limit:
            return Decision.TOO_LONG, proposal, limit
        if not has_words(title) or visible_length(title) < MIN_TITLE:
            return Decision.INVALID, proposal, limit
        changed = await self.repos.proposals.write_staff_title(proposal.id, title)
        if changed is None:
            return Decision.MISSING, proposal, limit
        before, after = changed
        await self.repos.audit.record(by.ref, "title", f"proposal {after.code}", before, title, self.clock.now())
        return Decision.DONE, after, limit

    # -- feasibility and cost (reviewers) ------------------------------------------------------

    def reviewing_open(self) -> bool:
        """Until voting opens: the ballot must not change under the voters."""
        return self.calendar.phase().phase in (Phase.BEFORE, Phase.PROPOSALS, Phase.REVIEW)

    async def next_to_review(self, after_id: int = 0) -> Proposal | None:
        return await self.repos.proposals.next_to_review(after_id)

    async def review_backlog(self) -> dict[str, int]:
        return await self.repos.proposals.review_backlog()

    async def judge(self, by: Actor, proposal_id: int, feasible: bool, note: str,
                    seen: str | None = None) -> DecisionResult:
        """``seen``: the feasibility the reviewer's card showed (None: not judged yet)."""
        if not may_act(self.config, by, "review"):
            return DecisionResult(Decision.NOT_STAFF)
        staff_ref = by.ref
        if not self.reviewing_open():
            return DecisionResult(Decision.CLOSED)
        note = clean_text(note, single_line=False)
        if units(note) > MAX_REASON:  # refused, not cut: the author would read half a sentence
            return DecisionResult(Decision.TOO_LONG)
        note = note or "—"
        changed = await self.repos.proposals.set_feasibility(
            proposal_id, FEASIBLE if feasible else NOT_FEASIBLE, note, staff_ref, self.clock.now(), seen)
        if changed is None:
            return DecisionResult(Decision.ALREADY)
        before, after = changed
        await self.repos.audit.record(staff_ref, "feasibility", f"proposal {after.code}", before.feasibility,
                                      f"{after.feasibility}: {note}", self.clock.now())
        return DecisionResult(Decision.DONE, after)

    async def set_cost(self, by: Actor, proposal_id: int, typed: str) -> DecisionResult:
        if not may_act(self.config, by, "review"):
            return DecisionResult(Decision.NOT_STAFF)
        staff_ref = by.ref
        if not self.reviewing_open():
            return DecisionResult(Decision.CLOSED)
        cost = parse_cost(typed)
        if cost is None:
            return DecisionResult(Decision.INVALID)
        changed = await self.repos.proposals.set_cost(proposal_id, cost, staff_ref, self.clock.now())
        if changed is None:
            return DecisionResult(Decision.MISSING)
        before, after = changed
        await self.repos.audit.record(staff_ref, "cost", f"proposal {after.code}", str(before.cost or "—"), str(cost),
                                      self.clock.now())
        return DecisionResult(Decision.DONE, after)
