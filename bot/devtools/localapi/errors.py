"""The two ways a call can fail: a Bot API error (rendered like Telegram) or a control error."""

from __future__ import annotations


class ApiError(Exception):
    """A Bot API failure; the server renders it byte-for-byte like Telegram."""

    def __init__(self, code: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters

    def payload(self) -> dict:
        out = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            out["parameters"] = self.parameters
        return out


class ControlError(ValueError):
    """A simulated user tried something a real Telegram client could not do."""


def bad(description: str) -> ApiError:
    """Telegram's 400 "Bad Request: ..." answer."""
    return ApiError(400, "Bad Request: " + description)
