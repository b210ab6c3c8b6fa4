"""Citizens: who they are, their neighbourhood, their verified phone."""
from __future__ import annotations

import dataclasses
import enum

from bot.campaign.calendar import CampaignCalendar
from bot.campaign.clock import Clock
from bot.campaign.config import Config, Neighbourhood
from bot.campaign.phone import normalize_iranian_mobile, phone_hash
from domain import Citizen, Phase
from messages_fa.normalize import match_key, without_neighbourhood_word
from storage.interface import Repositories

# Typed names: how alike (rapidfuzz's normalized Indel similarity, 0-100, on match keys) a name
# must be to be offered, and how many are offered. A name with one letter missing scores about 92
# (tests/test_stray_taps.py), one with one letter wrong in five about 80; two unrelated names of
# the district stay below 60.
CLOSE_ENOUGH = 70
CLOSEST_SHOWN = 3

# The longest name is 20 characters; the word for "neighbourhood" around it is a few more. A
# paragraph is not a name.
MAX_NAME_TYPED = 100


class ChooseResult(enum.Enum):
    CHOSEN = "chosen"
    LOCKED = "locked"  # voted already: the neighbourhood is fixed
    UNKNOWN = "unknown"  # forged or stale id


class MoveCheck(enum.Enum):
    """What a neighbourhood button (or typed name) may do for this citizen, before anything changes."""
    CHOOSE = "choose"  # no neighbourhood yet, or the one they have: chosen at once
    CONFIRM = "confirm"  # another one than theirs: only after "you are in X; move to Y?"
    LOCKED = "locked"  # voted already: the neighbourhood is fixed
    UNKNOWN = "unknown"  # forged or stale id


@dataclasses.dataclass(frozen=True)
class MovePlan:
    check: MoveCheck
    has_draft: bool = False  # an unfinished proposal, which goes with them (it has no neighbourhood of its own)


@dataclasses.dataclass(frozen=True)
class NameMatch:
    """A typed neighbourhood name: ``found`` are names that contain it (or it them; one of them
    is the citizen's, when it is the only one); ``close`` are names spelled alike, offered as
    buttons, never chosen for the citizen."""
    found: list[Neighbourhood]
    close: list[Neighbourhood]


class ReminderResult(enum.Enum):
    STORED = "stored"
    ALREADY = "already"
    TOO_LATE = "too_late"  # registration has opened: nothing left to remind of


class PhoneResult(enum.Enum):
    VERIFIED = "verified"
    ALREADY = "already"
    NOT_YOURS = "not_yours"
    NOT_IRANIAN = "not_iranian"
    IN_USE = "in_use"


def after_choosing(citizen: Citizen, neighbourhood_id: str) -> Citizen:
    """The citizen as ``choose_neighbourhood`` leaves them when it answers CHOSEN: what reading
    them again would return (a citizen changes only through their own updates, which are
    processed one at a time), without the read."""
    return dataclasses.replace(citizen, neighbourhood_id=neighbourhood_id)


def after_verifying(citizen: Citizen) -> Citizen:
    """The citizen as ``verify_phone`` leaves them when it answers VERIFIED or ALREADY (as above)."""
    return citizen if citizen.verified else dataclasses.replace(citizen, verified=True)


class CitizenService:
    def __init__(self, config: Config, clock: Clock, repos: Repositories, calendar: CampaignCalendar) -> None:
        self.config, self.clock, self.repos, self.calendar = config, clock, repos, calendar
        self._keys = [(match_key(n.name), n) for n in config.neighbourhoods]

    async def enter(self, platform: str, user_id: int, chat_id: int) -> tuple[Citizen, bool]:
        """The citizen behind an update, created on first contact; True when new."""
        return await self.repos.citizens.get_or_create(platform, user_id, chat_id, self.clock.now())

    async def get(self, citizen_id: int) -> Citizen | None:
        return await self.repos.citizens.get(citizen_id)

    def match_neighbourhoods(self, typed: str) -> list[Neighbourhood]:
        """Exact name first; otherwise every name containing what was typed (or contained in it,
        for "mahalle-ye Tajrish"). Tolerant of Arabic yeh/kaf, spaces and ZWNJ through match_key."""
        if len(typed) > MAX_NAME_TYPED:
            return []
        key = match_key(typed)
        if not key:
            return []
        exact = [n for k, n in self._keys if k == key]
        if exact:
            return exact
        partial = [n for k, n in self._keys if key in k]
        if partial:
            return partial
        return [n for k, n in self._keys if len(k) >= 3 and k in key]

    def match_name(self, typed: str) -> NameMatch:
        """match_neighbourhoods, and when it finds nothing, the closest names by spelling
        (a letter missing, swapped or wrong), best first."""
        found = self.match_neighbourhoods(typed)
        if found or len(typed) > MAX_NAME_TYPED:
            return NameMatch(found, [])
        key = without_neighbourhood_word(match_key(typed))
        if len(key) < 2:
            return NameMatch([], [])
        # Imported here: only a typo pays for the library's import at start-up.
        from rapidfuzz import fuzz, process
        scored = process.extract(key, {i: k for i, (k, _) in enumerate(self._keys)}, scorer=fuzz.ratio,
                                 score_cutoff=CLOSE_ENOUGH, limit=CLOSEST_SHOWN)
        return NameMatch([], [self._keys[i][1] for _, _, i in scored])

    async def plan_move(self, citizen: Citizen, neighbourhood_id: str) -> MovePlan:
        """The rule for a neighbourhood button or name, whatever message it came from.

        A citizen without a neighbourhood chooses at once. One who has one is never moved by a
        button alone (an old 27-name message pressed hours later, even while writing a
        proposal): they are asked first. Moving keeps the unfinished proposal (it is sent for
        the new neighbourhood) and leaves proposals already sent where they were. Votes fix the
        neighbourhood: a citizen who has voted cannot move, so a vote never follows a person to
        another ballot nor is taken back by a move (one person, one neighbourhood's ballot)."""
        if self.config.neighbourhood(neighbourhood_id) is None:
            return MovePlan(MoveCheck.UNKNOWN)
        if citizen.neighbourhood_id is None or citizen.neighbourhood_id == neighbourhood_id:
            return MovePlan(MoveCheck.CHOOSE)
        if citizen.neighbourhood_locked:
            return MovePlan(MoveCheck.LOCKED)
        draft = await self.repos.drafts.get(citizen.id)
        has_draft = draft is not None and bool(draft.category_id or draft.title or draft.description)
        return MovePlan(MoveCheck.CONFIRM, has_draft)

    async def choose_neighbourhood(self, citizen: Citizen, neighbourhood_id: str) -> ChooseResult:
        if self.config.neighbourhood(neighbourhood_id) is None:
            return ChooseResult.UNKNOWN
        if citizen.neighbourhood_id == neighbourhood_id:
            return ChooseResult.CHOSEN
        changed = await self.repos.citizens.set_neighbourhood(citizen.id, neighbourhood_id)
        return ChooseResult.CHOSEN if changed else ChooseResult.LOCKED

    async def remind_me(self, citizen: Citizen) -> ReminderResult:
        """Stores the "remind me" wish (b.REMIND_ME), which only makes sense before registration opens."""
        if self.calendar.phase().phase is not Phase.BEFORE:
            return ReminderResult.TOO_LATE
        if citizen.remind_me:
            return ReminderResult.ALREADY
        await self.repos.citizens.set_remind_me(citizen.id, True)
        return ReminderResult.STORED

    async def verify_phone(self, citizen: Citizen, sender_user_id: int, contact_user_id: int | None,
                           phone_number: str) -> PhoneResult:
        if citizen.verified:
            return PhoneResult.ALREADY
        # A forwarded or typed-in contact card carries someone else's (or no) user id.
        if contact_user_id != sender_user_id:
            return PhoneResult.NOT_YOURS
        normalized = normalize_iranian_mobile(phone_number)
        if normalized is None:
            return PhoneResult.NOT_IRANIAN
        digest = phone_hash(self.config.phone_hash_secret, normalized)
        if not await self.repos.citizens.set_phone_hash(citizen.id, digest, self.clock.now()):
            # This phone was here before: on their other messenger, or the ambassador's own.
            await self.repos.ambassadors.drop_referral(citizen.id)
            return PhoneResult.IN_USE
        # Someone who came through an ambassador's link with the ambassador's own phone was the
        # ambassador's other account, not a person they brought in.
        await self.repos.ambassadors.drop_self_referral(citizen.id, digest)
        return PhoneResult.VERIFIED
