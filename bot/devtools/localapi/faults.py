"""Fault injection: rules that make chosen Bot API calls fail the way Telegram and Bale do."""

from __future__ import annotations

import collections
import random
import time
from dataclasses import dataclass, field
from typing import Any

from .errors import ControlError

# The fixed answers; "429" carries retry_after, "timeout" and "drop" are no answer at all.
_ANSWERS = {
    "403": (403, "Forbidden: bot was blocked by the user"),
    "404": (404, "Not Found"),  # how Bale answers a method it lacks
    "500": (500, "Internal Server Error"),
    "502": (502, "Bad Gateway"),
}


@dataclass(slots=True)
class FaultRule:
    """One fault-injection rule; see LocalApiState.add_fault."""

    method: str | None = None  # None: every method except getUpdates
    kind: str = "500"  # "429" | "403" | "404" | "500" | "502" | "timeout" | "drop"
    rate: float = 1.0
    count: int | None = None  # remaining firings; None = unlimited
    retry_after: int = 1
    chat_id: int | None = None
    perform: bool = False  # execute the call before failing (ambiguous outcome)
    token: str | None = None  # None: every bot
    # kind "limit": a messenger's hidden bulk limit. Each bot may send (send*, copy, forward) this
    # many messages in any one second (a sliding window); beyond it the call answers 429 with
    # retry_after. ``rate`` and ``count`` do not apply. The rule also counts what it let through:
    # ``peak`` (the most in any one second), ``accepted``, ``refused`` and ``per_second``
    # (accepted calls by whole second of the server's clock), so a benchmark can read the rate
    # the bot's processes sent at together.
    per_second: float = 0.0
    peak: int = 0
    accepted: int = 0
    refused: int = 0
    per_second_counts: dict[int, int] = field(default_factory=dict)
    _windows: dict[str | None, collections.deque] = field(default_factory=dict)

    KINDS = ("429", "403", "404", "500", "502", "timeout", "drop", "limit")

    def as_dict(self) -> dict:
        shown = {k: getattr(self, k) for k in self.__dataclass_fields__ if not k.startswith("_")}
        shown["per_second_counts"] = {str(k): v for k, v in sorted(self.per_second_counts.items())}
        return shown

    def over_limit(self, token: str | None) -> bool:
        """Kind "limit": whether this call is beyond the bot's messages in the last second (it
        is counted as sent when not)."""
        now = time.monotonic()
        window = self._windows.setdefault(token, collections.deque())
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self.per_second:
            self.refused += 1
            return True
        window.append(now)
        self.accepted += 1
        self.peak = max(self.peak, len(window))
        second = int(time.time())
        self.per_second_counts[second] = self.per_second_counts.get(second, 0) + 1
        return False

    def answer(self) -> tuple[int, dict]:
        """HTTP status and JSON body of an answering fault (not "timeout" or "drop")."""
        if self.kind in ("429", "limit"):
            return 429, {"ok": False, "error_code": 429,
                         "description": f"Too Many Requests: retry after {self.retry_after}",
                         "parameters": {"retry_after": self.retry_after}}
        code, description = _ANSWERS[self.kind]
        return code, {"ok": False, "error_code": code, "description": description}


class FaultRules:
    """The active rules, checked in order; the first that matches a call fires."""

    def __init__(self, seed: int = 0):
        self.rules: list[FaultRule] = []
        self.rng = random.Random(seed)

    def seed(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def add(self, method: str | None = None, kind: str = "500", rate: float = 1.0,
            count: int | None = None, retry_after: int = 1, chat_id: int | None = None,
            perform: bool = False, token: str | None = None, per_second: float = 0.0) -> dict:
        kind = str(kind)
        if kind not in FaultRule.KINDS:
            raise ControlError(f"unknown fault kind {kind!r}; expected one of {FaultRule.KINDS}")
        if (kind == "limit") != (float(per_second) > 0):
            raise ControlError('per_second (messages a second per bot) is for kind "limit", and it needs one above 0')
        rule = FaultRule(method, kind, float(rate), count, int(retry_after), chat_id, bool(perform), token,
                         float(per_second))
        self.rules.append(rule)
        return rule.as_dict()

    def replace(self, rules: list[dict]) -> list[dict]:
        self.rules = []
        # What a "limit" rule counted (as_dict shows it) is not set again.
        settable = {"method", "kind", "rate", "count", "retry_after", "chat_id", "perform", "token", "per_second"}
        return [self.add(**{k: v for k, v in r.items() if k in settable}) for r in rules]

    def clear(self) -> None:
        self.rules = []

    def pick(self, method: str, chat_id: Any = None, token: str | None = None) -> FaultRule | None:
        for rule in self.rules:
            if rule.method is None:
                if method == "getUpdates":
                    continue  # polling faults must be asked for explicitly
            elif rule.method.lower() != method.lower():
                continue
            if rule.chat_id is not None and rule.chat_id != chat_id:
                continue
            if rule.token is not None and rule.token != token:
                continue
            if rule.kind == "limit":
                if rule.method is None and not _sends_a_message(method):
                    continue
                if rule.over_limit(token):
                    return rule
                continue
            if rule.count is not None and rule.count <= 0:
                continue
            if rule.rate < 1.0 and self.rng.random() >= rule.rate:
                continue
            if rule.count is not None:
                rule.count -= 1
            return rule
        return None


def _sends_a_message(method: str) -> bool:
    """What a messenger's bulk limit counts: new messages, not reads, edits or answered presses."""
    return method.startswith(("send", "copyMessage", "forwardMessage")) and method != "sendChatAction"
