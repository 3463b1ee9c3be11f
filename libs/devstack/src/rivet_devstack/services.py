"""The services ``make run`` starts, and the ports they listen on."""

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    command: str
    """Console script installed by the service's package."""
    port: int
    needs: tuple[str, ...] = ()
    """Environment variables without which the service is not started."""


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("auth", "rivet-auth", 8101),
    ServiceSpec("gateway", "rivet-gateway", 8000),
)


def missing_requirements(spec: ServiceSpec) -> list[str]:
    return [name for name in spec.needs if not os.environ.get(name)]
