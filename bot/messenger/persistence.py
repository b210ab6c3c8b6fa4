"""PTB persistence that keeps ConversationHandler states only, in our SQLite database.

PTB's persistence loads all user/chat data into memory at start; with half a million citizens
that is a liability, and our domain data lives in our own tables anyway. Conversation states are
small (one row per citizen in the middle of a flow; finished flows delete their row).

States are not written one by one: they go to the messenger's UpdateJournal, which commits them
in the transaction that marks the update that changed them as handled (bot/messenger/update_journal.py).
A SIGKILL therefore loses at most the step in flight.
"""
from __future__ import annotations

import json

from telegram.ext import Application, BasePersistence, ConversationHandler, Job, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from bot.messenger.update_journal import UpdateJournal
from storage.inbox import private_key
from storage.repositories import ConversationRepository

# Updates whose claimed states (claimed_with) are kept until reload_states takes them: a worker holds
# at most its concurrency (256) at once.
CLAIMED_KEPT = 4096
# How often PTB hands changed states to us by itself. Updates that come through polling hand
# theirs over as they finish (UpdateJournal.run); this catches the rest (updates fed to
# process_update directly, as the fast tests do), and shutdown catches everything.
UPDATE_INTERVAL_SECONDS = 1.0


class ConversationStatePersistence(BasePersistence):
    def __init__(self, repo: ConversationRepository, journal: UpdateJournal, namespace: str,
                 update_interval: float = UPDATE_INTERVAL_SECONDS) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, chat_data=False, user_data=False, callback_data=False),
            update_interval=update_interval,
        )
        self.repo = repo
        self.journal = journal
        # User ids of Telegram and Bale overlap: each platform's states live under its own name.
        self.namespace = namespace
        self._conversations: list[ConversationHandler] | None = None  # reload_states' (found once)
        # update id → (person, states) as the inbox claim read them (claimed_with), for reload_states.
        self._claimed: dict[int, tuple[int, dict[str, str]]] = {}

    def _name(self, name: str) -> str:
        return f"{self.namespace}:{name}"

    async def get_conversations(self, name: str) -> ConversationDict:
        stored = await self.repo.load(self._name(name))
        self.journal.saved(self._name(name), stored)
        return {tuple(json.loads(key)): json.loads(state) for key, state in stored.items()}

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        self.journal.stage(self._name(name), json.dumps(list(key)),
                           None if new_state is None else json.dumps(new_state))

    async def save_now(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        """A step's new state (None: the conversation ends), committed before its reply is sent."""
        await self.journal.save_now(self._name(name), json.dumps(list(key)),
                                    None if new_state is None else json.dumps(new_state))

    def state_of(self, name: str, key: ConversationKey) -> object | None:
        """The state committed for this conversation (None: none)."""
        saved = self.journal.saved_state(self._name(name), json.dumps(list(key)))
        return None if saved is None else json.loads(saved)

    def done_ahead(self, name: str, key: ConversationKey) -> None:
        self.journal.done_ahead(self._name(name), json.dumps(list(key)))

    def conversation_names(self) -> list[str]:
        """The persistent conversations' names (without the namespace): what a worker's inbox claim
        reads the states of (storage/inbox.InboxRepository.claim)."""
        return [conversation.name for conversation in self._persistent_conversations()]

    def claimed_with(self, update_id: int, person: int, states: dict[str, str] | None) -> None:
        """The states the inbox claim read with this update (Claimed.states: every persistent
        conversation's in the person's private chat, absent: none): reload_states takes them from
        here instead of reading them again. Kept for a bounded number of updates (one that never
        reaches reload_states, e.g. dropped by flood control, is forgotten later)."""
        if states is None:
            return
        if len(self._claimed) >= CLAIMED_KEPT:
            del self._claimed[next(iter(self._claimed))]
        self._claimed[update_id] = (person, states)

    async def reload_states(self, update: object, before_of: int | None = None) -> None:
        """This update's conversations take the states the database holds now, replacing what this
        process remembers of them (a worker, bot/cluster/worker.py: another worker may have moved the
        person on since). PTB's ConversationHandler reads states from persistence once, at start, and
        then trusts its memory; here the one person about to be served is read again, each time.
        ``before_of``: the update is handled again after an attempt that may have moved them on
        (update_journal.TAKEN_OVER): the states that attempt started from, where it saved them."""
        wanted: dict[tuple[str, str], tuple[ConversationHandler, ConversationKey]] = {}
        for conversation in self._persistent_conversations():
            try:
                # PTB's own key (per chat / user / message, as the handler is configured).
                key = conversation._get_key(update)  # type: ignore[arg-type]
            except (AttributeError, RuntimeError):  # not an Update, or without the chat or user it is keyed by
                continue
            wanted[(self._name(conversation.name), json.dumps(list(key)))] = (conversation, key)
        claimed = self._claimed.pop(getattr(update, "update_id", None), None)
        if not wanted:
            return
        stored: dict[tuple[str, str], str] = {}
        asked = list(wanted)
        # Not for an update handled again: the claim read the states its earlier attempt moved on to.
        if claimed is not None and before_of is None:
            person, states = claimed
            private = private_key(person)
            # Read by the claim already: the person's private chat (absent there: no state).
            stored = {(name, key): states[name] for name, key in asked if key == private and name in states}
            asked = [(name, key) for name, key in asked if key != private]
        if asked:
            stored.update(await (self.journal.repo.states(asked) if before_of is None
                                 else self.journal.repo.states(asked, before_of=before_of)))
        for (name, stored_key), (conversation, key) in wanted.items():
            state = stored.get((name, stored_key))
            self.journal.loaded(name, stored_key, state)
            states = conversation._conversations
            if state is None:
                states.data.pop(key, None)  # untracked: nothing to write back
            else:
                states.update_no_track({key: json.loads(state)})

    def end_steps(self, update: object) -> None:
        """This person's conversation steps end, as a step returning END would end them: a staff
        member answering the bot's question (handlers/staff_input.py) is not in a citizen's step, and
        one left open must not take what they type next. PTB hands the change over with this
        update's other states (the dict tracks the removal)."""
        for conversation in self._persistent_conversations():
            try:
                key = conversation._get_key(update)  # type: ignore[arg-type]
            except (AttributeError, RuntimeError):
                continue
            conversation._conversations.pop(key, None)

    def _persistent_conversations(self) -> list[ConversationHandler]:
        if self._conversations is None:
            application = self.journal.application
            self._conversations = [handler for group in application.handlers.values() for handler in group
                                   if isinstance(handler, ConversationHandler) and handler.persistent and handler.name]
        return self._conversations

    # Nothing else is stored: these satisfy the interface.
    async def get_user_data(self) -> dict:
        return {}

    async def get_chat_data(self) -> dict:
        return {}

    async def get_bot_data(self) -> dict:
        return {}

    async def get_callback_data(self) -> None:
        return None

    async def update_user_data(self, user_id: int, data: dict) -> None:
        pass

    async def update_chat_data(self, chat_id: int, data: dict) -> None:
        pass

    async def update_bot_data(self, data: dict) -> None:
        pass

    async def update_callback_data(self, data: object) -> None:
        pass

    async def drop_chat_data(self, chat_id: int) -> None:
        pass

    async def drop_user_data(self, user_id: int) -> None:
        pass

    async def refresh_user_data(self, user_id: int, user_data: dict) -> None:
        pass

    async def refresh_chat_data(self, chat_id: int, chat_data: dict) -> None:
        pass

    async def refresh_bot_data(self, bot_data: dict) -> None:
        pass

    async def flush(self) -> None:
        await self.journal.flush()


class StatesOnlyApplication(Application):
    """PTB's Application, minus the ids it collects for user and chat data nobody persists.

    PTB 22 adds the user and the chat of every update (and job) to two sets of ids whose data the
    persistence should write, and empties them only when it writes user or chat data. With
    ConversationStatePersistence, which writes neither, the sets kept every citizen ever seen for
    the life of the process: +63 MB at 500,000 citizens. So nothing is collected unless the
    persistence stores user or chat data.
    """

    __slots__ = ()

    def _mark_for_persistence_update(self, *, update: object | None = None, job: Job | None = None) -> None:
        store = self.persistence.store_data if self.persistence is not None else None
        if store is not None and (store.user_data or store.chat_data):
            super()._mark_for_persistence_update(update=update, job=job)
