"""The ``repos`` fixture, parametrized over the storage engines of backends.BACKENDS.

Tests here use only the methods of storage/interface.py: no SQL, no driver. ``address`` is where
the test's fresh database lives; ``open_store`` opens it again (another connection) for races.
"""
from __future__ import annotations

import pytest

from tests.storage.backends import BACKENDS, Store


@pytest.fixture(params=sorted(BACKENDS))
def backend(request):
    chosen = BACKENDS[request.param]
    chosen.available()  # PostgreSQL unreachable: skip, or fail when CI=true
    return chosen


@pytest.fixture
def address(backend, tmp_path):
    address = backend.new_address(tmp_path)
    yield address
    backend.discard(address)


@pytest.fixture
async def open_store(backend, address):
    """Opens one more connection on the test's database; all are closed after the test."""
    opened: list[Store] = []

    async def open_() -> Store:
        store = await backend.open(address)
        opened.append(store)
        return store
    yield open_
    for store in reversed(opened):
        await store.close()


@pytest.fixture
async def store(open_store) -> Store:
    return await open_store()


@pytest.fixture
def repos(store: Store):
    return store.repos
