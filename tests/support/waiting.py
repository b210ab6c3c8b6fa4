"""Waiting in a test for something another task or process does, with a deadline and a name."""
from __future__ import annotations

import asyncio
from collections.abc import Callable

WITHIN = 20.0


async def until(predicate: Callable[[], object], what: str, within: float = WITHIN) -> None:
    """Returns once ``predicate()`` is true; fails naming ``what`` after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)
