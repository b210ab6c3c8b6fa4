"""The storage engines the contract tests run against: the only module here that knows one.

A backend makes a fresh, empty database at an address and opens it as often as a test asks
(several connections, several processes), and throws it away after the test. Every contract test
runs against each entry of BACKENDS.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from storage import interface
from tests.storage import pg


@dataclass
class Store:
    """One connection's repositories, as the services get them."""

    repos: interface.Repositories
    close: Callable[[], Awaitable[None]]


class SqliteBackend:
    name = "sqlite"

    def available(self) -> None:
        pass

    def new_address(self, folder: Path) -> str:
        return str(folder / "contract.sqlite3")

    def discard(self, address: str) -> None:
        pass  # in the test's tmp_path

    async def open(self, address: str) -> Store:
        # Imported here: picking a backend must not load every engine's driver.
        from storage.db import Database
        from storage.repositories import Repositories

        db = Database(Path(address))
        await db.open()
        return Store(Repositories(db), db.close)


class PostgresBackend:
    """A schema of its own per test on the test server (tests/storage/pg.py), dropped after it."""

    name = "postgresql"

    def __init__(self) -> None:
        self._schemas: dict[str, str] = {}

    def available(self) -> None:
        pg.require()

    def new_address(self, folder: Path) -> str:
        schema, url = pg.new_schema()
        self._schemas[url] = schema
        return url

    def discard(self, address: str) -> None:
        pg.drop_schema(self._schemas.pop(address))

    async def open(self, address: str) -> Store:
        from storage.postgres import PgDatabase
        from storage.repositories import Repositories

        # Small pools: a race opens several stores per process.
        db = PgDatabase(address, pool_size=2)
        await db.open()
        return Store(Repositories(db), db.close)


BACKENDS = {backend.name: backend for backend in (SqliteBackend(), PostgresBackend())}
