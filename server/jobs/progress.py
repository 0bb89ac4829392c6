"""How a running job's progress is shown: a line on the terminal, or the server's log."""

import logging
import sys
import time
from typing import TextIO

log = logging.getLogger("server.jobs")


def _text(done: int, total: int | None, note: str) -> str:
    if total:
        return f"{done}/{total} ({100 * done // total}%) {note}".rstrip()
    return f"{done} {note}".rstrip()


class TerminalProgress:
    """One line rewritten in place on a terminal (at most ten times a second); elsewhere
    (a log file, cron's mail) a line every `every` seconds."""

    def __init__(self, job: str, stream: TextIO = sys.stderr, every: float = 30.0) -> None:
        self.job, self.stream = job, stream
        self.tty = stream.isatty()
        self.every = 0.1 if self.tty else every
        self.shown_at = 0.0
        self.shown = False

    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        now = time.monotonic()
        if now - self.shown_at < self.every and not (total and done >= total):
            return
        self.shown_at = now
        line = f"  {self.job}: {_text(done, total, note)}"
        if self.tty:
            self.stream.write(f"\r\033[K{line}")
            self.shown = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        """End the in-place line, so that what follows starts on its own."""
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


class LogProgress:
    """In the server: a log line a minute at most."""

    def __init__(self, job: str, every: float = 60.0) -> None:
        self.job, self.every = job, every
        self.logged_at = time.monotonic()

    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        now = time.monotonic()
        if now - self.logged_at >= self.every:
            self.logged_at = now
            log.info("%s: %s", self.job, _text(done, total, note))
