"""The playground's fixed identities and timings."""
from __future__ import annotations

from bot.campaign.config import BALE, TELEGRAM

ADMIN_ID = 1
FIRST_CITIZEN = 2
TOKENS = {TELEGRAM: "1000:playground-telegram", BALE: "2000:playground-bale"}
BOT_USERNAME = "manshahrdaram_bot"
DATABASE_NAME = "playground.sqlite3"
SITE_DIR = "playground-site"  # the playground's published results pages (bot/outputs/site.py)

POLL_TIMEOUT = 1  # seconds of long poll: :quit never waits longer than this for the pollers
FIRST_ANSWER_TIMEOUT = 5.0  # how long to wait for the bot's first reaction to an action
QUIET = 0.3  # the bot has finished answering when it made no call for this long...
SETTLE_LIMIT = 10.0  # ...but never wait longer than this after the first reaction
