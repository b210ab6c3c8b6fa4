"""The campaign's vocabulary: the dataclasses and status values that rules, storage, handlers and
texts share. A leaf: it imports nothing of the project, nor any messenger or database."""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
FEASIBLE, NOT_FEASIBLE = "feasible", "not_feasible"


@dataclass(frozen=True)
class Citizen:
    id: int
    platform: str
    user_id: int
    chat_id: int
    neighbourhood_id: str | None
    verified: bool
    first_vote_at: dt.datetime | None
    remind_me: bool
    created_at: dt.datetime

    @property
    def neighbourhood_locked(self) -> bool:
        return self.first_vote_at is not None


@dataclass(frozen=True)
class Draft:
    citizen_id: int
    category_id: str | None = None
    title: str | None = None
    description: str | None = None
    photo_file_id: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    # A voice note as the description (issue 16, §4): valid on voice_platform's messenger only.
    voice_file_id: str | None = None
    voice_duration: int | None = None  # seconds
    voice_platform: str | None = None
    title_by_staff: int | None = None  # 1: the citizen asked staff to write the title


@dataclass(frozen=True)
class Proposal:
    id: int
    code: str
    citizen_id: int
    platform: str
    neighbourhood_id: str
    category_id: str
    title: str
    description: str
    photo_file_id: str | None
    latitude: float | None
    longitude: float | None
    status: str
    reject_reason: str | None
    created_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by: str | None
    # The review phase (migration 6): feasibility, the estimated cost, a duplicate's original.
    feasibility: str | None = None  # FEASIBLE | NOT_FEASIBLE
    feasibility_note: str | None = None
    cost: int | None = None
    reviewed_by: str | None = None
    reviewed_at: dt.datetime | None = None
    duplicate_of: int | None = None
    # A voice note as the description (migration 11; Draft says what each is).
    voice_file_id: str | None = None
    voice_duration: int | None = None
    voice_platform: str | None = None
    title_by_staff: int | None = None
    voice_transcript: str | None = None  # a machine's draft for staff, never shown to citizens

    @property
    def on_the_ballot(self) -> bool:
        """Only approved, feasible proposals with a cost are put to the vote."""
        return self.status == APPROVED and self.feasibility == FEASIBLE and self.cost is not None


@dataclass(frozen=True)
class StaffCard:
    proposal_id: int
    platform: str
    chat_id: int
    message_id: int


@dataclass(frozen=True)
class BallotPage:
    """One page of a neighbourhood's approved proposals as one voter sees them."""

    proposals: list[Proposal]
    vote_counts: dict[int, int]
    my_votes: set[int]
    total: int


@dataclass(frozen=True)
class BallotEntry:
    """One proposal of a neighbourhood's ballot as one voter sees it (its details view)."""

    proposal: Proposal
    position: int  # 1-based, in the ballot's id order: the number on its buttons
    votes: int  # the proposal's votes (shown only where the config shows counts)
    my_votes: set[int]


# Broadcasts -------------------------------------------------------------------------------------

EVERYONE, NEIGHBOURHOODS, AMBASSADORS, SUBSCRIBERS, NON_VOTERS = (
    "everyone", "neighbourhoods", "ambassadors", "subscribers", "non_voters")
AUDIENCE_KINDS = (EVERYONE, NEIGHBOURHOODS, AMBASSADORS, SUBSCRIBERS, NON_VOTERS)

DRAFT, SCHEDULED, SENDING, DONE, CANCELLED = "draft", "scheduled", "sending", "done", "cancelled"
# Delivery outcomes. "sending" is written right before a request leaves: one a process finds at
# start-up was in flight when another died, and becomes "uncertain" (it may have arrived).
SENT, UNREACHABLE, FAILED, UNCERTAIN = "sent", "unreachable", "failed", "uncertain"


@dataclass(frozen=True)
class Audience:
    """Who a broadcast goes to; ``platform`` None means both messengers."""

    kind: str = EVERYONE
    neighbourhoods: tuple[str, ...] = ()
    platform: str | None = None


@dataclass(frozen=True)
class Broadcast:
    id: int
    status: str
    announcement: str | None
    created_by: str
    kind: str  # text | photo | video | document
    text: str | None
    entities: str | None  # JSON of the source message's entities (Telegram formatting)
    source_platform: str | None
    file_id: str | None
    audience: Audience | None
    send_at: dt.datetime | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    cancelled_by: str | None
    total: int | None


@dataclass(frozen=True)
class Delivery:
    id: int
    chat_id: int
    attempts: int


@dataclass(frozen=True)
class DeliveryResult:
    """What one send came to; ``retry_at`` set means: pending again until then. ``attempted``
    False: it was put back without counting an attempt (the one-message-a-second rule, a bot
    whose token the messenger refuses)."""

    delivery_id: int
    status: str
    retry_at: dt.datetime | None = None
    attempted: bool = True


@dataclass(frozen=True)
class Progress:
    total: int
    pending: int = 0
    sending: int = 0
    sent: int = 0
    unreachable: int = 0
    failed: int = 0
    uncertain: int = 0

    @property
    def finished(self) -> int:
        return self.sent + self.unreachable + self.failed + self.uncertain


@dataclass(frozen=True)
class Watcher:
    broadcast_id: int
    platform: str
    chat_id: int
    message_id: int | None


@dataclass(frozen=True)
class Announcement:
    key: str
    due_at: dt.datetime
    outcome: str  # sent | missed
    broadcast_id: int | None
    decided_at: dt.datetime


# Ambassadors ------------------------------------------------------------------------------------

AMB_DRAFT, AMB_PENDING, AMB_APPROVED, AMB_REJECTED, AMB_SUSPENDED, AMB_REMOVED = (
    "draft", "pending", "approved", "rejected", "suspended", "removed")


@dataclass(frozen=True)
class Ambassador:
    citizen_id: int
    status: str
    full_name: str | None
    neighbourhood_id: str | None
    groups: str | None
    phone: str | None
    phone_hash: str | None
    created_at: dt.datetime
    applied_at: dt.datetime | None
    decided_at: dt.datetime | None
    decided_by: str | None
    flagged_at: dt.datetime | None
    told_at: dt.datetime | None
    # Their own account, from citizens.
    platform: str
    user_id: int
    chat_id: int


@dataclass(frozen=True)
class Figures:
    """People who joined through an ambassador's links, and of those how many went on.
    Never anything about how anyone voted: only whether."""

    joined: int = 0
    verified: int = 0
    proposed: int = 0
    voted: int = 0


@dataclass(frozen=True)
class DayFigures:
    day: dt.date  # the day they joined, in the campaign's time zone
    figures: Figures


@dataclass(frozen=True)
class AmbassadorCard:
    ambassador_id: int
    platform: str
    chat_id: int
    message_id: int


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: dt.datetime
    actor: str  # "<platform>:<user id>", or "calendar" / "operator"
    action: str
    target: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class AuditFilter:
    """What /audit is narrowed to (None: everything): one person, one action, a span of time."""
    actor: str | None = None
    action: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@dataclass(frozen=True)
class StaffName:
    """A staff member as their messenger last showed them (staff only: citizens' names are never kept)."""
    first_name: str
    username: str | None


# Results ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BallotProject:
    """A proposal on a neighbourhood's ballot, as the allocation sees it."""

    proposal_id: int
    code: str
    title: str
    cost: int
    votes: int


@dataclass(frozen=True)
class NeighbourhoodBallots:
    neighbourhood_id: str
    projects: tuple[BallotProject, ...]
    # Each distinct approval set (proposal ids) with how many voters cast it: voters with the
    # same ballot are handled together, and no account is in here.
    ballots: tuple[tuple[frozenset[int], int], ...]


@dataclass(frozen=True)
class Winner:
    neighbourhood_id: str
    rank: int
    proposal_id: int
    code: str
    title: str
    cost: int
    votes: int


@dataclass(frozen=True)
class ResultRun:
    id: int
    rule: str
    computed_at: dt.datetime
    computed_by: str
    published_at: dt.datetime | None
    # neighbourhood id → (budget, spent, voters)
    neighbourhoods: dict[str, tuple[int, int, int]]
    winners: tuple[Winner, ...]


class Phase(enum.Enum):
    BEFORE = "before"  # registration not open yet (before 5 Azar)
    PROPOSALS = "proposals"
    REVIEW = "review"  # proposals closed, voting not open yet
    VOTING = "voting"
    CLOSED = "closed"


@dataclass(frozen=True)
class NeighbourhoodCounts:
    """One neighbourhood's figures; ``neighbourhood_id`` None: citizens who never chose one."""

    neighbourhood_id: str | None
    citizens: int = 0
    verified: int = 0
    pending: int = 0
    approved: int = 0
    rejected: int = 0
    on_ballot: int = 0  # approved, feasible, with a cost (Proposal.on_the_ballot)
    votes: int = 0
    voters: int = 0  # citizens with at least one vote now

    @property
    def proposals(self) -> int:
        return self.pending + self.approved + self.rejected


@dataclass(frozen=True)
class PlatformCounts:
    platform: str
    citizens: int = 0
    verified: int = 0
    proposals: int = 0
    votes: int = 0
    voters: int = 0


@dataclass(frozen=True)
class DayCounts:
    """What happened on one day in the campaign's time zone."""

    day: dt.date
    citizens: int = 0  # started the bot
    verified: int = 0  # verified a phone
    proposals: int = 0
    votes: int = 0
    voters: int = 0  # cast their first vote (of the votes that stand)


@dataclass(frozen=True)
class ProposalRow:
    """A proposal as exported: no author, no file, no location."""

    id: int
    code: str
    neighbourhood_id: str
    category_id: str
    title: str
    status: str
    reject_reason: str | None
    feasibility: str | None
    feasibility_note: str | None
    cost: int | None
    votes: int
    duplicate_of: str | None  # the original's tracking code
    created_at: dt.datetime


# -- similar proposals (storage/search.py, bot/campaign/services/similar.py) --------------------

@dataclass(frozen=True)
class SimilarCandidate:
    """A proposal the trigram index found for a title: what the score and the answer need."""

    id: int
    code: str
    title: str
    status: str  # PENDING or APPROVED: only standing proposals are candidates
    citizen_id: int
    on_the_ballot: bool
    words: tuple[str, ...]  # its search key, split


@dataclass(frozen=True)
class SimilarProposal:
    """A candidate as shown: with its score (0..1) and how many citizens said «me too»."""

    id: int
    code: str
    title: str
    status: str
    mine: bool
    on_the_ballot: bool
    score: float
    supporters: int = 0
