"""The ambassador programme's rules: the form, staff decisions, invite links, attribution, figures."""
from __future__ import annotations

import datetime as dt
import enum
import re
import secrets
from dataclasses import dataclass

from bot.campaign.clock import Clock
from bot.campaign.config import Calendar, Config
from bot.campaign.phone import normalize_iranian_mobile, phone_hash
from bot.campaign.roles import Actor, may_act
from domain import (
    AMB_APPROVED,
    AMB_DRAFT,
    AMB_PENDING,
    AMB_REJECTED,
    AMB_REMOVED,
    AMB_SUSPENDED,
    Ambassador,
    Citizen,
    DayFigures,
    Figures,
)
from messages_fa.fit import units
from messages_fa.normalize import clean_text, has_words, visible_length
from storage.interface import Repositories

# "b" + 16 characters (about 79 random bits: not guessable) of an alphabet without the characters
# that read alike once printed on a poster and typed from it (I/l/1, O/0: lower case only, and no
# i, l, o, 0 or 1); ≤ 64 characters of [A-Za-z0-9_-], as both messengers require. Links made before
# ("a" + 32 characters of base64url) are still honoured.
PAYLOAD_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
PAYLOAD_PREFIX = "b"
PAYLOAD_LENGTH = 16
PAYLOAD_RE = re.compile(r"^(a[A-Za-z0-9_-]{32}|b[2-9a-hjkmnp-z]{16})$")
LOOKALIKES = frozenset("Il1O0")
NAME_LENGTH = (3, 80)
GROUPS_LENGTH = (3, 1000)
# "Dozens of new accounts within minutes that never verify a phone".
BURST_JOINS = 20
BURST_WINDOW = dt.timedelta(minutes=10)
BURST_SETTLE = dt.timedelta(hours=1)  # time they have had to verify
BURST_VERIFIED_SHARE = 0.1  # one real person among the fakes must not hide them
BURST_LOOKBACK = dt.timedelta(days=1)


class FormCheck(enum.Enum):
    OK = "ok"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    NOT_YOURS = "not_yours"
    NOT_IRANIAN = "not_iranian"
    NOT_A_DRAFT = "not_a_draft"


class Decision(enum.Enum):
    DONE = "done"
    ALREADY = "already"  # another staff member was quicker, or the state does not allow it
    NOT_STAFF = "not_staff"
    MISSING = "missing"


@dataclass(frozen=True)
class Standing:
    """An ambassador with their figures, for staff."""

    ambassador: Ambassador
    figures: Figures


def suspicious_bursts(joins: list[tuple[int, dt.datetime, bool]]) -> list[int]:
    """Ambassadors with BURST_JOINS or more joins within any BURST_WINDOW (a sliding window) of
    which fewer than BURST_VERIFIED_SHARE verified a phone. ``joins`` sorted by ambassador, time."""
    found: set[int] = set()
    start = 0
    verified = 0
    for end, (ambassador, moment, is_verified) in enumerate(joins):
        if end > 0 and joins[end - 1][0] != ambassador:
            start, verified = end, 0
        verified += is_verified
        while moment - joins[start][1] > BURST_WINDOW:
            verified -= joins[start][2]
            start += 1
        count = end - start + 1
        if count >= BURST_JOINS and verified < BURST_VERIFIED_SHARE * count:
            found.add(ambassador)
    return sorted(found)


def new_payload() -> str:
    return PAYLOAD_PREFIX + "".join(secrets.choice(PAYLOAD_ALPHABET) for _ in range(PAYLOAD_LENGTH))


def reads_unambiguously(payload: str) -> bool:
    """Whether a printed payload can be typed back without guessing between I, l and 1 or O and 0
    (a link made before the unambiguous alphabet may not)."""
    return not LOOKALIKES & set(payload)


def campaign_days(calendar: Calendar, tz: dt.tzinfo) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]:
    """The first and last day (Tehran calendar) of proposals and of voting, for cards and posters: a
    phase that closes at 00:00 ends on the day before."""
    def day(moment: dt.datetime, closing: bool) -> dt.date:
        return (moment - (dt.timedelta(minutes=1) if closing else dt.timedelta(0))).astimezone(tz).date()
    return ((day(calendar.proposals_opens, False), day(calendar.proposals_closes, True)),
            (day(calendar.voting_opens, False), day(calendar.voting_closes, True)))


class AmbassadorService:
    def __init__(self, config: Config, clock: Clock, repos: Repositories) -> None:
        self.config, self.clock, self.repos = config, clock, repos

    async def get(self, citizen: Citizen) -> Ambassador | None:
        return await self.repos.ambassadors.get(citizen.id)

    # -- the form ---------------------------------------------------------------------------------

    async def start_form(self, citizen: Citizen) -> Ambassador:
        return await self.repos.ambassadors.start_draft(citizen.id, self.clock.now())

    async def set_name(self, citizen: Citizen, typed: str) -> FormCheck:
        return await self._text(citizen, "full_name", clean_text(typed, single_line=True), NAME_LENGTH)

    async def set_groups(self, citizen: Citizen, typed: str) -> FormCheck:
        return await self._text(citizen, "groups", clean_text(typed, single_line=False), GROUPS_LENGTH)

    async def _text(self, citizen: Citizen, field: str, text: str, bounds: tuple[int, int]) -> FormCheck:
        # What staff must read: visible letters or digits, as for a proposal's title.
        if not has_words(text) or visible_length(text) < bounds[0]:
            return FormCheck.TOO_SHORT
        if units(text) > bounds[1]:  # as the messengers count: the staff card holds what passes
            return FormCheck.TOO_LONG
        updated = await self.repos.ambassadors.update_draft(citizen.id, **{field: text})
        return FormCheck.OK if updated and updated.status == AMB_DRAFT else FormCheck.NOT_A_DRAFT

    async def set_neighbourhood(self, citizen: Citizen, neighbourhood_id: str) -> FormCheck:
        if self.config.neighbourhood(neighbourhood_id) is None:
            return FormCheck.TOO_SHORT
        updated = await self.repos.ambassadors.update_draft(citizen.id, neighbourhood_id=neighbourhood_id)
        return FormCheck.OK if updated and updated.status == AMB_DRAFT else FormCheck.NOT_A_DRAFT

    async def set_phone(self, citizen: Citizen, sender_user_id: int, contact_user_id: int | None,
                        phone_number: str) -> FormCheck:
        """Only the applicant's own number, shared with the button; kept readable for staff."""
        if contact_user_id != sender_user_id:
            return FormCheck.NOT_YOURS
        normalized = normalize_iranian_mobile(phone_number)
        if normalized is None:
            return FormCheck.NOT_IRANIAN
        updated = await self.repos.ambassadors.update_draft(
            citizen.id, phone=normalized, phone_hash=phone_hash(self.config.phone_hash_secret, normalized))
        return FormCheck.OK if updated and updated.status == AMB_DRAFT else FormCheck.NOT_A_DRAFT

    async def submit(self, citizen: Citizen) -> Ambassador | None:
        return await self.repos.ambassadors.submit(citizen.id, self.clock.now())

    # -- staff decisions --------------------------------------------------------------------------

    async def by_id(self, ambassador_id: int) -> Ambassador | None:
        """An ambassador by their id (their citizen id), whatever their status (staff screens)."""
        return await self.repos.ambassadors.get(ambassador_id)

    async def decide(self, who: Actor, ambassador_id: int, action: str) -> tuple[Decision, Ambassador | None]:
        """approve / reject a pending application; suspend, reinstate or remove an ambassador."""
        if not may_act(self.config, who, "ambassadors"):
            return Decision.NOT_STAFF, None
        by = who.ref
        if await self.repos.ambassadors.get(ambassador_id) is None:
            return Decision.MISSING, None
        status, from_statuses = {
            "approve": (AMB_APPROVED, (AMB_PENDING,)),
            "reject": (AMB_REJECTED, (AMB_PENDING,)),
            "suspend": (AMB_SUSPENDED, (AMB_APPROVED,)),
            "reinstate": (AMB_APPROVED, (AMB_SUSPENDED,)),
            "remove": (AMB_REMOVED, (AMB_APPROVED, AMB_SUSPENDED)),
        }[action]
        before = await self.repos.ambassadors.get(ambassador_id)
        changed = await self.repos.ambassadors.change_status(ambassador_id, status, from_statuses, by,
                                                             self.clock.now())
        if changed is None:
            return Decision.ALREADY, await self.repos.ambassadors.get(ambassador_id)
        await self.repos.audit.record(by, "ambassador", f"ambassador {ambassador_id} ({changed.full_name})",
                                      before.status, changed.status, self.clock.now())
        return Decision.DONE, changed

    async def pending(self) -> list[Ambassador]:
        return await self.repos.ambassadors.in_status(AMB_PENDING)

    # -- links ------------------------------------------------------------------------------------

    async def link(self, ambassador: Ambassador) -> str | None:
        """The ambassador's live payload (made on first use); None unless approved."""
        if ambassador.status != AMB_APPROVED:
            return None
        return await self.repos.ambassadors.current_link(ambassador.citizen_id) or await self.new_link(ambassador)

    async def revoke_link(self, who: Actor, ambassador_id: int) -> Ambassador | None:
        """Staff revoke an ambassador's link (a new one replaces it); the ambassador, or None when
        nothing changed (not approved, gone, or not this person's to do)."""
        if not may_act(self.config, who, "ambassadors"):
            return None
        ambassador = await self.repos.ambassadors.get(ambassador_id)
        if ambassador is None or await self.new_link(ambassador) is None:
            return None
        await self.repos.audit.record(who.ref, "ambassador", f"ambassador {ambassador_id} ({ambassador.full_name})",
                                      "link", "new link", self.clock.now())
        return ambassador

    async def new_link(self, ambassador: Ambassador) -> str | None:
        """Revokes the old link (it still opens the bot, without attribution) and makes a new one."""
        payload = new_payload()
        if not await self.repos.ambassadors.replace_link(ambassador.citizen_id, payload, self.clock.now()):
            return None
        return payload

    # -- joining through a link -------------------------------------------------------------------

    async def join(self, citizen: Citizen, is_new: bool, payload: str | None) -> Ambassador | None:
        """A citizen opened ``/start <payload>``. Attributed, once, only if they are new, the link
        is live, and it is not their own; their neighbourhood starts as the ambassador's."""
        if not is_new or not payload or not PAYLOAD_RE.match(payload):
            return None
        ambassador = await self.repos.ambassadors.attribute_by_link(citizen.id, payload, self.clock.now())
        if ambassador is None:
            return None
        if citizen.neighbourhood_id is None and ambassador.neighbourhood_id:
            await self.repos.citizens.set_neighbourhood(citizen.id, ambassador.neighbourhood_id)
        return ambassador

    # -- figures ----------------------------------------------------------------------------------

    def _tz_minutes(self) -> int:
        offset = self.clock.now().astimezone(self.config.timezone).utcoffset()
        return int(offset.total_seconds() // 60)

    async def figures(self, ambassador: Ambassador) -> tuple[Figures, list[DayFigures]]:
        repo = self.repos.ambassadors
        return await repo.figures(ambassador.citizen_id), await repo.daily(ambassador.citizen_id, self._tz_minutes())

    async def standings(self) -> list[Standing]:
        """Approved and suspended ambassadors with their figures, best first (people who verified
        a phone weigh more than bare joins: they are the ones who can vote)."""
        figures = await self.repos.ambassadors.all_figures()
        people = await self.repos.ambassadors.in_status(AMB_APPROVED, AMB_SUSPENDED)
        standings = [Standing(a, figures.get(a.citizen_id, Figures())) for a in people]
        return sorted(standings, key=lambda s: (-s.figures.verified, -s.figures.joined, s.ambassador.citizen_id))

    async def newly_suspicious(self) -> list[Ambassador]:
        """Ambassadors whose joins look manufactured, each returned once (then flagged)."""
        now = self.clock.now()
        joins = await self.repos.ambassadors.recent_joins(now - BURST_LOOKBACK, now - BURST_SETTLE)
        flagged = []
        for ambassador_id in suspicious_bursts(joins):
            if await self.repos.ambassadors.flag(ambassador_id, now):
                flagged.append(await self.repos.ambassadors.get(ambassador_id))
        return flagged



