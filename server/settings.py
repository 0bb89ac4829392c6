"""Settings from the environment (a `.env` file fills in, never overrides)."""

import os
from dataclasses import dataclass, field
from functools import lru_cache

from dotenv import load_dotenv

from server.access.sessions import LoginPolicy
from sync import Limits

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/doorstep.db"


@dataclass(frozen=True, slots=True)
class NightlySettings:
    """The nightly jobs (server/jobs/, docs/nightly.md)."""

    # `doorstep serve` runs the nightly set at this local time; "off" leaves it to cron.
    at: str = "02:00"
    timezone: str = "Asia/Shanghai"
    # compact: a document's log is squashed past either bound, or once idle this long.
    compact_rows: int = 32
    compact_bytes: int = 256 << 10
    compact_idle_hours: int = 24
    # stale_devices: a device that has not synced for this many days.
    stale_device_days: int = 3
    # overdue: a JSON file of rules replacing the built-in "1715" ones (None: built-in).
    overdue_rules: str | None = None
    reports_dir: str = "data/reports"
    backups_dir: str = "data/backups"
    backups_kept: int = 7


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8000
    # Whole request bodies; single updates are bounded by `limits.max_update_bytes`.
    max_body_bytes: int = 32 << 20
    limits: Limits = field(default_factory=Limits)
    login: LoginPolicy = field(default_factory=LoginPolicy)
    # Send the session cookie over HTTPS only; set it when the console is served over TLS.
    secure_cookies: bool = False
    nightly: NightlySettings = field(default_factory=NightlySettings)


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    load_dotenv(override=False)
    defaults, limits, nightly = Settings(), Limits(), NightlySettings()
    return Settings(
        database_url=os.environ.get("DOORSTEP_DATABASE_URL") or defaults.database_url,
        host=os.environ.get("DOORSTEP_HOST") or defaults.host,
        port=_int("DOORSTEP_PORT", defaults.port),
        max_body_bytes=_int("DOORSTEP_MAX_BODY_BYTES", defaults.max_body_bytes),
        secure_cookies=os.environ.get("DOORSTEP_SECURE_COOKIES", "").lower() in ("1", "true"),
        limits=Limits(
            max_update_bytes=_int("DOORSTEP_MAX_UPDATE_BYTES", limits.max_update_bytes),
            doc_cache_bytes=_int("DOORSTEP_DOC_CACHE_BYTES", limits.doc_cache_bytes),
            pull_max_bytes=_int("DOORSTEP_PULL_MAX_BYTES", limits.pull_max_bytes),
            compact_after_updates=_int(
                "DOORSTEP_COMPACT_AFTER_UPDATES", limits.compact_after_updates
            ),
        ),
        nightly=NightlySettings(
            at=os.environ.get("DOORSTEP_NIGHTLY_AT") or nightly.at,
            timezone=os.environ.get("DOORSTEP_NIGHTLY_TIMEZONE") or nightly.timezone,
            compact_rows=_int("DOORSTEP_COMPACT_ROWS", nightly.compact_rows),
            compact_bytes=_int("DOORSTEP_COMPACT_BYTES", nightly.compact_bytes),
            compact_idle_hours=_int("DOORSTEP_COMPACT_IDLE_HOURS", nightly.compact_idle_hours),
            stale_device_days=_int("DOORSTEP_STALE_DEVICE_DAYS", nightly.stale_device_days),
            overdue_rules=os.environ.get("DOORSTEP_OVERDUE_RULES") or None,
            reports_dir=os.environ.get("DOORSTEP_REPORTS_DIR") or nightly.reports_dir,
            backups_dir=os.environ.get("DOORSTEP_BACKUPS_DIR") or nightly.backups_dir,
            backups_kept=_int("DOORSTEP_BACKUPS_KEPT", nightly.backups_kept),
        ),
    )
