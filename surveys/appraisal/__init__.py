"""The appraisal workflow: periods, text scoring, run and publish, results, appeals, KPIs,
exports. The arithmetic itself lives in ``analysis``."""
