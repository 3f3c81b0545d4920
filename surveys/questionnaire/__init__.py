"""A questionnaire: its YAML schema and loader, the pure engine, answers, the parsed cache."""
