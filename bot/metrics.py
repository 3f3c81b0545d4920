"""What the bot counts and times, served at ``/metrics`` in Prometheus's text format.

One :class:`Metrics` per process (built with the Application, with a registry of its own so
tests running several bots in one process count apart). Nothing here is about a person:
labels are kinds of update, outcomes, Bot API methods and status codes, never an id.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# Seconds: a step is answered in tens of milliseconds; a slow one in seconds.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_TRANSACTION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)

UPDATE_KINDS = ("message", "edited_message", "callback_query", "my_chat_member",
                "inline_query", "other")
CONTENT_TYPE = CONTENT_TYPE_LATEST


def update_kind(data: object) -> str:
    """The kind of an update, from the attribute PTB set (one of :data:`UPDATE_KINDS`)."""
    for kind in UPDATE_KINDS[:-1]:
        if getattr(data, kind, None) is not None:
            return kind
    return "other"


class Metrics:
    """The process's counters, histograms and gauges."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.updates = Counter(
            "civicpulse_updates", "Updates processed, by kind and outcome (handled, error).",
            ["kind", "outcome"], registry=registry)
        self.duplicates = Counter(
            "civicpulse_duplicate_updates",
            "Updates received again after their effect was committed (answered again, "
            "changed nothing).", registry=registry)
        self.handler_seconds = Histogram(
            "civicpulse_handler_seconds", "Time from taking an update to its reply being sent.",
            ["kind"], buckets=_LATENCY_BUCKETS, registry=registry)
        self.transaction_seconds = Histogram(
            "civicpulse_db_transaction_seconds", "Database transactions, begin to commit.",
            buckets=_TRANSACTION_BUCKETS, registry=registry)
        self.telegram_calls = Counter(
            "civicpulse_telegram_calls", "Bot API calls by method and HTTP status (429: flood "
            "control; 403: the person blocked the bot; in_answer: carried by the answer to a "
            "webhook post, no status comes back).", ["method", "status"],
            registry=registry)
        self.outbox_sent = Counter(
            "civicpulse_outbox_sent", "Invitations and reminders handed to Telegram.",
            registry=registry)
        self.outbox_depth = Gauge(
            "civicpulse_outbox_depth", "Invitations and reminders waiting to be sent (as "
            "last seen by the process that sends them).", registry=registry)
        self.webhook_refused = Counter(
            "civicpulse_webhook_refused", "Posts to the webhook path refused for a missing or "
            "wrong secret header.", ["reason"], registry=registry)
        self.sentiment_backlog = Gauge(
            "civicpulse_sentiment_backlog", "Texts waiting for their sentiment score (as last "
            "seen by the scoring job).", registry=registry)
        self.leader = Gauge(
            "civicpulse_leader", "1 in the process that runs the scheduler and the outbox.",
            registry=registry)
        # Both kinds are always shown, at 0 until the first refusal.
        for reason in ("missing", "wrong"):
            self.webhook_refused.labels(reason)

    def count_call(self, method: str, status: int) -> None:
        self.telegram_calls.labels(method, str(status)).inc()

    def exposition(self) -> bytes:
        """The text Prometheus scrapes."""
        return generate_latest(self.registry)
