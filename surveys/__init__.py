"""Questionnaires: YAML schema and loader, the pure questionnaire engine, campaign rules.

Nothing in this package talks to Telegram; the engine and schema are pure and typed.
"""
