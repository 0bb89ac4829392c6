"""The day's figures per grid, community and street, stored and written as CSV and XLSX."""

from server.jobs.base import Figures, JobContext


class ReportJob:
    name = "report"
    description = "The day's figures per grid, community and street, as CSV and XLSX."

    async def run(self, context: JobContext) -> Figures:
        raise NotImplementedError("being built (issue 6)")


JOB = ReportJob()
