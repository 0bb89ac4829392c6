"""Nightly job tables: run records and the job lock (issue 6, docs/nightly.md)."""

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, Table, Text

from server.db.tables import UtcDateTime, metadata

JOB = 64
# host:pid:random, so that two processes of one host, or a restarted pid, never look alike.
HOLDER = 200

# One row per run of a job: who ran it, why (cli | timer | api), how it ended, its figures.
job_runs = Table(
    "job_runs",
    metadata,
    Column(
        "id",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("job", String(JOB), nullable=False),
    Column("trigger", String(16), nullable=False),
    # Timer runs: the night they are for (the local date of the scheduled time).
    Column("slot", String(32), nullable=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    # running | ok | failed | skipped | abandoned
    Column("outcome", String(16), nullable=False),
    Column("figures", JSON, nullable=True),
    Column("error", Text, nullable=True),
    Column("process", String(HOLDER), nullable=False),
    Index(None, "job", "id"),
    Index(None, "job", "slot"),
)

# The lock that keeps a job to one process at a time: held while `holder` is set and
# `expires_at` is ahead; the holder renews the lease while the job runs, so a killed
# process's lock lapses and the next run takes it over.
job_locks = Table(
    "job_locks",
    metadata,
    Column("job", String(JOB), primary_key=True),
    Column("holder", String(HOLDER), nullable=True),
    Column("run_id", BigInteger, nullable=True),
    Column("acquired_at", UtcDateTime, nullable=True),
    Column("expires_at", UtcDateTime, nullable=True),
)
