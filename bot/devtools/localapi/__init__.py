"""Loopback Telegram Bot API server for tests, the playground and the benchmark.

``LocalBotApi`` runs the server in the current event loop; ``LocalApiClient``
drives simulated users over HTTP when the server lives in another process
(``python -m bot.devtools.localapi``).
"""

from .client import LocalApiClient
from .errors import ApiError, ControlError
from .server import LocalBotApi, make_app
from .state import LocalApiState

__all__ = ["ApiError", "ControlError", "LocalApiClient", "LocalApiState", "LocalBotApi", "make_app"]
