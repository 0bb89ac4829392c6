"""Settings from the environment (a `.env` file fills in, never overrides)."""

import os
from dataclasses import dataclass, field
from functools import lru_cache

from dotenv import load_dotenv

from server.access.sessions import LoginPolicy
from sync import Limits

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/doorstep.db"


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


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    load_dotenv(override=False)
    defaults, limits = Settings(), Limits()
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
    )
