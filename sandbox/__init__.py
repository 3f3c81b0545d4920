"""A local stand-in for the Telegram Bot API, with simulated users and a browser chat page.

``BotApiSandbox`` serves the Bot API (for the bot, through PTB's ``base_url``) and a client API
under ``/sandbox/`` (for the chat page, tests and benchmarks); ``SandboxClient`` drives the
client API from Python. Never used when a real Telegram token is configured.
"""

from sandbox.client import CallbackAnswer, ChatEvent, Message, SandboxClient, SandboxUser
from sandbox.ratelimit import ManualClock, RateLimit
from sandbox.server import ApiError, BotApiSandbox, SandboxError

__all__ = [
    "ApiError",
    "BotApiSandbox",
    "CallbackAnswer",
    "ChatEvent",
    "ManualClock",
    "Message",
    "RateLimit",
    "SandboxClient",
    "SandboxError",
    "SandboxUser",
]
