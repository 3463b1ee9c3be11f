"""What the integrations service's components share for the life of the process."""

from dataclasses import dataclass

from nats.js import JetStreamContext

from rivet_runtime.db import Database
from rivet_runtime.service import Connected

from .settings import IntegrationsSettings
from .webhooks.addresses import Policy
from .webhooks.fanout import Fanout
from .webhooks.sender import Sender


@dataclass(frozen=True)
class IntegrationsState:
    settings: IntegrationsSettings
    js: JetStreamContext
    db: Database
    sender: Sender
    """The webhooks' HTTP client (closed at shutdown)."""
    fanout: Fanout
    """The endpoints' stream cursors this replica sends for (started once the runtime runs)."""

    @classmethod
    def connected(cls, settings: IntegrationsSettings, resources: Connected) -> "IntegrationsState":
        assert resources.db is not None  # the service has a schema
        policy = Policy.of(settings.webhook_allowed_hosts, settings.webhook_allow_private)
        sender = Sender(settings, policy)
        fanout = Fanout(settings, resources.js, resources.db, sender)
        return cls(settings, resources.js, resources.db, sender, fanout)
