"""How the server process asks glibc's malloc to keep its memory.

glibc gives each thread that allocates while another holds the lock an arena of its own,
up to eight per core, and keeps what is freed inside each arena for reuse. The server
allocates on the event loop (pycrdt documents, requests) and in the database driver's
threads (aiosqlite runs one per connection), and frees across them, so the free space
spread over many arenas grew by ~4 MB a minute under a steady load (bench/soak.py) while
the memory in use stayed flat. Two arenas hold it still; `MALLOC_ARENA_MAX`, when set,
wins.
"""

import ctypes
import ctypes.util
import os

ARENAS = 2
_M_ARENA_MAX = -8  # mallopt(3)


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas, before any thread starts; False where this does not apply
    (another C library, or `MALLOC_ARENA_MAX` set in the environment, which glibc obeys)."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    if not hasattr(libc, "mallopt") or not hasattr(libc, "gnu_get_libc_version"):
        return False
    return bool(libc.mallopt(_M_ARENA_MAX, arenas))
