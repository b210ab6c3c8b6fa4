"""Each update handled once across restarts, and the conversation step it moved to saved with it.

When does the messenger forget an update? PTB's Updater confirms a batch (the ``offset`` of its
next getUpdates, which it sends as soon as the batch is queued) before any of it is handled. So:

- an update in flight when the process dies (SIGKILL, OOM, power) has been confirmed already:
  it is not delivered again, and the citizen, who got no answer, sends the step again;
- only the last batch, when its confirming getUpdates never reached the messenger (the process
  died within that round trip, or getUpdates kept failing — Telegram's 502s — while the batch
  was handled), is delivered again to the next process, and some of it may be handled already.

The journal makes that second case harmless. Once PTB has run every handler group for an update
(and its ConversationHandler has set the new state), a marker (messenger, update_id) is committed
together with the conversation states that changed, in one transaction: an update never counts as
handled while the step it moved to is unsaved. Before the handlers run, an update that could be a
re-delivery — its id is not above the newest marker found at start — is looked up, and skipped
if it is marked. Every other update costs no read: ids only grow, and only updates delivered to
an earlier process can come again.

The commit is not awaited by the update: one commit takes every update finished since the
previous one (under load, dozens), so a marker costs a fraction of a transaction, and nobody's
next update waits for a disk. Shutdown (SIGTERM) waits for the updates in flight, then commits
what they left (flush).

What remains, honestly — both from the moment a handler has committed its own change and
replied until the commit that follows (milliseconds; ~0.1 s when the event loop is saturated):
- if the process dies then *and* that update is delivered again (its batch's confirmation lost
  too), it is handled a second time. The database bounds what that does: a vote already cast is
  not cast again (the votes' primary key; the limit is part of the INSERT) and the citizen sees
  the same «recorded» answer; a submitted proposal's draft is gone, so it is not submitted twice;
  neighbourhoods and phone numbers are set to the same values again;
- without re-delivery, a state left only to this commit would be lost. So the citizen's
  conversation does not leave it here: each step commits its new state itself before its reply
  goes out (save_now, called through handlers/outbox.py), and the later commit skips a state
  already saved. A crash then loses at most a step the citizen was never answered.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable
from contextvars import ContextVar
from typing import TYPE_CHECKING

from telegram import Update

from bot.campaign.clock import Clock
from storage.processed_updates import ProcessedUpdateRepository

if TYPE_CHECKING:
    from telegram.ext import Application

log = logging.getLogger(__name__)

# Telegram keeps an unconfirmed update for 24 hours: an older marker can never be needed.
KEEP_FOR = dt.timedelta(days=1)
# A re-delivery is at most the last getUpdates batch (100), the newest updates the bot was given:
# the newest markers, whatever their age, are all it can need. Kept by count alone, so a flood
# (every dropped press is marked too: ~1,000 a second) cannot grow the table for a day.
KEEP_LAST = 1000
PRUNE_EVERY = dt.timedelta(hours=1)  # or after KEEP_LAST new markers, whichever comes first

_UNKNOWN = object()

# Set by a worker (bot/cluster/worker.py) around an update it takes from the inbox: whether an earlier
# attempt may have started it (its claim was taken over, or given back). Such an attempt may have
# committed a conversation step already (save_now) before it died: the update is run again from the
# states it found, not from those its first attempt moved on to, so it takes the same path (the same
# handler, the same replies: the reply ledger answers those from what the first attempt sent) instead
# of reading the same input as the next step's (a contact shared for the ambassador form taken as the
# voter's phone, a name as a neighbourhood).
TAKEN_OVER: ContextVar[bool] = ContextVar("inbox_taken_over", default=False)
# The inbox update being handled in this context (inbox mode): what its steps' states are saved with.
_HANDLING: ContextVar[int | None] = ContextVar("inbox_update", default=None)


class UpdateJournal:
    """One messenger's markers and conversation states; see the module's docstring."""

    def __init__(self, repo: ProcessedUpdateRepository, platform: str, clock: Clock, bot_id: str = "") -> None:
        self.repo, self.platform, self.clock = repo, platform, clock
        # Update ids are numbered per bot, not per messenger: markers are kept under the bot's own
        # id too, so the same database served by another bot (a new token) is not mistaken for it.
        self.key = f"{platform}:{bot_id}" if bot_id else platform
        # Set by build_application: the journal asks it for the states an update changed.
        self.application: Application | None = None
        self.skipped = 0
        self._states: dict[tuple[str, str], str | None] = {}
        # What the database holds for each conversation in progress (absent: no row), so a step
        # that leaves the state as it was costs no write.
        self._saved: dict[tuple[str, str], str] = {}
        # States saved ahead of their update's end (save_now), while that update still runs.
        self._ahead: dict[tuple[str, str], str | None] = {}
        self._markers: list[int] = []
        self._committer: asyncio.Task | None = None
        self._newest_at_start: object = _UNKNOWN
        self._loading: asyncio.Future | None = None
        self._pruned_at: dt.datetime | None = None
        self._marked_since_prune = 0
        self._from_inbox = False  # take_from_inbox()

    def take_from_inbox(self, repo: ProcessedUpdateRepository) -> None:
        """A worker's journal (bot/cluster/worker.py). Updates come from the shared inbox
        (storage/inbox.py), which stores each once and hands out a person's next update only after the
        commit that marks the previous one here: ``repo`` (an InboxJournalRepository) marks its inbox
        row done in that same transaction. So no update needs looking up before it runs; but another
        worker may have moved the person's conversation since this process last served them, so their
        states are read from the database before each update (persistence.reload_states)."""
        self.repo = repo
        self._from_inbox = True

    # -- around each update (PerUserUpdateProcessor calls this in the citizen's turn) ------------

    async def run(self, update: object, handle: Awaitable) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        if update_id is None:
            await handle
            return
        if self._from_inbox:
            handling = _HANDLING.set(update_id)
            try:
                try:
                    await self.application.persistence.reload_states(
                        update, before_of=update_id if TAKEN_OVER.get() else None)
                except BaseException:
                    handle.close()  # not run: the worker gives the update back to the inbox
                    raise
                await handle
            finally:
                _HANDLING.reset(handling)
            self._markers.append(update_id)
            self._kick()
            return
        try:
            seen = await self._handled_before(update_id)
        except Exception as exc:  # noqa: BLE001 — an update handled twice is bounded, one dropped is not
            log.error("%s: update %d: could not look up whether it was handled before: %s",
                      self.platform, update_id, exc.__class__.__name__, extra={"update_id": update_id})
            seen = False
        if seen:
            handle.close()  # PTB's process_update coroutine, never started
            self.skipped += 1
            log.info("%s: update %d was handled before the restart; skipped", self.platform, update_id)
            return
        await handle
        # Its ConversationHandler has set the new state by now: the commit that takes this marker
        # asks PTB for the changed states first (_drain), so it carries them.
        self._markers.append(update_id)
        self._kick()

    async def _handled_before(self, update_id: int) -> bool:
        if self._newest_at_start is _UNKNOWN:
            # Read once, at the first update; the first batch's updates all wait for that read.
            if self._loading is None:
                self._loading = asyncio.ensure_future(self.repo.newest(self.key, self.clock.now() - KEEP_FOR))
            try:
                self._newest_at_start = await asyncio.shield(self._loading)
            except Exception:
                self._loading = None  # the next update tries again
                raise
        newest = self._newest_at_start
        return newest is not None and update_id <= newest and await self.repo.contains(self.key, update_id)

    # -- conversation states (bot/messenger/persistence.py) --------------------------------------------

    def saved(self, name: str, states: dict[str, str]) -> None:
        """The states of one conversation as loaded at start (bot/messenger/persistence.py)."""
        self._saved.update(((name, key), state) for key, state in states.items())

    def loaded(self, name: str, key: str, state: str | None) -> None:
        """One conversation's state as just read from the database (persistence.reload_states)."""
        self._remember({(name, key): state})

    def saved_state(self, name: str, key: str) -> str | None:
        return self._saved.get((name, key))

    def stage(self, name: str, key: str, state: str | None) -> None:
        """A conversation's new state (None: ended), written with the next commit."""
        if (name, key) in self._ahead:
            # Saved already by save_now; any other value is the state from before that step,
            # handed over late by PTB while the step was still replying.
            return
        if self._saved.get((name, key)) == state:
            self._states.pop((name, key), None)
            return
        self._states[(name, key)] = state
        self._kick()

    async def save_now(self, name: str, key: str, state: str | None) -> None:
        """Commit a conversation's new state now, before the reply that announces it goes out:
        a process killed after the reply must not lose the step the citizen was told about.
        The state stays "ahead" of PTB's own bookkeeping until done_ahead()."""
        self._ahead[(name, key)] = state
        self._states.pop((name, key), None)  # older, not written yet: superseded
        before = self._saved.get((name, key))
        if before == state:
            return
        update_id = _HANDLING.get()
        if self._from_inbox and update_id is not None:
            # With the state the update found (TAKEN_OVER), in the same transaction.
            await self.repo.save_step(update_id, {(name, key): state}, {(name, key): before})
        else:
            await self.repo.record(self.key, (), {(name, key): state}, self.clock.now())
        self._remember({(name, key): state})

    def done_ahead(self, name: str, key: str) -> None:
        """The step that called save_now has returned its state to PTB."""
        self._ahead.pop((name, key), None)

    def _remember(self, states: dict[tuple[str, str], str | None]) -> None:
        for conversation, state in states.items():
            if state is None:
                self._saved.pop(conversation, None)
            else:
                self._saved[conversation] = state

    def retry(self) -> None:
        """Starts a commit of what a failed one left, unless one is running: without waiting for it."""
        if self._committer is None and (self._states or self._markers):
            self._kick()

    async def flush(self) -> None:
        """Everything handled and staged so far, committed (at shutdown, after the last update)."""
        if self._committer is not None:
            await asyncio.shield(self._committer)
        if self._states or self._markers:  # left by a failed commit: one more try
            self._kick()
            await asyncio.shield(self._committer)

    # -- group commit --------------------------------------------------------------------------

    def _kick(self) -> None:
        if self._committer is None:
            self._committer = asyncio.get_running_loop().create_task(
                self._drain(), name=f"journal:{self.platform}")

    async def _drain(self) -> None:
        try:
            while self._states or self._markers:
                # Markers first, then the states: every update taken here set its state before
                # its marker was appended, so update_persistence() below stages it.
                markers, self._markers = self._markers, []
                states: dict[tuple[str, str], str | None] = {}
                now = self.clock.now()
                try:
                    if markers and self.application is not None:
                        await self.application.update_persistence()
                    states, self._states = self._states, {}
                    await self.repo.record(self.key, markers, states, now)
                    self._remember(states)
                    self._marked_since_prune += len(markers)
                except Exception as exc:  # noqa: BLE001 — the committer must outlive a locked or full database
                    # Kept for the next commit (the next update, or the flush at shutdown).
                    self._markers[:0] = markers
                    # Not those saved ahead meanwhile: theirs is newer and written.
                    self._states = {**{k: v for k, v in states.items() if k not in self._ahead}, **self._states}
                    log.error("%s: saving %d update marker(s) and %d conversation state(s) failed: %s",
                              self.platform, len(markers), len(states), exc.__class__.__name__)
                    return
                await self._prune(now)
        finally:
            self._committer = None

    async def _prune(self, now: dt.datetime) -> None:
        if (self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY
                and self._marked_since_prune < KEEP_LAST):
            return
        self._pruned_at, self._marked_since_prune = now, 0
        try:
            # Everything handled before now, but the newest KEEP_LAST.
            removed = await self.repo.prune(self.key, now, KEEP_LAST)
        except Exception as exc:  # noqa: BLE001 — a marker kept longer is harmless
            log.warning("%s: pruning update markers failed: %s", self.platform, exc.__class__.__name__)
            return
        if removed:
            log.debug("%s: forgot %d update marker(s), keeping the newest %d", self.platform, removed, KEEP_LAST)
