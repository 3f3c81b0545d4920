"""Run the sandbox on its own: ``python -m sandbox [--port 8080] [--no-limits] [--state-dir D]``.

Benchmarks start it this way in a separate process so that its work is not counted against the
bot's; it prints the chat page's address and the Bot API URL, then serves until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import signal
import sys

from sandbox.ratelimit import RateLimit
from sandbox.server import BotApiSandbox


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m sandbox", description="A local stand-in for the Telegram Bot API."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--token", default="123456:sandbox-token")
    parser.add_argument("--username", default="civicpulse_bot", help="the bot's username")
    parser.add_argument("--global-rate", type=float, default=30.0, help="messages/s overall")
    parser.add_argument("--global-burst", type=int, default=30)
    parser.add_argument("--chat-rate", type=float, default=1.0, help="messages/s to one chat")
    parser.add_argument("--chat-burst", type=int, default=5)
    parser.add_argument("--no-limits", action="store_true", help="disable flood control")
    parser.add_argument(
        "--state-dir",
        default=None,
        help="keep users, chats and update ids here across restarts (default: memory only)",
    )
    return parser


async def serve(args: argparse.Namespace) -> None:
    """Start the sandbox and wait for SIGINT/SIGTERM."""
    if args.no_limits:
        global_limit = chat_limit = None
    else:
        global_limit = RateLimit(args.global_rate, args.global_burst)
        chat_limit = RateLimit(args.chat_rate, args.chat_burst)
    sandbox = BotApiSandbox(
        args.token, args.username, global_limit, chat_limit, state_dir=args.state_dir
    )
    base_url = await sandbox.start(args.host, args.port)
    # Benchmarks time the bot through this process: a stand-in for Telegram that stops for a
    # full collection (up to 70 ms with default thresholds, over the messages it keeps) would
    # put its own pauses into the bot's latency. Young objects are collected less often, and
    # what start-up built is left out of full collections.
    gc.set_threshold(50_000, 20, 100)
    gc.collect()
    gc.freeze()
    print(f"Sandbox chat page: {base_url}/", flush=True)
    print(f"Bot API URL:       {sandbox.api_url}  (token {args.token})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Windows has no add_signal_handler; Ctrl-C then ends asyncio.run with KeyboardInterrupt.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await sandbox.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"sandbox: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
