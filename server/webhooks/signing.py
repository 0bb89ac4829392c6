"""The signature on every delivery: HMAC-SHA256 over "<timestamp>.<body>" with the
webhook's secret. The timestamp is signed too, so a receiver that refuses old timestamps
cannot be fed a captured delivery again later."""

import hashlib
import hmac
import time
from collections.abc import Mapping

SIGNATURE = "X-Doorstep-Signature"
TIMESTAMP = "X-Doorstep-Timestamp"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(now if now is not None else time.time()))
    return {TIMESTAMP: timestamp, SIGNATURE: signature(secret, timestamp, body)}


def verify(secret: str, headers: Mapping[str, str], body: bytes, tolerance: float = 300) -> bool:
    """What a receiver does (docs/change-feed.md has it standalone)."""
    timestamp = headers.get(TIMESTAMP, "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), headers.get(SIGNATURE, ""))
