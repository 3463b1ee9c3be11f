"""What the work orders handlers share for the life of the process."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .clock import Clock
from .settings import WorkordersSettings

if TYPE_CHECKING:
    from .rollups.refresher import HealthRefresher


@dataclass
class WorkordersState:
    settings: WorkordersSettings
    clock: Clock = field(default_factory=Clock)
    refresher: "HealthRefresher | None" = None
