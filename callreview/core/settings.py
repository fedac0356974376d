"""Settings of the review layer: which rules file is in force."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ReviewSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CALLREVIEW_", extra="ignore")

    rules: Path | None = Field(
        default=None,
        description="Path of a rules file (YAML) to use instead of the packaged callreview/core/rules/default.yaml.",
    )

    @field_validator("rules", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `CALLREVIEW_RULES=` (set but empty) means "no rules file of our own", not the current directory.
        return None if isinstance(value, str) and not value.strip() else value


@lru_cache(maxsize=1)
def get_review_settings() -> ReviewSettings:
    return ReviewSettings()
