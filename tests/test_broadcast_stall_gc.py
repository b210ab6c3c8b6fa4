"""Full garbage collections that held a broadcast up (issue 13): the bot's start-up heap is frozen,
and the standalone loopback server freezes what survives each full collection."""
from __future__ import annotations

import gc

import pytest

from bot.devtools.localapi import __main__ as localapi_main
from tests.support.e2e import Harness


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.slow  # the loopback Bot API server and the real polling loop
async def test_the_bot_freezes_its_start_up_heap_and_gives_it_back_at_stop(tmp_path, unfrozen):
    async with Harness(tmp_path) as harness:
        assert gc.get_freeze_count() == 0
        await harness.start()
        # PTB, the handlers and the config are walked by no later full collection.
        assert gc.get_freeze_count() > 10_000
        await harness.stop()
        assert gc.get_freeze_count() == 0


def test_the_server_freezes_its_heap_after_older_collections_at_most_once_a_second(unfrozen):
    freeze = localapi_main.FreezeSurvivors(every=3600)
    gc.callbacks.append(freeze)
    try:
        kept = [[i] for i in range(1000)]  # lists: tracked by the collector, as the server's chats are
        gc.collect(0)
        assert gc.get_freeze_count() == 0  # the youngest generation's collections freeze nothing
        gc.collect(1)
        frozen = gc.get_freeze_count()
        assert frozen >= len(kept)
        more = [[i] for i in range(1000)]
        gc.collect(1)
        gc.collect()
        assert gc.get_freeze_count() == frozen  # not again within `every`
        del more
    finally:
        gc.callbacks.remove(freeze)


def test_the_standalone_server_installs_the_freeze(monkeypatch):
    served = []

    async def serve(args):
        served.append([cb for cb in gc.callbacks if isinstance(cb, localapi_main.FreezeSurvivors)])

    monkeypatch.setattr(localapi_main, "_serve", serve)
    try:
        localapi_main.main(["--port", "0"])
        assert len(served[0]) == 1
    finally:
        for cb in served[0]:
            gc.callbacks.remove(cb)
