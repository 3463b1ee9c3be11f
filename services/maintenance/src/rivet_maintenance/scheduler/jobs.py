"""The scheduler's jobs (runtime jobs, safe with any number of replicas).

- ``schedule`` (periodic, every ``SCHEDULE_INTERVAL`` seconds, one replica per period): records
  the calendar occurrences whose orders open by now (``recording``);
- ``open-orders`` (a queue job in every replica): woken by the commit that records an
  occurrence - a scheduler pass, a reading that made a meter or condition plan due - it claims
  the recorded occurrences and requests their work orders (``opening``); its safety poll,
  every ``OPEN_RETRY`` seconds, sends again what failed.
"""

from rivet_runtime.jobs import JobContext, JobRouter

from ..occurrences.service import OPENING_CHANNEL
from ..settings import MaintenanceSettings
from ..state import MaintenanceState
from . import opening, recording

jobs: JobRouter[MaintenanceState] = JobRouter()


def _interval(settings: MaintenanceSettings) -> float:
    return settings.schedule_interval


def _retry(settings: MaintenanceSettings) -> float:
    return settings.open_retry


@jobs.periodic("schedule", every=_interval)
async def schedule(ctx: JobContext[MaintenanceState]) -> int:
    return await recording.record_due(ctx)


@jobs.queue("open-orders", channel=OPENING_CHANNEL, poll=_retry)
async def open_orders(ctx: JobContext[MaintenanceState]) -> int:
    return await opening.open_orders(ctx)
