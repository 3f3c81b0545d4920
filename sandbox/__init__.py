"""A local stand-in for the Telegram Bot API, with simulated users and a browser chat page.

``BotApiSandbox`` serves the Bot API (for the bot, through PTB's ``base_url``) and a client API
under ``/sandbox/`` (for the chat page, tests and benchmarks); ``SandboxClient`` drives the
client API from Python. Photos and documents (either way) and user locations are supported, with
files kept in memory; with a ``state_dir`` everything is also saved for the next start (see
``sandbox.state``). ``png_bytes`` makes a real image for tests. Never used when a real Telegram
token is configured.
"""

from sandbox.client import (
    CallbackAnswer,
    ChatEvent,
    Document,
    Location,
    Message,
    PhotoSize,
    SandboxClient,
    SandboxUser,
)
from sandbox.media import FileLimits, png_bytes
from sandbox.protocol import ApiError, SandboxError
from sandbox.ratelimit import ManualClock, RateLimit
from sandbox.server import BotApiSandbox
from sandbox.state import StateDirBusy

__all__ = [
    "ApiError",
    "BotApiSandbox",
    "CallbackAnswer",
    "ChatEvent",
    "Document",
    "FileLimits",
    "Location",
    "ManualClock",
    "Message",
    "PhotoSize",
    "RateLimit",
    "SandboxClient",
    "SandboxError",
    "SandboxUser",
    "StateDirBusy",
    "png_bytes",
]
