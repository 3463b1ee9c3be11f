"""The PM load as Prometheus gauges, for the whole system (see ``metrics``): occurrences whose
order is being opened, PM orders open and overdue. Each replica sets its own every ``EVERY``
seconds from one statement; they agree, so dashboards take the max over replicas."""

from rivet_runtime.jobs import JobContext, JobRouter

from ..metrics import OPEN, OPENING, OVERDUE
from ..state import MaintenanceState
from . import repository as repo

EVERY = 30.0

jobs: JobRouter[MaintenanceState] = JobRouter()


@jobs.periodic("gauges", every=EVERY, per_replica=True)
async def refresh_gauges(ctx: JobContext[MaintenanceState]) -> int:
    async with ctx.reading() as conn:
        opening, opened, overdue = await repo.active_counts(conn, ctx.state.clock.now())
    OPENING.set(opening)
    OPEN.set(opened)
    OVERDUE.set(overdue)
    return 1
