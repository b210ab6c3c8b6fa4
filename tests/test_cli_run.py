"""`manshahrdaram run` as the operator starts it: a real process serving a token, stopped by SIGTERM."""
from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from bot.devtools.localapi import LocalBotApi

# slow: the bot as its own process against the loopback Bot API server (`pytest -m "not slow"` skips it).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:operator-test-token"


async def test_run_serves_the_configured_token_and_stops_cleanly_on_sigterm(tmp_path):
    async with LocalBotApi(bots={TOKEN: "district1_bot"}) as api:
        example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
        config = (example
                  .replace('phone_hash_secret = "change-me-to-a-long-random-secret"',
                           'phone_hash_secret = "a-real-looking-secret-0123456789"')
                  .replace('[telegram]\n# From @BotFather. Leave empty to not serve Telegram. With no token at all the bot starts the\n# local playground instead.\ntoken = ""',
                           f'[telegram]\ntoken = "{TOKEN}"\nbase_url = "{api.bot_base_url}"\nbase_file_url = "{api.file_base_url}"'))
        assert TOKEN in config, "config.example.toml changed shape; update this test"
        path = tmp_path / "config.toml"
        path.write_text(config, encoding="utf-8")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--config", str(path), "run", cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            api.state.send_text(TOKEN, 77, "/start")
            messages = await api.state.wait_for_messages(TOKEN, 77, count=1, timeout=20)
            assert "من شهردارم" in messages[-1]["text"]
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
        log = stderr.decode()
        assert process.returncode == 0, log
        assert "serving as @district1_bot" in log and "stopping" in log
        assert TOKEN not in log and "operator-test-token" not in log
        assert (tmp_path / "data" / "manshahrdaram.sqlite3").exists()
