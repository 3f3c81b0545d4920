"""Telegram updates in, replies out: parse, call one use case, render. No SQL, no scores."""
