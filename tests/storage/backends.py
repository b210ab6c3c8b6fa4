"""The storage engines the contract tests run against: the only module here that knows one.

A backend makes a fresh, empty database at an address and opens it as often as a test asks
(several connections, several processes). The next engine (PostgreSQL) is one more entry in
BACKENDS; every contract test then runs against it as well.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from storage import interface


@dataclass
class Store:
    """One connection's repositories, as the services get them."""

    repos: interface.Repositories
    close: Callable[[], Awaitable[None]]


class SqliteBackend:
    name = "sqlite"

    def new_address(self, folder: Path) -> str:
        return str(folder / "contract.sqlite3")

    async def open(self, address: str) -> Store:
        # Imported here: picking a backend must not load every engine's driver.
        from storage.db import Database
        from storage.repositories import Repositories

        db = Database(Path(address))
        await db.open()
        return Store(Repositories(db), db.close)


BACKENDS = {backend.name: backend for backend in (SqliteBackend(),)}
