"""List devices that have not synced for N days."""

from server.jobs.base import Figures, JobContext


class StaleDevicesJob:
    name = "stale_devices"
    description = "List devices that have not synced for N days."

    async def run(self, context: JobContext) -> Figures:
        raise NotImplementedError("being built (issue 6)")


JOB = StaleDevicesJob()
