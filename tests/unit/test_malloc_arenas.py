"""The server caps glibc's malloc arenas: threads that allocate share two of them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.memory import limit_malloc_arenas

ROOT = Path(__file__).resolve().parents[2]

# Eight live threads allocate (each gets an arena of its own while glibc may make more),
# then glibc prints one "Arena N:" block per arena to stderr.
_THREADS = """
import ctypes, sys, threading
from server.memory import limit_malloc_arenas
if sys.argv[1] == "limit":
    assert limit_malloc_arenas()
held = []
together = threading.Barrier(8)


def allocate():
    together.wait()  # all alive at once: a finished thread's arena is reused
    held.append(bytes(1 << 16))
    together.wait()


threads = [threading.Thread(target=allocate) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
ctypes.CDLL("libc.so.6").malloc_stats()
"""

glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not Path("/proc/self/maps").exists(),
    reason="glibc's malloc on Linux",
)


def _arenas(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run(
        [sys.executable, "-c", _THREADS, mode],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return sum(1 for line in done.stderr.splitlines() if line.startswith("Arena "))


@glibc
def test_threads_share_two_arenas_once_limited() -> None:
    assert _arenas("free") > 2  # what glibc does on its own
    assert 1 <= _arenas("limit") <= 2


def test_an_operators_malloc_arena_max_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False
