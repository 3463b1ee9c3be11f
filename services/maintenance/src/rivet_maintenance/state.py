"""What the maintenance handlers and jobs share for the life of the process."""

from dataclasses import dataclass, field

from .clock import Clock
from .settings import MaintenanceSettings


@dataclass(frozen=True)
class MaintenanceState:
    settings: MaintenanceSettings
    clock: Clock = field(default_factory=Clock)
