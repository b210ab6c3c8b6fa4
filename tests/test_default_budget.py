"""Issue 12, item 13: the budget a neighbourhood has when results.default_budget is left out is the
README's, and results are never computed with a budget of 0 (they would fund nothing)."""
from __future__ import annotations

import asyncio
import copy
import dataclasses
import re
import tomllib

import pytest

from bot.__main__ import main
from bot.campaign.config import DEFAULT_BUDGET, Results, parse_config
from messages_fa import results as t
from storage.db import Database
from tests.conftest import ROOT, TELEGRAM_ADMIN, make_config

EXAMPLE_TEXT = (ROOT / "config.example.toml").read_text(encoding="utf-8")


def test_the_default_budget_is_the_readmes():
    root = copy.deepcopy(tomllib.loads(EXAMPLE_TEXT))
    del root["results"]["default_budget"]
    config = parse_config(root)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = re.search(r"\| `results\.default_budget`, `results\.budgets` \| ([\d,]+);", readme)
    assert documented and int(documented[1].replace(",", "")) == DEFAULT_BUDGET == 5_000_000_000
    assert config.results.default_budget == DEFAULT_BUDGET and config.results.budget("tajrish") == DEFAULT_BUDGET
    assert Results().default_budget == DEFAULT_BUDGET
    assert f"default_budget = {DEFAULT_BUDGET}" in EXAMPLE_TEXT


def test_the_cli_refuses_results_with_a_zero_budget(tmp_path, capsys):
    database = tmp_path / "bot.sqlite3"

    async def create() -> None:
        db = Database(database)
        await db.open()
        await db.close()
    asyncio.run(create())
    path = tmp_path / "config.toml"
    path.write_text(EXAMPLE_TEXT.replace('database = "data/manshahrdaram.sqlite3"', f'database = "{database}"')
                    .replace("default_budget = 5000000000", "default_budget = 0\nbudgets = { tajrish = 8000000000 }"),
                    encoding="utf-8")
    assert main(["--config", str(path), "results"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == ("config error: results.default_budget: is 0, and 26 neighbourhoods (araj, azgol, "
                   "emamzadeh-ghasem, evin, bagh-ferdows, …) have no entry in results.budgets: their results would "
                   "fund nothing\n")


@pytest.fixture
def config(tmp_path):
    base = make_config(tmp_path)
    return dataclasses.replace(base, results=Results("greedy", 0, (("tajrish", 8_000_000_000),)))


async def test_the_staff_results_screen_refuses_a_zero_budget_in_persian(bot):
    bot.at("closed")
    tg = bot.telegram
    await tg.send(TELEGRAM_ADMIN, "/results")
    unfunded = [n.name for n in bot.config.neighbourhoods if n.id != "tajrish"]
    assert tg.last_text(TELEGRAM_ADMIN) == t.budget_missing(unfunded)
    answer = tg.last_text(TELEGRAM_ADMIN)
    assert "بودجه" in answer and "اراج" in answer and "results.default_budget" in answer
    assert "تجریش" not in answer  # it has a budget of its own
    assert await bot.services.results.published() is None
    assert await bot.services.repos.results.get(1) is None  # nothing computed, nothing to publish
