"""In-memory model of the slice of Telegram our bot talks to, behind one facade.

``LocalApiState`` is the world (bots, people, chats: ``model.py``) with the
simulated users' actions (``users.py``) and the waits (``waiting.py``) mixed
in, and it owns the Bot API (``botapi.py``), the files (``files.py``), the
fault rules (``faults.py``) and the call log. Everything here is synchronous,
loop-agnostic Python (apart from the waiters), so tests can drive it directly
and the HTTP layer in ``server.py`` stays a thin adapter.
"""

from __future__ import annotations

from typing import Any

from .botapi import BotApi
from .errors import ApiError, ControlError
from .faults import FaultRule, FaultRules
from .files import FileStore
from .model import CallLog
from .users import DEFAULT_LOCATION, UserActions
from .waiting import Waiting

# ApiError, ControlError and DEFAULT_LOCATION stay importable from here, as before the split.
__all__ = ["DEFAULT_LOCATION", "ApiError", "ControlError", "LocalApiState"]


class LocalApiState(UserActions, Waiting):
    """All bots, chats, messages, update queues, call log, faults and stats."""

    def __init__(self, bots: dict[str, str] | None = None, *, latency: float = 0.0, seed: int = 0,
                 timeout_seconds: float = 30.0, call_log_size: int = 20_000):
        super().__init__(bots)
        self.latency = float(latency)
        self.timeout_seconds = float(timeout_seconds)  # how long a "timeout" fault stalls
        self.fault_rules = FaultRules(seed)
        self.call_log = CallLog(call_log_size)
        self.files = FileStore(self.next_seq)
        self.bot_api = BotApi(self, self.files)

    @property
    def call_seq(self) -> int:
        return self.call_log.seq

    @property
    def in_flight(self) -> int:
        return self.call_log.in_flight

    @property
    def max_in_flight(self) -> int:
        return self.call_log.max_in_flight

    @property
    def faults(self) -> list[FaultRule]:
        return self.fault_rules.rules

    # ------------------------------------------------------------ config

    def configure(self, latency: float | None = None, timeout_seconds: float | None = None,
                  seed: int | None = None) -> dict:
        if latency is not None:
            self.latency = float(latency)
        if timeout_seconds is not None:
            self.timeout_seconds = float(timeout_seconds)
        if seed is not None:
            self.fault_rules.seed(seed)
        return {"latency": self.latency, "timeout_seconds": self.timeout_seconds}

    def add_fault(self, method: str | None = None, kind: str = "500", rate: float = 1.0,
                  count: int | None = None, retry_after: int = 1, chat_id: int | None = None,
                  perform: bool = False, token: str | None = None, per_second: float = 0.0) -> dict:
        """Make matching calls fail: `kind` is "429", "403", "404", "500", "502",
        "timeout" or "drop"; method None matches every method but getUpdates,
        chat_id and token (one bot) narrow the rule, `count` limits its firings
        and `rate` fires it at random (seeded), `perform` runs the call first.
        Kind "limit" is a hidden bulk limit: `per_second` messages per bot in any
        second, 429 beyond it (faults.FaultRule)."""
        return self.fault_rules.add(method, kind, rate, count, retry_after, chat_id, perform, token, per_second)

    def set_faults(self, rules: list[dict]) -> list[dict]:
        return self.fault_rules.replace(rules)

    def clear_faults(self) -> bool:
        self.fault_rules.clear()
        return True

    def pick_fault(self, method: str, chat_id: Any = None, token: str | None = None) -> FaultRule | None:
        return self.fault_rules.pick(method, chat_id, token)

    def reset(self) -> bool:
        """Forget chats, users, files, calls, faults and stats (not config)."""
        self.forget()
        self.files.clear()
        self.call_log.clear()
        self.fault_rules.clear()
        self.reset_stats()
        return True

    # ------------------------------------------------------ bookkeeping

    def method_name(self, name: str) -> str | None:
        """Canonical spelling of a Bot API method (Telegram ignores case)."""
        return self.bot_api.method_name(name)

    def record(self, token: str, method: str, params: dict, status: int,
               fault: str | None = None) -> int:
        """Log a finished Bot API call and wake whoever waits on its chat."""
        bot = self.bots.get(token)
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            chat_id = None
            if method == "answerCallbackQuery" and bot is not None:
                cq = bot.callbacks.get(str(params.get("callback_query_id")))
                chat_id = cq["chat_id"] if cq else None
        seq = self.call_log.add(token, method, params, status, chat_id, fault)
        if bot is not None:
            if chat_id is not None:
                bot.chat_seq[chat_id] = seq
                bot.wake(chat_id)
            bot.wake("calls")
        return seq

    def calls(self, token: str | None = None, method: str | None = None,
              chat_id: int | None = None, since: int = 0) -> list[dict]:
        """The Bot API call log (bounded; oldest entries fall off)."""
        return self.call_log.query(token, method, chat_id, since)

    def stats(self) -> dict:
        log = self.call_log
        return {"methods": log.per_method(), "total": log.total(),
                "in_flight": log.in_flight, "max_in_flight": log.max_in_flight,
                "updates_pushed": self.updates_pushed, "updates_confirmed": self.updates_confirmed,
                "updates_redelivered": self.updates_redelivered,
                "pending_updates": {t: len(b.updates) for t, b in self.bots.items()}}

    def reset_stats(self) -> bool:
        self.call_log.reset_stats()
        self.updates_pushed = self.updates_confirmed = self.updates_redelivered = 0
        return True

    # ---------------------------------------------------------- Bot API

    def api(self, token: str, method: str, params: dict) -> Any:
        """Run one (non-getUpdates) Bot API method; raises ApiError like Telegram."""
        return self.bot_api.call(token, method, params)

    async def get_updates(self, token: str, params: dict) -> list[dict]:
        return await self.bot_api.get_updates(token, params)

    def file_bytes(self, token: str, path: str) -> bytes | None:
        return self.files.data_at(path)
