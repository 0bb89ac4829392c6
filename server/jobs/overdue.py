"""Flag overdue follow-ups, needs and cases by the configured rules."""

from server.jobs.base import Figures, JobContext


class OverdueJob:
    name = "overdue"
    description = "Flag overdue follow-ups, needs and cases by the configured rules."

    async def run(self, context: JobContext) -> Figures:
        raise NotImplementedError("being built (issue 6)")


JOB = OverdueJob()
