"""Create or update the JetStream streams a service publishes to."""

import logging

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from rivet_contracts.streams import StreamSpec

from .settings import ServiceSettings

log = logging.getLogger(__name__)


def stream_config(spec: StreamSpec, settings: ServiceSettings) -> StreamConfig:
    """File storage, a duplicate window of 15 minutes, replicas as configured."""
    return StreamConfig(
        name=settings.stream_name(spec.name),
        description=spec.description,
        subjects=[settings.subject(s) for s in spec.subjects],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=spec.max_age.total_seconds(),
        duplicate_window=spec.duplicate_window.total_seconds(),
        num_replicas=settings.stream_replicas,
    )


async def ensure_streams(
    js: JetStreamContext, specs: tuple[StreamSpec, ...], settings: ServiceSettings
) -> None:
    """Idempotent: add missing streams, bring existing ones to the declared configuration."""
    for spec in specs:
        config = stream_config(spec, settings)
        try:
            await js.stream_info(config.name or "")
        except NotFoundError:
            await js.add_stream(config)
            log.info("created stream %s", config.name)
        else:
            await js.update_stream(config)
