"""The OCR backlog for Prometheus: photos not yet taken by any worker, every few seconds."""

from rivet_contracts.streams import NAMEPLATES
from rivet_runtime.jobs import JobContext, JobRouter

from ..metrics import QUEUE_DEPTH
from ..state import OcrState
from .events import CONSUMER

jobs: JobRouter[OcrState] = JobRouter()


@jobs.periodic("queue-depth", every=5.0, per_replica=True)
async def measure_backlog(ctx: JobContext[OcrState]) -> int:
    settings = ctx.state.settings
    info = await ctx.state.jetstream.consumer_info(settings.stream_name(NAMEPLATES.name), CONSUMER)
    QUEUE_DEPTH.set(info.num_pending + (info.num_ack_pending or 0))
    return 1
