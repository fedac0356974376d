"""Settings of the web app (env prefix `CALLREVIEW_WEB_`): sessions, cookies, time zone, claims, sign-in
throttling."""
from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CALLREVIEW_WEB_", extra="ignore")

    session_idle_minutes: int = Field(
        default=30, ge=1, le=24 * 60,
        description="A session ends after this many minutes without a request (CALLREVIEW_WEB_SESSION_IDLE_MINUTES).")
    session_hours: int = Field(
        default=10, ge=1, le=7 * 24,
        description="A session ends this many hours after sign-in, however active (CALLREVIEW_WEB_SESSION_HOURS).")
    cookie_secure: bool = Field(
        default=False,
        description="Send the session cookie over HTTPS only; set to true whenever the app is behind TLS.")
    timezone: str = Field(
        default="UTC",
        description="IANA time zone for showing times and reading date filters, e.g. America/Kentucky/Louisville.")
    scrypt_n: int = Field(
        default=2 ** 15, ge=2 ** 10, le=2 ** 20,
        description="scrypt cost N for password hashes (a power of two; 32 MiB at the default). Raising it "
                    "re-hashes each password at its next sign-in; lower it only for tests.")
    page_size: int = Field(default=50, ge=5, le=500, description="Rows per page in the queue, search and audit log.")
    claim_hours: int = Field(
        default=8, ge=1, le=30 * 24,
        description="A reviewer's claim on a review item expires this many hours after it was made "
                    "(CALLREVIEW_WEB_CLAIM_HOURS): then anyone may claim or dispose of the item. Claiming "
                    "again renews it; admins release claims at once, and deactivating a user releases theirs.")
    double_review: str = Field(
        default="high", pattern=r"^(?:(?:high|medium|low)(?:,(?:high|medium|low))*)?$",
        description="Severities whose items need two reviewers' findings, given blind, before they close; a "
                    "disagreement goes to a lead (CALLREVIEW_WEB_DOUBLE_REVIEW, comma-separated; empty: none).")

    sign_in_max_failures: int = Field(
        default=5, ge=1, le=100,
        description="Wrong passwords for one user name within the window before that name must wait "
                    "(CALLREVIEW_WEB_SIGN_IN_MAX_FAILURES). Counted whether or not the account exists.")
    sign_in_max_failures_per_client: int = Field(
        default=20, ge=1, le=10_000,
        description="Wrong passwords from one client address, across all user names, within the window "
                    "before that address must wait (CALLREVIEW_WEB_SIGN_IN_MAX_FAILURES_PER_CLIENT). Behind a "
                    "reverse proxy the address is the one it forwards (uvicorn trusts X-Forwarded-For from "
                    "127.0.0.1).")
    sign_in_window_minutes: int = Field(
        default=15, ge=1, le=24 * 60,
        description="How long a wrong password counts towards a lockout (CALLREVIEW_WEB_SIGN_IN_WINDOW_MINUTES).")
    sign_in_lockout_seconds: int = Field(
        default=60, ge=1, le=24 * 60 * 60,
        description="The first lockout (CALLREVIEW_WEB_SIGN_IN_LOCKOUT_SECONDS); each further one in a row "
                    "doubles, up to CALLREVIEW_WEB_SIGN_IN_MAX_LOCKOUT_MINUTES. The right password during a "
                    "lockout is refused too.")
    sign_in_max_lockout_minutes: int = Field(
        default=60, ge=1, le=7 * 24 * 60,
        description="The longest lockout, however often it recurs (CALLREVIEW_WEB_SIGN_IN_MAX_LOCKOUT_MINUTES).")

    @model_validator(mode="after")
    def _lockouts_in_order(self) -> "WebSettings":
        if self.sign_in_max_lockout_minutes * 60 < self.sign_in_lockout_seconds:
            raise ValueError(f"CALLREVIEW_WEB_SIGN_IN_MAX_LOCKOUT_MINUTES ({self.sign_in_max_lockout_minutes}) is "
                             f"shorter than CALLREVIEW_WEB_SIGN_IN_LOCKOUT_SECONDS ({self.sign_in_lockout_seconds} "
                             "s): the longest lockout must be at least the first")
        return self

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"CALLREVIEW_WEB_TIMEZONE must be an IANA time zone like America/New_York, "
                             f"got {value!r}") from None
        return value

    @field_validator("scrypt_n")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        if value & (value - 1):
            raise ValueError(f"CALLREVIEW_WEB_SCRYPT_N must be a power of two, got {value}")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def session_idle(self) -> timedelta:
        return timedelta(minutes=self.session_idle_minutes)

    @property
    def session_lifetime(self) -> timedelta:
        return timedelta(hours=self.session_hours)

    @property
    def claim_lifetime(self) -> timedelta:
        return timedelta(hours=self.claim_hours)

    @property
    def double_review_severities(self) -> frozenset[str]:
        return frozenset(s for s in self.double_review.split(",") if s)


@lru_cache(maxsize=1)
def get_web_settings() -> WebSettings:
    """Settings from the environment, read once when first needed (never at import)."""
    return WebSettings()
