"""HTTP routes, one module per service; ``ROUTERS`` is what the app mounts, in order."""

from fastapi import APIRouter

from . import (
    assets,
    attachments,
    auth,
    home,
    integrations,
    maintenance,
    rivetpro,
    scans,
    stats,
    workorders,
)

ROUTERS: list[APIRouter] = [
    auth.router,
    assets.router,
    workorders.router,
    stats.router,
    scans.router,
    maintenance.plans,
    maintenance.meters,
    maintenance.reports,
    integrations.webhooks,
    attachments.router,
    home.router,
    rivetpro.router,
]
