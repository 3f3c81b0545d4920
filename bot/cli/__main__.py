"""`python -m bot.cli`, as the tests and benchmarks start the bot: the same as `civicpulse`."""

import sys

from bot.cli import main

sys.exit(main())
