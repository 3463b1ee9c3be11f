"""What the integrations service's components share for the life of the process."""

from dataclasses import dataclass

from nats.js import JetStreamContext

from rivet_runtime.db import Database
from rivet_runtime.service import Connected

from .settings import IntegrationsSettings


@dataclass(frozen=True)
class IntegrationsState:
    settings: IntegrationsSettings
    js: JetStreamContext
    db: Database

    @classmethod
    def connected(cls, settings: IntegrationsSettings, resources: Connected) -> "IntegrationsState":
        assert resources.db is not None  # the service has a schema
        return cls(settings, resources.js, resources.db)
