"""What the benchmark's driver and its bot process must agree on."""
from __future__ import annotations

import dataclasses
import datetime as dt
import time
from pathlib import Path

from bot.campaign.clock import ShiftedClock
from bot.campaign.config import Config, load_config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config.example.toml"

TOKEN = "7000001:bench-journey-token"
BOT_USERNAME = "manshahrdaram_bench_bot"
# Not the example value, so nothing mistakes the run for an unconfigured production start.
PHONE_SECRET = b"bench-journey-secret-0123456789"


def bench_config(api_url: str, database: Path, broadcast_rate: float | None = None) -> Config:
    """config.example.toml with Telegram pointed at the loopback server (Bale off);
    ``broadcast_rate`` replaces Telegram's broadcast messages per second when given."""
    config = load_config(EXAMPLE_CONFIG)
    api_url = api_url.rstrip("/")
    telegram = dataclasses.replace(
        config.platforms["telegram"], token=TOKEN,
        base_url=f"{api_url}/bot", base_file_url=f"{api_url}/file/bot",
    )
    if broadcast_rate is not None:
        telegram = dataclasses.replace(telegram, broadcast_rate=float(broadcast_rate))
    bale = dataclasses.replace(config.platforms["bale"], token="")
    return dataclasses.replace(
        config, platforms={"telegram": telegram, "bale": bale}, database=database, phone_hash_secret=PHONE_SECRET,
    )


def voting_moment(config: Config) -> dt.datetime:
    """Where the bot's clock starts: an hour into the voting phase."""
    return config.calendar.voting_opens + dt.timedelta(hours=1)


def voting_clock(config: Config, epoch: float | None = None) -> ShiftedClock:
    """Real time that reads voting_moment(config) at wall time ``epoch`` (time.time(); default now).
    Processes given the same epoch share one continuous clock, as processes on one machine share
    the system's: a bot restarted after a crash goes on from where the dead one was."""
    start = voting_moment(config)
    if epoch is not None:
        start += dt.timedelta(seconds=time.time() - epoch)
    return ShiftedClock(start)


def proposals_moment(config: Config) -> dt.datetime:
    """Where seeding happens: an hour into the proposals phase."""
    return config.calendar.proposals_opens + dt.timedelta(hours=1)
