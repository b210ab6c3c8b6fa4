"""Plain dataclasses the repositories take and return; no Telegram types here."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"


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
