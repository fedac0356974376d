"""Settings of the batch layer: parallelism, the Dask cluster, and the nightly schedule."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class BatchSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CALLREVIEW_", extra="ignore")

    workers: int = Field(
        default=1, ge=1, le=64,
        description="Calls processed at once (Prefect thread pool, or local Dask worker processes). The Whisper "
                    "model is loaded once per worker process.",
    )
    dask_address: str | None = Field(
        default=None,
        description="Address of a Dask scheduler (tcp://host:8786) to run the per-call tasks on; "
                    "'local' starts a local cluster of WORKERS processes. Unset: threads in this process.",
    )
    schedule: str = Field(
        default="0 2 * * *",
        description="Cron schedule of the deployment `callreview serve` starts (default nightly at 02:00).",
    )
    timezone: str = Field(default="UTC", description="Time zone the cron schedule is read in.")
    inbox: Path = Field(default=Path("inbox"), description="Inbox folder the scheduled deployment processes.")
    audit_sample_rate: float | None = Field(
        default=None, gt=0, le=1,
        description="When set, each batch also draws this share of the last full week's consistent calls (Monday "
                    "to Sunday, UTC) into the queue for audit, as `callreview sample` does; the draw is the same "
                    "whenever it runs, so a week is never drawn twice (CALLREVIEW_AUDIT_SAMPLE_RATE, e.g. 0.02).")
    audit_sample_min: int = Field(default=0, ge=0, description="Draw at least this many calls (CALLREVIEW_AUDIT_SAMPLE_MIN).")
