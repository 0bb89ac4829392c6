"""The sync core imports neither Litestar nor SQLAlchemy (DESIGN invariant 6)."""

import subprocess
import sys


def test_sync_core_imports_no_web_framework_or_orm() -> None:
    probe = (
        "import sys, sync, sync.engine, sync.memory, sync.cursor; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('litestar', 'sqlalchemy')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
