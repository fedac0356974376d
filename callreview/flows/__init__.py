"""Prefect flows and tasks: orchestration only. Each task wraps one use case of callreview.service, which
does the work and writes its audit event; the rules live in callreview.core."""

ACTOR = "batch"  # who the audit log names for everything a flow does
