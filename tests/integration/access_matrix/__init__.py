"""The access matrix's world, probe and rows; the test itself is test_access_matrix.py."""

import pytest

# Not test modules, so pytest would not rewrite their asserts: a check's first line of failure
# must still say what differed. This package is mid-import here, so name its modules.
MODULES = (
    "world",
    "probe",
    "rows_sync_and_read",
    "rows_session_and_admin",
    "rows_feed",
    "rows_reports",
)
pytest.register_assert_rewrite(*(f"{__name__}.{module}" for module in MODULES))
