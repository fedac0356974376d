"""Where a run writes: the database URL and the data folder (archive, quarantine, working files)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class StorageSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CALLREVIEW_", extra="ignore")

    data_dir: Path = Field(
        default=Path("callreview-data"),
        description="Folder for the archive, quarantine and working files; the default SQLite file lives here too.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db. Default: SQLite at DATA_DIR/callreview.db.",
    )
    max_file_bytes: int = Field(
        default=1 << 30,
        ge=1,
        description="Recordings larger than this are quarantined without being read in full (default 1 GiB).",
    )
    max_duration_seconds: float = Field(
        default=12 * 3600,
        gt=0,
        le=7 * 24 * 3600,
        description="Recordings that last longer than this many seconds are quarantined, judged from the file's "
                    "header before any audio is decoded (and while decoding, when the header says less than the "
                    "audio holds). Default 12 hours; a call is minutes long, so anything near this is a recorder "
                    "left running.",
    )
    retention_days: int | None = Field(
        default=None,
        ge=1,
        description="Days after intake that a call's audio and transcript are kept; `callreview purge` never "
                    "removes anything younger. Unset: kept until an explicit `callreview purge --before DATE`.",
    )

    audit_key_file: Path | None = Field(
        default=None,
        description="File holding the secret that keys the audit log's hash chain (HMAC-SHA256), created with "
                    "mode 0600 on first use. Whoever holds it and the database can rewrite the log undetected: "
                    "keep it (and its backup) apart from database backups. Default: DATA_DIR/audit.key.",
    )
    audit_checkpoint_file: Path | None = Field(
        default=None,
        description="Append-only file of signed checkpoints (rows, head hash, time, HMAC) added after every "
                    "commit that grows the audit log; `callreview verify` compares the database with it. Put it "
                    "on append-only or remote storage for stronger protection. "
                    "Default: DATA_DIR/audit-checkpoints.jsonl.",
    )

    @field_validator("database_url")
    @classmethod
    def _normalise_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        value = value.strip()
        # Plain postgres:// URLs are common in ops tooling; SQLAlchemy wants an explicit driver.
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix):]
        if "://" not in value:
            raise ValueError(f"CALLREVIEW_DATABASE_URL must be a URL like sqlite:///path.db, got {value!r}")
        return value

    @property
    def url(self) -> str:
        """The database URL in force."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'callreview.db').resolve()}"

    @property
    def archive_dir(self) -> Path:
        return self.data_dir / "archive"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def audit_key_path(self) -> Path:
        """The audit key file in force."""
        return self.audit_key_file or self.data_dir / "audit.key"

    @property
    def audit_checkpoint_path(self) -> Path:
        """The checkpoint file in force."""
        return self.audit_checkpoint_file or self.data_dir / "audit-checkpoints.jsonl"


@lru_cache(maxsize=1)
def get_storage_settings() -> StorageSettings:
    """Settings from the environment, read once when first needed (never at import)."""
    return StorageSettings()
