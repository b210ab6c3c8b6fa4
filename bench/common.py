"""What the benchmark's driver and its bot process must agree on."""
from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from bot.config import Config, load_config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config.example.toml"

TOKEN = "7000001:bench-journey-token"
BOT_USERNAME = "manshahrdaram_bench_bot"
# Not the example value, so nothing mistakes the run for an unconfigured production start.
PHONE_SECRET = b"bench-journey-secret-0123456789"


def bench_config(api_url: str, database: Path) -> Config:
    """config.example.toml with Telegram pointed at the loopback server (Bale off)."""
    config = load_config(EXAMPLE_CONFIG)
    api_url = api_url.rstrip("/")
    telegram = dataclasses.replace(
        config.platforms["telegram"], token=TOKEN,
        base_url=f"{api_url}/bot", base_file_url=f"{api_url}/file/bot",
    )
    bale = dataclasses.replace(config.platforms["bale"], token="")
    return dataclasses.replace(
        config, platforms={"telegram": telegram, "bale": bale}, database=database, phone_hash_secret=PHONE_SECRET,
    )


def voting_moment(config: Config) -> dt.datetime:
    """Where the bot's clock starts: an hour into the voting phase."""
    return config.calendar.voting_opens + dt.timedelta(hours=1)


def proposals_moment(config: Config) -> dt.datetime:
    """Where seeding happens: an hour into the proposals phase."""
    return config.calendar.proposals_opens + dt.timedelta(hours=1)
