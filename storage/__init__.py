"""aiosqlite storage: connection, migrations and repositories returning plain dataclasses.

All SQL of the project lives in this package, behind a narrow interface, so a city-wide
deployment can put another engine behind the same repositories.
"""
from storage.db import Database
from storage.repositories import Repositories

__all__ = ["Database", "Repositories"]
