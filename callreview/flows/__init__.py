"""Prefect flows and the `callreview` CLI: orchestration only; the rules live in review/."""
