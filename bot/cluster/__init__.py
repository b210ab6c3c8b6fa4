"""Growing past one process: a receiver stores updates in the inbox (PostgreSQL), workers take them.

bot/cluster/receiver.py (``manshahrdaram receive``), bot/cluster/worker.py (``manshahrdaram worker``),
storage/inbox.py (the table between them).
"""
from __future__ import annotations

from bot.campaign.config import Config, ConfigError
from storage.engine import is_postgres


def require_postgres(config: Config, command: str) -> str:
    """The PostgreSQL URL ``receive`` and ``worker`` need; a ConfigError naming the key otherwise."""
    value = config.database_address
    if not is_postgres(value):
        raise ConfigError("database.url", f'is needed by `manshahrdaram {command}`: set [database] url = '
                                          '"postgresql://…" (the inbox and the workers share one PostgreSQL database; '
                                          "SQLite serves one process only)")
    return str(value)
