"""Fault injection: rules that make chosen Bot API calls fail the way Telegram and Bale do."""

from __future__ import annotations

import random
from dataclasses import dataclass
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

    KINDS = ("429", "403", "404", "500", "502", "timeout", "drop")

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def answer(self) -> tuple[int, dict]:
        """HTTP status and JSON body of an answering fault (not "timeout" or "drop")."""
        if self.kind == "429":
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
            perform: bool = False, token: str | None = None) -> dict:
        kind = str(kind)
        if kind not in FaultRule.KINDS:
            raise ControlError(f"unknown fault kind {kind!r}; expected one of {FaultRule.KINDS}")
        rule = FaultRule(method, kind, float(rate), count, int(retry_after), chat_id, bool(perform), token)
        self.rules.append(rule)
        return rule.as_dict()

    def replace(self, rules: list[dict]) -> list[dict]:
        self.rules = []
        return [self.add(**r) for r in rules]

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
            if rule.count is not None and rule.count <= 0:
                continue
            if rule.rate < 1.0 and self.rng.random() >= rule.rate:
                continue
            if rule.count is not None:
                rule.count -= 1
            return rule
        return None
