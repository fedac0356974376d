"""Prefect flows and tasks: orchestration only. Each task wraps one use case of callreview.service, which
does the work and writes its audit event; the rules live in callreview.core."""
import os

# Prefect reads its settings when first imported, and every flow module imports it after this package:
# set here once, no telemetry leaves an evidence system unless someone asks for it.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

ACTOR = "batch"  # who the audit log names for everything a flow does
