"""Squash each document's update log into one snapshot past a bound, or idle for a day."""

from server.jobs.base import Figures, JobContext


class CompactJob:
    name = "compact"
    description = "Squash update logs into one snapshot past a bound, or idle for a day."

    async def run(self, context: JobContext) -> Figures:
        raise NotImplementedError("being built (issue 6)")


JOB = CompactJob()
