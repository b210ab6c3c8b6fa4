"""A conversation step's new state is committed before any reply of that step is sent (issue 12,
item 5): a process killed right after the reply must not lose the step the citizen was told about.

Every API call the bot makes while handling a citizen's update takes a snapshot of the citizen's
conversation row, read through a separate connection as the next process would read it. When
the update is done, the state PTB holds for the citizen must be the one every snapshot saw.
"""
from __future__ import annotations

import json
import sqlite3

import pytest
from telegram.ext import ConversationHandler

from messages_fa import buttons as b

USER = 4242
CATEGORY = "فضای سبز و محیط زیست"


class StateWatch:
    def __init__(self, bot, platform: str) -> None:
        self.messenger = bot.messengers[platform]
        self.database = bot.config.database
        self.name = f"{platform}:citizen"
        self.snapshots: list[object] = []
        self.conversation = next(h for h in self.messenger.app.handlers[0]
                                 if isinstance(h, ConversationHandler) and h.name == "citizen")
        request = self.messenger.request
        original = request.do_request

        async def watched(url, method, request_data=None, *args, **kwargs):
            self.snapshots.append(self.stored())
            return await original(url, method, request_data, *args, **kwargs)
        request.do_request = watched

    def stored(self) -> object:
        conn = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT state FROM conversations WHERE name = ? AND key = ?",
                               (self.name, json.dumps([USER, USER]))).fetchone()
        finally:
            conn.close()
        return None if row is None else json.loads(row[0])

    def held(self) -> object:
        return self.conversation._conversations.get((USER, USER))  # what PTB keeps in memory

    async def step(self, action) -> None:
        self.snapshots.clear()
        await action
        assert self.snapshots, "the step sent nothing"
        assert set(map(repr, self.snapshots)) == {repr(self.held())}, (
            f"replies went out with the stored state {self.snapshots}, the step moved to {self.held()!r}")


@pytest.mark.parametrize("platform", ["telegram", "bale"])
async def test_every_step_is_committed_before_its_reply(bot, platform):
    watch = StateWatch(bot, platform)
    m = watch.messenger
    step = watch.step
    await step(m.send(USER, "/start"))
    assert watch.held() == "hood"
    await step(m.press(USER, "تجریش"))
    assert watch.held() is None
    # A proposal through every step, an edit from the preview, a cancel and a resume.
    await step(m.send(USER, b.SEND_PROPOSAL))
    assert watch.held() == "category"
    await step(m.press(USER, CATEGORY))
    await step(m.send(USER, b.BACK))
    await step(m.send(USER, b.SEND_PROPOSAL))
    await step(m.press(USER, CATEGORY))
    await step(m.send(USER, "کاشت درخت در خیابان"))
    assert watch.held() == "description"
    await step(m.send(USER, "در پیاده‌رو خیابان اصلی درخت کاشته شود تا سایه داشته باشیم."))
    await step(m.send(USER, b.CONTINUE))
    assert watch.held() == "preview"
    await step(m.press(USER, b.EDIT))
    await step(m.press(USER, b.EDIT_TITLE))
    assert watch.held() == "edit_title"
    await step(m.send(USER, "کاشت درخت در خیابان اصلی"))
    assert watch.held() == "preview"
    await step(m.send(USER, "/cancel"))
    assert watch.held() is None
    # The ambassador form: steps that exist only as conversation state.
    await step(m.send(USER, "/ambassador"))
    assert watch.held() == "amb_name"
    await step(m.send(USER, "سفیر آزمایشی"))
    await step(m.press(USER, "تجریش"))
    assert watch.held() == "amb_groups"
    await step(m.send(USER, b.BACK))
    await step(m.send(USER, b.HELP))  # a menu button ends the form
    assert watch.held() is None
