"""The README's picture of the citizen's conversation is the conversation the bot registers, and
the drawing reads the callbacks' returns rather than guessing them."""
from __future__ import annotations

import re

import pytest
from telegram.ext import CommandHandler, ConversationHandler, MessageHandler, filters

from handlers import states as S
from tests.support.conversation_diagram import (
    ANY_STEP,
    README,
    REFRESH,
    DiagramError,
    citizen_diagram,
    diagram,
    readme_with,
)

EDGE = re.compile(r"^    (\S+) --> (\S+) : (.+)$", re.MULTILINE)


def edges(mermaid: str) -> dict[tuple[str, str], list[str]]:
    return {(a, b): triggers.split(", ") for a, b, triggers in EDGE.findall(mermaid)}


def test_the_readme_shows_the_conversation_the_bot_registers():
    readme = README.read_text(encoding="utf-8")
    assert readme_with(readme, citizen_diagram()) == readme, (
        f"README.md's diagram of the citizen's conversation is out of date: redraw it with `{REFRESH}`")


def test_every_step_is_drawn_reachable_with_the_moves_the_handlers_make():
    drawn = edges(citizen_diagram())
    states = [v for k, v in vars(S).items() if k.isupper()]
    reached = {"[*]"}
    while True:  # a step is reachable from the start, or from any step through a fallback
        more = {b for (a, b) in drawn if a in reached | {ANY_STEP}} - reached
        if not more:
            break
        reached |= more
    assert set(states) <= reached
    # What the handler functions return, not what their names suggest.
    assert drawn[(S.TITLE, S.DESCRIPTION)] == ["staff write the title", "text"]
    assert "back" in drawn[(S.DESCRIPTION, S.TITLE)]
    assert "/start" in drawn[("[*]", S.HOOD)]
    assert "/cancel" in drawn[(ANY_STEP, "[*]")]
    assert (S.PREVIEW, S.EDIT) in drawn and (S.EDIT, S.EDIT_TITLE) in drawn
    # A step refusing bad input stays where it is.
    assert "anything else" in drawn[(S.AMB_PHONE, S.AMB_PHONE)]


async def _stay_or_end(update, context):
    if update:
        return None
    return ConversationHandler.END


def _computed_state(update, context):
    return "ti" + "tle"  # a state the source does not name


def _state_from(update, context, state=S.TITLE):
    return state


def _conversation(*callbacks) -> ConversationHandler:
    return ConversationHandler(
        entry_points=[CommandHandler("start", _state_from)],
        states={S.TITLE: [MessageHandler(filters.TEXT, c) for c in callbacks]},
        fallbacks=[CommandHandler("cancel", _stay_or_end)],
    )


def test_returns_are_followed_into_defaults_and_none_stays():
    drawn = edges(diagram(_conversation(_stay_or_end), {}, set()))
    assert drawn == {("[*]", S.TITLE): ["/start"], (S.TITLE, "[*]"): ["text"], (S.TITLE, S.TITLE): ["text"],
                     (ANY_STEP, "[*]"): ["/cancel"], (ANY_STEP, ANY_STEP): ["/cancel"]}


def test_a_state_the_source_does_not_name_is_refused_not_guessed():
    with pytest.raises(DiagramError, match="_computed_state"):
        diagram(_conversation(_computed_state), {}, set())


def test_the_markers_must_be_there_once():
    with pytest.raises(DiagramError, match="conversation:start"):
        readme_with("no markers here", "stateDiagram-v2\n")
