"""The nightly jobs, in the order `doorstep nightly` runs them."""

from server.jobs import backup, compact, overdue, report, stale_devices, verify
from server.jobs.base import Job

# Compact before verify (it checks the compacted logs), backup last (it keeps the night's
# work).
NIGHTLY: tuple[Job, ...] = (
    compact.JOB,
    verify.JOB,
    overdue.JOB,
    report.JOB,
    stale_devices.JOB,
    backup.JOB,
)
JOBS: dict[str, Job] = {job.name: job for job in NIGHTLY}
