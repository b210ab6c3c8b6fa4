"""Where each update meets flood control (bot/campaign/flood.py): once, and as early as it can be read.

Flood control used to see a press only in its turn, after PTB had built it and it had waited in
its sender's queue: 20 people pressing 50 times a second grew the bot by 300 MB, each dropped
press still cost an answerCallbackQuery, and the queue took 80 s to drain. Now:

- getUpdates (bot/messenger/update_decoding.py) hands each raw update to ``FloodDoor.unread`` before PTB
  builds it. A press or a message over the limit is never built: it is passed on as
  ``DroppedUnread``, its id only, so the messenger's offset passes it and the update journal
  marks it handled (delivered again after a restart, it would find a fresh allowance). Building
  is most of what a dropped press would cost: ~0.7 ms in PTB for one carrying the welcome's 27
  buttons, and getUpdates builds a batch before it asks for the next, so building every press
  of a 1,000-a-second flood was, alone, too slow to keep up with it.
- The update processor (bot/messenger/update_processor.py) asks ``FloodDoor.verdict`` as an update
  arrives, before it waits for its sender's turn: the verdict taken when it was read, or one
  taken now (another kind of update, or one that did not come through getUpdates). DROP: it is
  dropped there, unanswered (a pressed button shows a spinner that times out: fine for a
  flooder) and marked handled.
- An update let through carries its verdict to its turn (``DECIDED``), where the guard
  (handlers/flood.py) sends the one notice instead of counting the update again.

An update that goes round both (``Application.process_update`` called directly, as the fast
tests do) is counted by the guard itself.
"""
from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from telegram import Update

from bot.campaign.flood import Kind, Verdict

# Set by the update processor around an update's turn: the verdict taken for it at the door.
# None: none was (the guard decides).
DECIDED: ContextVar[Verdict | None] = ContextVar("flood_verdict", default=None)

Check = Callable[[int, Kind, bool], Verdict]  # (user id, kind, whether a notice can reach them)


def subject(update: object) -> tuple[int, Kind, bool] | None:
    """Whom an update counts against, as which kind, and whether a notice can reach them; None:
    nobody to slow down (channel posts and the like)."""
    if not isinstance(update, Update) or update.effective_user is None:
        return None
    pressed = update.callback_query is not None
    # A pressed button is answered with the notice; a message needs a chat to get it. Without one
    # the notice is kept for the next update that has one.
    can_notify = pressed or (update.effective_message is not None and update.effective_chat is not None)
    return update.effective_user.id, Kind.BUTTON if pressed else Kind.MESSAGE, can_notify


def raw_subject(data: object) -> tuple[int, Kind, bool] | None:
    """subject() read from the Bot API's JSON, for the two shapes a flood comes in (a pressed
    button, a new message); None for anything else, which is built and then asked subject()."""
    if not isinstance(data, dict) or type(data.get("update_id")) is not int:
        return None
    if isinstance(query := data.get("callback_query"), dict):
        sender, kind, can_notify = query.get("from"), Kind.BUTTON, True
    elif isinstance(message := data.get("message"), dict):
        sender, kind, can_notify = message.get("from"), Kind.MESSAGE, isinstance(message.get("chat"), dict)
    else:
        return None
    user_id = sender.get("id") if isinstance(sender, dict) else None
    return (user_id, kind, can_notify) if type(user_id) is int else None


class DroppedUnread(Update):
    """An update flood control dropped before it was built: its id and nothing else."""

    __slots__ = ()


class FloodDoor:
    """One messenger's door; ``check`` is Services.flood_check for that messenger."""

    def __init__(self, check: Check) -> None:
        self._check = check
        # Verdicts taken at getUpdates for the updates let through, until the processor takes
        # them: about one batch's worth.
        self._taken: dict[int, Verdict] = {}
        self.dropped_unread = 0  # for tests and metrics

    def unread(self, data: object) -> DroppedUnread | None:
        """At getUpdates, before the update is built: what to pass on in its place, or None
        (build it)."""
        who = raw_subject(data)
        if who is None:
            return None
        verdict = self._check(*who)
        update_id = data["update_id"]  # type: ignore[index]  # raw_subject checked it
        if verdict is Verdict.DROP:
            self.dropped_unread += 1
            return DroppedUnread(update_id=update_id)
        self._taken[update_id] = verdict
        return None

    def decided(self, update_id: int, verdict: Verdict) -> None:
        """A verdict taken elsewhere before the update reaches the processor (a worker's, from the
        buckets every worker shares: SharedFlood), which the processor then takes as its own."""
        self._taken[update_id] = verdict

    def verdict(self, update: object) -> Verdict | None:
        """As the update reaches the processor: its verdict; None, nobody to limit."""
        if isinstance(update, Update) and (taken := self._taken.pop(update.update_id, None)) is not None:
            return taken
        who = subject(update)
        return None if who is None else self._check(*who)


class SharedFlood:
    """Flood control for a worker (bot/cluster/worker.py): each person's buckets kept in PostgreSQL
    (storage/flood_buckets.py), so one person's allowance holds across all the workers, as it does in
    the single process's memory; the rule is bot/campaign/flood.py's either way. Staff are not limited
    (Services.flood_exempt). The buckets an update leaves wait in ``pending`` (by update id) for the
    transaction that marks the update done (storage/inbox.InboxJournalRepository), which writes them:
    an update taken over after its worker died is counted again from the buckets as they were, once."""

    def __init__(self, repo, services, platform: str, pending: dict[int, tuple]) -> None:
        self.repo, self.services, self.platform, self.pending = repo, services, platform, pending

    async def verdict(self, update: object) -> Verdict | None:
        """The update's verdict (None: nobody to limit); one read."""
        who = subject(update)
        if who is None:
            return None
        user_id, kind, can_notify = who
        if self.services.flood_exempt(self.platform, user_id):
            return Verdict.PASS
        flood = self.services.flood
        now = flood.clock.now().timestamp()
        after, verdict = flood.decide(await self.repo.buckets(self.platform, user_id), now, kind, can_notify)
        self.pending[update.update_id] = (self.platform, user_id, *after, update.update_id, verdict.value)
        return verdict
