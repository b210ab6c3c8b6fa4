"""The storage interface: what the application may ask of a database, and what it may rely on.

One Protocol per repository, and ``Repositories``, the aggregate the services are given. Every
engine (SQLite: storage/db.py, PostgreSQL: storage/postgres.py, both under the repositories of
storage/repositories.py and its siblings) implements these with the same signatures, and
tests/storage/ runs the same contract tests against each, races of two processes included.

A docstring here is a contract, not a description of SQL: "once", "at most", "never" hold for
any number of concurrent callers on any number of connections or processes, unless a docstring
says otherwise. A refusal is a return value (None, False, a status string), never an exception,
unless stated. Nothing in this module may import a database driver or anything of the project
but the domain dataclasses (domain/__init__.py): services typed against it stay engine-free.

Timestamps (``now``, ``since`` …) are timezone-aware datetimes; they come back as aware UTC.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from domain import (
    Ambassador,
    AmbassadorCard,
    Announcement,
    Audience,
    AuditEntry,
    AuditFilter,
    BallotEntry,
    BallotPage,
    Broadcast,
    Citizen,
    DayCounts,
    DayFigures,
    Delivery,
    DeliveryResult,
    Draft,
    Figures,
    NeighbourhoodBallots,
    NeighbourhoodCounts,
    PlatformCounts,
    Progress,
    Proposal,
    ProposalRow,
    ResultRun,
    SimilarCandidate,
    StaffCard,
    StaffName,
    Watcher,
    Winner,
)

# (ConversationHandler name, key as JSON) -> state as JSON, or None when the conversation ended.
States = Mapping[tuple[str, str], str | None]


@runtime_checkable
class CitizenRepository(Protocol):
    """A citizen is one account on one messenger: (platform, user_id) is unique."""

    async def get_or_create(self, platform: str, user_id: int, chat_id: int, now: dt.datetime) -> tuple[Citizen, bool]:
        """The citizen behind (platform, user_id), created on first contact.

        Contract: one citizen per (platform, user_id) even when several processes see the same
        person's first updates at once; True is returned to exactly one of those calls (the one
        that created it), False to every other. Stores ``chat_id`` as their chat and makes them
        reachable again (a broadcast that found them unreachable includes them again)."""
        ...

    async def find(self, platform: str, user_id: int) -> Citizen | None:
        """The citizen, or None; never creates one."""
        ...

    async def get(self, citizen_id: int) -> Citizen | None:
        ...

    async def set_neighbourhood(self, citizen_id: int, neighbourhood_id: str) -> bool:
        """Contract: a citizen's neighbourhood is locked from their first vote on, even if they
        withdraw every vote later. Returns False (nothing changed) once they have voted or when
        there is no such citizen; the check and the change are one atomic step, so a vote
        committed before this call always wins."""
        ...

    async def set_remind_me(self, citizen_id: int, value: bool) -> None:
        ...

    async def set_phone_hash(self, citizen_id: int, phone_hash: str, now: dt.datetime) -> bool:
        """Records the citizen's verified phone (its keyed hash).

        Contract: one verified phone per voter across messengers — a phone hash is held by at
        most one citizen of any platform, even under concurrent calls from several processes.
        Returns False, writing nothing, when another citizen holds it already; True when this
        citizen holds it now (also when they held it already). A citizen holds one phone: a
        call with another number replaces theirs (callers refuse an already verified citizen
        first)."""
        ...


@runtime_checkable
class DraftRepository(Protocol):
    """One proposal draft per citizen, written step by step."""

    async def get(self, citizen_id: int) -> Draft | None:
        ...

    async def update(self, citizen_id: int, now: dt.datetime, **values: Any) -> Draft:
        """Sets the given fields of the citizen's draft (creating it if there is none) and
        returns the draft as it is now. Raises ValueError, writing nothing, for a name that is
        not a field of Draft."""
        ...

    async def start(self, citizen_id: int, now: dt.datetime) -> None:
        """A fresh, empty draft; an abandoned one is discarded."""
        ...

    async def delete(self, citizen_id: int) -> None:
        ...


@runtime_checkable
class ProposalRepository(Protocol):
    async def count_active_by_citizen(self, citizen_id: int) -> int:
        """The citizen's proposals that are not rejected (pending or approved)."""
        ...

    async def count_since(self, citizen_id: int, since: dt.datetime) -> int:
        """Proposals this citizen submitted from ``since`` on, whatever became of them."""
        ...

    async def submit_draft(self, citizen_id: int, neighbourhood_id: str, platform: str,
                           new_code: Callable[[], str], limit: int, now: dt.datetime,
                           per_day: tuple[int, dt.datetime] | None = None) -> Proposal | None:
        """Turns the citizen's complete draft into a pending proposal and deletes the draft.

        Contract, atomic even under concurrent calls from several processes:
        - at most ``limit`` active (not rejected) proposals per citizen, and, given ``per_day``
          = (limit, start of today), at most that many submitted since that moment: at a limit
          it returns None and keeps the draft;
        - a draft becomes one proposal: of two concurrent submits of the same draft one returns
          the proposal and the other raises LookupError;
        - the tracking code is unique: ``new_code`` is called again until a code is unused.
        Raises LookupError, writing nothing, without a draft that has a category, a title and a
        description."""
        ...

    async def get(self, proposal_id: int) -> Proposal | None:
        ...

    async def by_citizen(self, citizen_id: int) -> list[Proposal]:
        """The citizen's proposals, oldest first."""
        ...

    async def decide(self, proposal_id: int, status: str, decided_by: str, now: dt.datetime,
                     reason: str | None = None) -> Proposal | None:
        """Moves a pending proposal to APPROVED or REJECTED (ValueError for any other status);
        a rejection carries its ``reason`` (without one the engine raises an error).

        Contract: a staff decision is taken once when two moderators press together — exactly
        one of the concurrent calls returns the decided proposal; every other returns None and
        changes nothing (the proposal keeps the first decision, its reason and its moderator).
        None also when the proposal does not exist or is not pending."""
        ...

    async def add_staff_card(self, card: StaffCard) -> None:
        """Remembers the moderation card posted in a staff chat (one per proposal and chat)."""
        ...

    async def pending_without_staff_cards(self) -> list[Proposal]:
        """Pending proposals whose moderation card was never posted (a crash, or no staff yet)."""
        ...

    async def mark_author_told(self, proposal_id: int, now: dt.datetime) -> None:
        ...

    async def decided_but_author_not_told(self) -> list[Proposal]:
        """Approved or rejected proposals whose author has not been told, oldest first."""
        ...

    async def add_reason_prompt(self, platform: str, chat_id: int, message_id: int, proposal_id: int,
                                now: dt.datetime) -> None:
        ...

    async def reason_prompt(self, platform: str, chat_id: int, message_id: int) -> int | None:
        """The proposal a reason question was about, or None if the message was no such question."""
        ...

    async def by_code(self, code: str) -> Proposal | None:
        ...

    async def next_pending(self, after_id: int) -> Proposal | None:
        """The review queue: the oldest pending proposal after ``after_id`` (0: the oldest)."""
        ...

    async def set_category(self, proposal_id: int, category_id: str) -> tuple[str, Proposal] | None:
        """Only while pending: returns the category it had and the proposal as it is now; None
        (nothing changed) once it is decided or when it does not exist."""
        ...

    async def mark_duplicate(self, proposal_id: int, original_id: int, reason: str, decided_by: str,
                             now: dt.datetime) -> Proposal | None:
        """Rejects a pending proposal as a duplicate of ``original_id``, once, as decide() does.

        Contract: the original stands (pending or approved) and is another proposal: never a
        chain of duplicates, never two proposals marked as each other's copy. Returns None,
        changing nothing, when the proposal is not pending (decided by someone else meanwhile),
        the original does not stand, or they are the same."""
        ...

    async def set_feasibility(self, proposal_id: int, feasibility: str, note: str, by: str, now: dt.datetime,
                              seen: str | None = ...) -> tuple[Proposal, Proposal] | None:
        """The reviewer's verdict on an approved proposal: returns (before, after).

        Contract: two reviewers never overwrite each other unknowingly — with ``seen`` (the
        feasibility the reviewer's card showed) the verdict is written only if the proposal
        still has it; ``...`` skips that check (operator tools). A changed verdict clears the
        cost; any verdict makes the author due to hear it again (reviewed_but_not_told).
        Returns None, changing nothing, when the proposal is not approved or ``seen`` is stale."""
        ...

    async def set_cost(self, proposal_id: int, cost: int, by: str, now: dt.datetime) -> tuple[Proposal, Proposal] | None:
        """Only on an approved, feasible proposal (None otherwise, nothing changed). Returns
        (before, after); the author is due to hear it."""
        ...

    async def next_to_review(self, after_id: int) -> Proposal | None:
        """Approved proposals still waiting for feasibility, or for the cost of a feasible one."""
        ...

    async def reviewed_but_not_told(self) -> list[Proposal]:
        """Feasibility decisions (with the cost, for a feasible one) their author has not heard."""
        ...

    async def mark_review_told(self, proposal_id: int, now: dt.datetime) -> None:
        ...

    async def review_backlog(self) -> dict[str, int]:
        """Per neighbourhood: approved proposals still needing a feasibility or cost decision."""
        ...

    async def write_staff_title(self, proposal_id: int, title: str) -> tuple[str, Proposal] | None:
        """Sets the title of a proposal whose author left it to staff (title_by_staff); the title
        it had and the proposal after, or None (no such proposal, or its author typed the title)."""
        ...

    async def media_copy(self, kind: str, proposal_id: int, platform: str) -> str | None:
        """The file id on ``platform`` (the other messenger) of the proposal's "voice" note or
        "photo", uploaded there once."""
        ...

    async def set_media_copy(self, kind: str, proposal_id: int, platform: str, file_id: str) -> None:
        ...

    async def set_voice_transcript(self, proposal_id: int, text: str) -> Proposal | None:
        """Stores a machine's draft of the voice note's words (for staff); the proposal after."""
        ...

    async def staff_cards(self, proposal_id: int) -> list[StaffCard]:
        ...


@runtime_checkable
class VoteRepository(Protocol):
    """A proposal is on the ballot when approved, feasible and costed (Proposal.on_the_ballot)."""

    async def ballot_page(self, citizen_id: int, neighbourhood_id: str, offset: int, size: int,
                          with_counts: bool) -> BallotPage:
        """One page of the neighbourhood's ballot in id order: ``total``
        proposals on it, ``my_votes`` every proposal the citizen has a vote on, and, only with
        ``with_counts``, the votes of the page's proposals that have any."""
        ...

    async def ballot_entry(self, citizen_id: int, neighbourhood_id: str, proposal_id: int) -> BallotEntry | None:
        """The proposal as it stands on ``neighbourhood_id``'s ballot (its position there, its
        votes, every proposal the citizen has a vote on); None when it is not on that ballot."""
        ...

    async def ballot_size(self, neighbourhood_id: str) -> int:
        """How many proposals are on the neighbourhood's ballot."""
        ...

    async def count_by_citizen(self, citizen_id: int) -> int:
        ...

    async def cast(self, citizen_id: int, proposal_id: int, neighbourhood_id: str, limit: int,
                   now: dt.datetime) -> tuple[str, int]:
        """Casts the citizen's vote for a proposal on ``neighbourhood_id``'s ballot.

        Returns (outcome, the citizen's vote count after). Contract, in one atomic step even
        under concurrent calls from several processes:
        - at most ``limit`` (votes_per_citizen) votes per citizen: refused with "limit";
        - one vote per proposal per citizen: a second cast, concurrent or not, is "already"
          and adds nothing;
        - a citizen votes only in their own neighbourhood: the proposal must be on the ballot
          of ``neighbourhood_id``, and that must be the citizen's neighbourhood as stored at
          that moment (the caller's copy may be stale: another process may have changed it);
          "ineligible" otherwise (no such proposal, not on the ballot, another neighbourhood's);
        - "voted" when this call added the vote; from then on the citizen's neighbourhood is
          locked (CitizenRepository.set_neighbourhood).
        A refusal writes nothing."""
        ...

    async def withdraw(self, citizen_id: int, proposal_id: int) -> int:
        """Removes the vote if there is one (nothing otherwise); returns the citizen's vote count
        after. Their neighbourhood stays locked."""
        ...


@runtime_checkable
class ConversationRepository(Protocol):
    """Conversation states (bot/messenger/persistence.py): (handler name, key) → state."""

    async def load(self, name: str) -> dict[str, str]:
        ...

    async def save(self, name: str, key: str, state: str | None) -> None:
        """None: the conversation ended, its state is forgotten."""
        ...


@runtime_checkable
class ProcessedUpdateRepository(Protocol):
    """Updates the bot has handled, per messenger (bot/messenger/update_journal.py)."""

    async def record(self, platform: str, update_ids: Iterable[int], states: States, now: dt.datetime) -> None:
        """Contract: the conversation states and the updates marked as handled at ``now`` are
        committed together — an update never counts as handled while the step it moved a
        conversation to is unsaved. Recording an update again is no error."""
        ...

    async def contains(self, platform: str, update_id: int) -> bool:
        ...

    async def newest(self, platform: str, since: dt.datetime) -> int | None:
        """The highest update id handled from ``since`` on (None: none)."""
        ...

    async def prune(self, platform: str, before: dt.datetime, keep_last: int) -> int:
        """Forgets updates handled before ``before``, except the newest ``keep_last`` (by time);
        returns how many were forgotten."""
        ...

    async def among(self, platform: str, update_ids: Iterable[int]) -> set[int]:
        """Which of these updates are recorded as handled (any number of ids)."""
        ...

    async def count(self, platform: str) -> int:
        ...


@runtime_checkable
class BroadcastRepository(Protocol):
    """A broadcast goes draft → scheduled → sending → done, or → cancelled from any of the
    first three. Its deliveries (one per recipient) go pending → sending → sent | unreachable |
    failed, or → uncertain when a sender died while its request was in flight."""

    async def create(self, created_by: str, kind: str, text: str | None, now: dt.datetime, *,
                     entities: str | None = None, source_platform: str | None = None,
                     file_id: str | None = None) -> Broadcast:
        """A new draft."""
        ...

    async def get(self, broadcast_id: int) -> Broadcast | None:
        ...

    async def set_audience(self, broadcast_id: int, audience: Audience) -> bool:
        """Only a draft's audience can change: False (nothing changed) otherwise."""
        ...

    async def count_audience(self, audience: Audience) -> dict[str, int]:
        """Recipients per platform, as they would be if sending started now (citizens found
        unreachable are not recipients)."""
        ...

    async def schedule(self, broadcast_id: int, send_at: dt.datetime, watcher: Watcher) -> bool:
        """draft with an audience → scheduled at ``send_at``, with who watches its progress.
        False, and nothing written, if it is not a draft (cancelled, already scheduled by a
        concurrent press) or has no audience."""
        ...

    async def cancel_drafts(self, created_by: str, keep: int, by: str, now: dt.datetime) -> int:
        """Cancels the author's drafts other than ``keep``; returns how many."""
        ...

    async def cancel(self, broadcast_id: int, by: str, now: dt.datetime) -> str | None:
        """Stops a draft, scheduled or sending broadcast; returns the status it had. None,
        nothing changed, when it is done, cancelled already, or does not exist. Once cancelled,
        no further delivery is claimed (mark_sending)."""
        ...

    async def due(self, now: dt.datetime) -> list[int]:
        """Scheduled broadcasts whose moment has come, earliest first."""
        ...

    async def start(self, broadcast_id: int, now: dt.datetime, span: int = ...) -> int | None:
        """scheduled → sending, writing one pending delivery per recipient of its audience, the
        "remind me" subscribers first; ``span``: an implementation's batch size.

        Contract: a broadcast is started once and has at most one delivery per citizen, even
        when two processes start it together: exactly one call returns the number of recipients;
        the others, and any call on a broadcast not scheduled (or cancelled meanwhile), return
        None. Citizens who join meanwhile are not recipients. A start interrupted by a crash can
        be run again."""
        ...

    async def in_status(self, *statuses: str) -> list[Broadcast]:
        ...

    async def count_by_neighbourhood(self, platform: str | None) -> dict[str, int]:
        """Reachable citizens per neighbourhood (None: both messengers)."""
        ...

    async def recent(self, limit: int) -> list[Broadcast]:
        """Scheduled and sending ones, then the newest finished ones; never drafts."""
        ...

    async def finish(self, broadcast_id: int, now: dt.datetime) -> bool:
        """sending → done, once: False for any other status."""
        ...

    async def next_due(self, broadcast_id: int, platform: str, limit: int, now: dt.datetime) -> list[Delivery]:
        """Up to ``limit`` pending deliveries due at ``now``, in order, with the attempt number
        the send will be. Only read: to send them, claim them with mark_sending. Empty unless
        the broadcast is sending."""
        ...

    async def mark_sending(self, broadcast_id: int, delivery_ids: list[int]) -> set[int] | None:
        """Claims deliveries for sending: pending → sending, committed before the caller sends.

        Contract: a delivery is claimed by one sender — of any number of concurrent claims
        (several processes) on the same ids, each id is returned to at most one; an id already
        claimed, sent or finished is left out of the set. Returns the ids this call claimed
        (empty for an empty list); None, claiming nothing, once the broadcast is not sending
        (cancelled, done)."""
        ...

    async def record(self, results: Iterable[DeliveryResult], now: dt.datetime) -> None:
        """Outcomes of sends, all committed together. ``retry_at`` set: pending again, due from
        then on. ``attempted``: counts one more attempt. UNREACHABLE also marks the citizen
        unreachable: later audiences leave them out until they write to the bot again."""
        ...

    async def mark_in_flight_uncertain(self) -> int:
        """At a sender's start: deliveries a dead sender left claimed may or may not have
        arrived; they become UNCERTAIN and are never sent again. Returns how many."""
        ...

    async def progress(self, broadcast_id: int) -> dict[str, Progress]:
        """Delivery counts per platform and status."""
        ...

    async def file_id(self, broadcast_id: int, platform: str) -> str | None:
        """The broadcast's file as uploaded to ``platform`` (file ids are per messenger)."""
        ...

    async def set_file_id(self, broadcast_id: int, platform: str, file_id: str) -> None:
        ...

    async def add_watcher(self, watcher: Watcher) -> None:
        """Adds or updates (its progress message) a watcher; one per broadcast, platform and chat."""
        ...

    async def watchers(self, broadcast_id: int) -> list[Watcher]:
        ...


@runtime_checkable
class LeaseRepository(Protocol):
    """A named lease: of several processes on one database, one holds it (the broadcast sender)."""

    async def acquire(self, name: str, holder: str, now: dt.datetime, ttl: dt.timedelta,
                      take_over: str | None = None) -> bool:
        """Takes or renews the lease until ``now + ttl``.

        Contract: at most one holder at a time, even when several processes try together.
        Returns False, changing nothing, while another holder's lease has not expired, unless
        that holder is ``take_over`` (the caller knows it is dead)."""
        ...

    async def holder(self, name: str) -> tuple[str, dt.datetime] | None:
        """(holder, expires at), or None when nobody holds it."""
        ...

    async def release(self, name: str, holder: str) -> None:
        """Only ``holder``'s own lease is released."""
        ...


@runtime_checkable
class CalendarRepository(Protocol):
    """Moves of the campaign's boundaries, and the calendar's announcements."""

    async def moved_boundaries(self) -> dict[str, dt.datetime]:
        """The newest move of each boundary."""
        ...

    async def move(self, boundary: str, old_at: dt.datetime, new_at: dt.datetime, by: str, now: dt.datetime) -> None:
        ...

    async def announcements(self) -> dict[str, Announcement]:
        """Every announcement recorded, sent or missed, by key."""
        ...

    async def announce(self, key: str, due_at: dt.datetime, now: dt.datetime, text: str, audience: Audience) -> int | None:
        """Records the announcement as sent and creates its broadcast, scheduled for ``now``,
        in one atomic step; returns the broadcast's id.

        Contract: an announcement is marked sent once — of any number of calls for one key
        (several processes at the same minute, a restart) exactly one returns an id and one
        broadcast exists; the others return None and create nothing. None as well when the key
        was recorded as missed."""
        ...

    async def record_missed(self, key: str, due_at: dt.datetime, now: dt.datetime) -> bool:
        """Records the announcement as missed. True only for the call that recorded it (the
        caller tells staff, once); False when the key is recorded already, sent or missed."""
        ...


@runtime_checkable
class StaffInputRepository(Protocol):
    """What a staff member's next message answers: one open question per person."""

    async def expect(self, platform: str, user_id: int, kind: str, target: str | None, now: dt.datetime) -> None:
        """Asks a question; it replaces the person's open one."""
        ...

    async def expected(self, platform: str, user_id: int, since: dt.datetime) -> tuple[str, str | None] | None:
        """(kind, target) of the open question if asked from ``since`` on; None otherwise."""
        ...

    async def clear(self, platform: str, user_id: int) -> None:
        ...


@runtime_checkable
class AmbassadorRepository(Protocol):
    """An ambassador is a citizen (citizen_id) who applied: draft → pending → approved |
    rejected; approved ⇄ suspended; approved | suspended → removed."""

    async def get(self, citizen_id: int) -> Ambassador | None:
        ...

    async def start_draft(self, citizen_id: int, now: dt.datetime) -> Ambassador:
        """A fresh form, unless they already applied or are an ambassador (returned as they are).
        Someone rejected or removed may apply again: their old form is cleared."""
        ...

    async def update_draft(self, citizen_id: int, **values: Any) -> Ambassador | None:
        """Sets fields of the form (full_name, neighbourhood_id, groups, phone, phone_hash; any
        other name: ValueError) only while it is a draft. Returns the ambassador as they are now
        (check ``status``: anything but draft means nothing was written), None without a form."""
        ...

    async def submit(self, citizen_id: int, now: dt.datetime) -> Ambassador | None:
        """draft → pending when name, neighbourhood and phone are filled in; None otherwise."""
        ...

    async def change_status(self, citizen_id: int, status: str, allowed_from: tuple[str, ...], by: str,
                            now: dt.datetime) -> Ambassador | None:
        """One staff decision, taken once: to ``status`` only from one of ``allowed_from``.

        Contract: a staff decision is taken once when two moderators press together — exactly
        one call returns the changed ambassador; the others return None and change nothing.
        A removed ambassador's links stop attributing from that moment."""
        ...

    async def mark_told(self, citizen_id: int, decided_at: dt.datetime | None, now: dt.datetime) -> None:
        """The applicant heard the decision taken at ``decided_at``; a later decision stays untold."""
        ...

    async def untold(self) -> list[Ambassador]:
        """Decisions the person has not heard (the bot stopped, or their messenger failed)."""
        ...

    async def pending_without_cards(self) -> list[Ambassador]:
        ...

    async def add_card(self, card: AmbassadorCard) -> None:
        ...

    async def cards(self, ambassador_id: int) -> list[AmbassadorCard]:
        ...

    async def in_status(self, *statuses: str) -> list[Ambassador]:
        """By neighbourhood, then citizen id."""
        ...

    async def current_link(self, ambassador_id: int) -> str | None:
        """The payload of the ambassador's live (newest, not revoked) invite link."""
        ...

    async def replace_link(self, ambassador_id: int, payload: str, now: dt.datetime) -> bool:
        """Revokes the ambassador's live link and makes ``payload`` the new one. False, nothing
        changed, unless they are approved."""
        ...

    async def attribute_by_link(self, citizen_id: int, payload: str, now: dt.datetime) -> Ambassador | None:
        """Attributes the citizen to the ambassador whose link ``payload`` is; returns that
        ambassador.

        Contract: first touch wins in ambassador attribution — a citizen is attributed at most
        once, even when two links are opened at the same moment from two processes; a later
        call returns None and leaves the first ambassador. None as well, changing nothing, for
        an unknown or revoked link, an ambassador who is not approved (suspended, removed), and
        the ambassador's own account."""
        ...

    async def drop_self_referral(self, citizen_id: int, phone_hash: str) -> bool:
        """Undoes the citizen's attribution when ``phone_hash`` is their ambassador's own (the
        form's phone, or the one the ambassador verified). True if it was undone."""
        ...

    async def drop_referral(self, citizen_id: int) -> bool:
        """Undoes the citizen's attribution (their phone belonged to an earlier account). True
        if there was one."""
        ...

    async def figures(self, ambassador_id: int) -> Figures:
        """People attributed to the ambassador and how many of them verified, proposed, voted."""
        ...

    async def daily(self, ambassador_id: int, tz_minutes: int) -> list[DayFigures]:
        """figures() per day they joined, days from midnight at UTC+``tz_minutes``, oldest first."""
        ...

    async def all_figures(self) -> dict[int, Figures]:
        """Every ambassador's figures who has anyone attributed, by ambassador."""
        ...

    async def recent_joins(self, since: dt.datetime, until: dt.datetime) -> list[tuple[int, dt.datetime, bool]]:
        """(ambassador, when, verified a phone) of joins in [since, until) through unflagged
        ambassadors, by ambassador, then time, then the order they joined in (joins at one moment keep it)."""
        ...

    async def flag(self, ambassador_id: int, now: dt.datetime) -> bool:
        """Marks the ambassador as suspicious: True the first time only."""
        ...


@runtime_checkable
class AuditRepository(Protocol):
    """Every staff action: append-only."""

    async def record(self, actor: str, action: str, target: str, before: str | None, after: str | None,
                     now: dt.datetime) -> None:
        ...

    async def recent(self, limit: int, offset: int = 0, only: AuditFilter | None = None) -> list[AuditEntry]:
        """Newest first; ``only``: those of one person, one action or a span of time."""
        ...

    async def actors(self, limit: int) -> list[str]:
        """Who appears in the log, the most recent first."""
        ...

    async def actions(self) -> list[str]:
        """The kinds of action in the log, the most recent first."""
        ...

    async def days(self, utc_offset_minutes: int, limit: int) -> list[dt.date]:
        """The local days with entries, the latest first."""
        ...

    async def remember_name(self, actor: str, first_name: str, username: str | None, now: dt.datetime) -> None:
        """A staff member's name as their messenger shows it now."""
        ...

    async def names(self, actors: list[str]) -> dict[str, StaffName]:
        ...


@runtime_checkable
class ResultsRepository(Protocol):
    """The allocation's inputs (ballots) and its runs."""

    async def ballots(self, neighbourhood_id: str) -> NeighbourhoodBallots:
        """The neighbourhood's ballot and its voters' approval sets, grouped: no account in it."""
        ...

    async def save(self, rule: str, by: str, now: dt.datetime, neighbourhoods: dict[str, tuple[int, int, int]],
                   winners: list[Winner]) -> int:
        """A computed run, unpublished; returns its id."""
        ...

    async def publish(self, result_id: int, by: str, now: dt.datetime) -> bool:
        """Contract: results are published once — at most one run is ever published, even when
        two staff press together. True for the call that published; False (nothing changed)
        when this or another run is published already, or the run does not exist."""
        ...

    async def get(self, result_id: int) -> ResultRun | None:
        ...

    async def published(self) -> ResultRun | None:
        ...


@runtime_checkable
class StatsRepository(Protocol):
    """Aggregates for /stats and /export: nothing returned identifies a person."""

    async def snapshot(self, tz_minutes: int) -> tuple[list[NeighbourhoodCounts], list[PlatformCounts], list[DayCounts]]:
        """Per neighbourhood (None: citizens who have not chosen one), per messenger, and per
        day with any activity (oldest first; days from midnight at UTC+``tz_minutes``), all from
        one moment."""
        ...

    async def recount(self, tz_minutes: int) -> tuple[list[NeighbourhoodCounts], list[PlatformCounts], list[DayCounts]]:
        """snapshot()'s figures counted from every row (slow at city size), not from the counters
        snapshot() reads: what those are checked against."""
        ...

    async def snapshot_with_proposals(self, tz_minutes: int) -> tuple[
            list[NeighbourhoodCounts], list[PlatformCounts], list[DayCounts], list[ProposalRow]]:
        """snapshot(), and every proposal with its vote count, from the same moment."""
        ...

    async def neighbourhood_days(self, neighbourhood_id: str, tz_minutes: int) -> list[DayCounts]:
        """One neighbourhood's proposals and votes per day with any (oldest first); the other counts 0."""
        ...


@runtime_checkable
class SearchRepository(Protocol):
    """Similar proposals (storage/search.py): candidates by a trigram index, and «me too»s."""

    async def candidates(self, neighbourhood_id: str, words: Sequence[str], *, citizen_id: int | None = None,
                         exclude: int | None = None, limit: int = 50) -> list[SimilarCandidate]:
        """Proposals of the neighbourhood whose search key holds one of ``words`` (canonical
        words, messages_fa.normalize.search_words; one of one or two letters: as a whole word), at most
        ``limit``, the likeliest first. With ``citizen_id``: approved ones and that citizen's
        pending ones; without: every standing (pending or approved) one but ``exclude``. The
        status is read at the query: a decision is in step at once."""
        ...

    async def support(self, proposal_id: int, citizen_id: int, now: dt.datetime) -> bool:
        """Contract: once per citizen and proposal, also when pressed twice at once — True for
        the one call that recorded it; False when recorded already or the proposal does not stand."""
        ...

    async def supporters(self, proposal_ids: Sequence[int]) -> dict[int, int]:
        """Citizens who said «me too», per proposal (absent: none)."""
        ...


@runtime_checkable
class Repositories(Protocol):
    """Everything the services need, on one database."""

    citizens: CitizenRepository
    drafts: DraftRepository
    proposals: ProposalRepository
    votes: VoteRepository
    conversations: ConversationRepository
    processed_updates: ProcessedUpdateRepository
    broadcasts: BroadcastRepository
    leases: LeaseRepository
    calendar: CalendarRepository
    staff_inputs: StaffInputRepository
    ambassadors: AmbassadorRepository
    audit: AuditRepository
    results: ResultsRepository
    stats: StatsRepository
    search: SearchRepository
