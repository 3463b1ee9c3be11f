"""Liveness and readiness.

``/health`` answers while the process and its event loop run. ``/ready`` is green only when the
service has started, is not stopping, is connected to NATS and (if it has one) its database
answers: a load balancer or Kubernetes then sends work only where it can be done.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class Health:
    started: bool = False
    stopping: bool = False
    nats_connected: bool = False
    checks: dict[str, Callable[[], Awaitable[bool]]] = field(default_factory=dict)

    async def readiness(self) -> tuple[bool, dict[str, bool]]:
        results = {
            "started": self.started and not self.stopping,
            "nats": self.nats_connected,
        }
        for name, check in self.checks.items():
            try:
                results[name] = await asyncio.wait_for(check(), timeout=2.0)
            except TimeoutError:
                results[name] = False
        return all(results.values()), results
