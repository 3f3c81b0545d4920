"""`civicpulse run` as a child process of the test, against a sandbox in the test process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from sandbox import BotApiSandbox

ROOT = Path(__file__).resolve().parents[2]


class BotProcess:
    """`civicpulse run` polling the sandbox; its output goes to a log the failures quote."""

    def __init__(self, sandbox: BotApiSandbox, db_url: str, tmp_path: Path, config: str) -> None:
        config_path = tmp_path / "config.yaml"
        # The dashboard on a free port: processes (and test runs) side by side never collide.
        config_path.write_text(config if "web:" in config else config + "web:\n  port: 0\n")
        self.log = tmp_path / "bot.log"
        self.env = {
            **os.environ, "TELEGRAM_BOT_TOKEN": sandbox.token,
            "TELEGRAM_API_URL": sandbox.base_url, "DATABASE_URL": db_url,
            "CIVICPULSE_SECRET_KEY": "k" * 32, "CIVICPULSE_CONFIG": str(config_path),
            "CIVICPULSE_VAR_DIR": str(tmp_path / "var"),
        }
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "run", cwd=ROOT, env=self.env,
                stdout=log, stderr=log,
            )

    async def kill(self) -> None:
        """SIGKILL: no clean shutdown, nothing recorded after this instant."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]
