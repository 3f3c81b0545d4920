"""The domain and its use cases, one sub-package per noun; nothing here talks to Telegram.

questionnaire, campaigns, respondents, fieldwork, appraisal and people (see the README's
Layout). Use cases take a unit of work and return plain values; the schema and the engine
are pure.
"""
