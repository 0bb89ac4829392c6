"""Rebuild every record from its document, compare with its SQL rows, repair drift."""

from server.jobs.base import Figures, JobContext


class VerifyJob:
    name = "verify"
    description = "Rebuild every record from its document, compare with its SQL rows, repair drift."

    async def run(self, context: JobContext) -> Figures:
        raise NotImplementedError("being built (issue 6)")


JOB = VerifyJob()
