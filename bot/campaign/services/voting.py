"""The ballot: what a voter sees, and casting or withdrawing a vote."""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from bot.campaign.calendar import CampaignCalendar
from bot.campaign.clock import Clock
from bot.campaign.config import Config
from domain import Citizen, Phase, Proposal
from storage.interface import Repositories

PAGE_SIZE = 5


class BallotGate(enum.Enum):
    OK = "ok"
    NOT_OPEN = "not_open"
    NO_NEIGHBOURHOOD = "no_neighbourhood"
    NOT_VERIFIED = "not_verified"


class VoteOutcome(enum.Enum):
    VOTED = "voted"
    WITHDRAWN = "withdrawn"
    LIMIT = "limit"
    INELIGIBLE = "ineligible"  # missing, not approved, or another neighbourhood's: never trust a button
    NOT_OPEN = "not_open"
    NOT_VERIFIED = "not_verified"


@dataclass(frozen=True)
class BallotView:
    page: int  # 0-based, clamped into range
    pages: int
    proposals: list[Proposal]
    vote_counts: dict[int, int] | None  # None unless the config shows counts during voting
    my_votes: set[int]
    used: int
    limit: int

    def number_of(self, proposal: Proposal) -> int:
        """The number shown on the card and its button, stable across pages."""
        # By identity first: list.index compares every proposal before it field by field.
        position = next((i for i, shown in enumerate(self.proposals) if shown is proposal), None)
        if position is None:
            position = self.proposals.index(proposal)
        return self.page * PAGE_SIZE + position + 1


@dataclass(frozen=True)
class DetailsView:
    """One proposal of the voter's ballot, in full: what the ballot's 🔎 button opens."""
    proposal: Proposal
    number: int  # as on the ballot and its buttons
    page: int  # the ballot page it is on (for "back" and its vote button)
    vote_count: int | None  # None unless the config shows counts during voting
    mine: bool
    used: int
    limit: int


@dataclass(frozen=True)
class VoteResult:
    outcome: VoteOutcome
    used: int = 0
    limit: int = 0


class VotingService:
    def __init__(self, config: Config, clock: Clock, repos: Repositories, calendar: CampaignCalendar) -> None:
        self.config, self.clock, self.repos, self.calendar = config, clock, repos, calendar

    def _open(self) -> bool:
        return self.calendar.phase().phase is Phase.VOTING

    def gate(self, citizen: Citizen) -> BallotGate:
        if not self._open():
            return BallotGate.NOT_OPEN
        if self.config.neighbourhood(citizen.neighbourhood_id) is None:
            return BallotGate.NO_NEIGHBOURHOOD
        if not citizen.verified:
            return BallotGate.NOT_VERIFIED
        return BallotGate.OK

    async def ballot(self, citizen: Citizen, page: int) -> BallotView:
        """The page of the citizen's own neighbourhood's approved proposals (call after gate)."""
        limit = self.config.limits.votes_per_citizen
        page = max(page, 0)
        with_counts = self.config.limits.show_vote_counts
        data = await self.repos.votes.ballot_page(citizen.id, citizen.neighbourhood_id, page * PAGE_SIZE, PAGE_SIZE, with_counts)
        pages = max(1, -(-data.total // PAGE_SIZE))
        if page >= pages:
            # A stale "next" button after proposals changed: show the last page instead.
            page = pages - 1
            data = await self.repos.votes.ballot_page(
                citizen.id, citizen.neighbourhood_id, page * PAGE_SIZE, PAGE_SIZE, with_counts)
        return BallotView(
            page=page, pages=pages, proposals=data.proposals,
            vote_counts=data.vote_counts if with_counts else None,
            my_votes=data.my_votes, used=len(data.my_votes), limit=limit,
        )

    async def details(self, citizen: Citizen, proposal_id: int) -> DetailsView | None:
        """The proposal's details, or None when it is not on the citizen's ballot (a forged or
        stale button: re-checked here, never trusted). Call after gate."""
        entry = await self.repos.votes.ballot_entry(citizen.id, citizen.neighbourhood_id, proposal_id)
        if entry is None:
            return None
        return DetailsView(
            proposal=entry.proposal, number=entry.position, page=(entry.position - 1) // PAGE_SIZE,
            vote_count=entry.votes if self.config.limits.show_vote_counts else None,
            mine=proposal_id in entry.my_votes, used=len(entry.my_votes), limit=self.config.limits.votes_per_citizen,
        )

    async def nothing_to_vote_for(self, citizen: Citizen) -> bool:
        """Whether the citizen's neighbourhood has nothing on the ballot: said before asking for a
        phone number, which would then be asked for nothing."""
        return await self.repos.votes.ballot_size(citizen.neighbourhood_id) == 0

    def closes(self) -> dt.datetime:
        """When voting closes (as the calendar stands now, moved boundaries included)."""
        return self.calendar.current.voting_closes

    def _refusal(self, citizen: Citizen) -> VoteResult | None:
        gate = self.gate(citizen)
        if gate is BallotGate.NOT_OPEN:
            return VoteResult(VoteOutcome.NOT_OPEN)
        if gate is BallotGate.NOT_VERIFIED:
            return VoteResult(VoteOutcome.NOT_VERIFIED)
        if gate is BallotGate.NO_NEIGHBOURHOOD:
            return VoteResult(VoteOutcome.INELIGIBLE)
        return None

    async def cast(self, citizen: Citizen, proposal_id: int) -> VoteResult:
        """Vote for the proposal. Idempotent: a double tap on the vote button leaves one vote."""
        if refusal := self._refusal(citizen):
            return refusal
        limit = self.config.limits.votes_per_citizen
        status, used = await self.repos.votes.cast(citizen.id, proposal_id, citizen.neighbourhood_id, limit, self.clock.now())
        outcome = {"voted": VoteOutcome.VOTED, "already": VoteOutcome.VOTED,
                   "limit": VoteOutcome.LIMIT, "ineligible": VoteOutcome.INELIGIBLE}[status]
        return VoteResult(outcome, used, limit)

    async def withdraw(self, citizen: Citizen, proposal_id: int) -> VoteResult:
        """Take a vote back (until voting closes). Idempotent like cast()."""
        if refusal := self._refusal(citizen):
            return refusal
        used = await self.repos.votes.withdraw(citizen.id, proposal_id)
        return VoteResult(VoteOutcome.WITHDRAWN, used, self.config.limits.votes_per_citizen)
