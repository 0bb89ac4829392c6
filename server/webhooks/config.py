"""How webhook delivery behaves, from the environment (read when the server starts)."""

import os
from dataclasses import dataclass

# Seconds to wait after the 1st, 2nd, … failed attempt; past the last, the delivery parks.
DEFAULT_BACKOFF = (10.0, 30.0, 120.0, 600.0, 3600.0, 6 * 3600.0)


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    backoff: tuple[float, ...] = DEFAULT_BACKOFF
    # How often each process looks for new changes and due deliveries.
    poll_seconds: float = 1.0
    # One POST may take this long before it counts as failed.
    timeout_seconds: float = 10.0
    # Deliveries a sender claims at once for one webhook.
    batch: int = 20

    @property
    def max_attempts(self) -> int:
        return len(self.backoff) + 1

    @property
    def lease_seconds(self) -> float:
        """Long enough for a whole claimed batch to time out, with a margin."""
        return self.timeout_seconds * self.batch + 30

    @classmethod
    def from_env(cls) -> "WebhookConfig":
        backoff = os.environ.get("DOORSTEP_WEBHOOK_BACKOFF")
        poll = os.environ.get("DOORSTEP_WEBHOOK_POLL_SECONDS")
        timeout = os.environ.get("DOORSTEP_WEBHOOK_TIMEOUT_SECONDS")
        defaults = cls()
        return cls(
            backoff=tuple(float(s) for s in backoff.split(",")) if backoff else defaults.backoff,
            poll_seconds=float(poll) if poll else defaults.poll_seconds,
            timeout_seconds=float(timeout) if timeout else defaults.timeout_seconds,
        )
