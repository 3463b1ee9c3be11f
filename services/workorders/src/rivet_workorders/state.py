"""What the work orders handlers and jobs share for the life of the process."""

from dataclasses import dataclass, field

from .clock import Clock
from .settings import WorkordersSettings


@dataclass(frozen=True)
class WorkordersState:
    settings: WorkordersSettings
    clock: Clock = field(default_factory=Clock)
