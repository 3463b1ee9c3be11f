"""Helpers for the work orders tests: a team (admin, technician, viewer) in a fresh
organization, assets, work orders, the service clock, and waiting for the rollups."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import uuid4

import httpx
import pytest

from rivet_devstack.testing.helpers import Session, invite_member, register
from rivet_devstack.testing.services import ServiceSet
from rivet_workorders.clock import Clock
from rivet_workorders.state import WorkordersState


@dataclass
class Team:
    admin: Session
    technician: Session
    viewer: Session

    @property
    def org_id(self) -> str:
        return str(self.admin.user["org_id"])


class WorkOrders:
    """Drives the API the way a client does; knows nothing of the service's tables."""

    def __init__(self, api: httpx.AsyncClient, services: ServiceSet) -> None:
        self.api = api
        self.services = services

    @property
    def state(self) -> WorkordersState:
        state: WorkordersState = self.services.runtimes["workorders"].state
        return state

    @property
    def clock(self) -> Clock:
        return self.state.clock

    async def team(self) -> Team:
        admin = await register(self.api)
        technician = await invite_member(self.api, admin, "technician")
        viewer = await invite_member(self.api, admin, "viewer")
        return Team(admin, technician, viewer)

    async def asset(self, who: Session, **fields: Any) -> dict[str, Any]:
        """A new asset registered through the assets service (unique serial by default)."""
        body = {"manufacturer": "Baldor", "model": f"M{uuid4().hex[:8]}"} | fields
        body.setdefault("serial", f"S{uuid4().hex[:10]}")
        answer = await self.api.post("/api/equipment", json=body, headers=who.headers)
        assert answer.status_code in (200, 201), answer.text
        equipment: dict[str, Any] = answer.json()["equipment"]
        return equipment

    async def create(self, who: Session, equipment_id: str, **fields: Any) -> dict[str, Any]:
        body = {"equipment_id": equipment_id, "title": "Bearing noise"} | fields
        answer = await self.api.post("/api/work-orders", json=body, headers=who.headers)
        assert answer.status_code == 201, answer.text
        order: dict[str, Any] = answer.json()
        return order

    async def patch(self, who: Session, ref: str, **changes: Any) -> httpx.Response:
        return await self.api.patch(f"/api/work-orders/{ref}", json=changes, headers=who.headers)

    async def move(self, who: Session, ref: str, status: str, reason: str | None = None) -> None:
        body = {"status": status} | ({"reason": reason} if reason else {})
        answer = await self.patch(who, ref, **body)
        assert answer.status_code == 200, answer.text

    async def get(self, who: Session, path: str, **params: Any) -> Any:
        answer = await self.api.get(path, params=params, headers=who.headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    @staticmethod
    async def until(
        check: Callable[[], Awaitable[bool] | bool], timeout: float = 15.0, what: str = "condition"
    ) -> None:
        """Wait for eventually consistent state (replicas, rollups) to arrive."""
        deadline = time.monotonic() + timeout
        while True:
            done = check()
            if not isinstance(done, bool):
                done = await done
            if done:
                return
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            await asyncio.sleep(0.05)

    @contextlib.contextmanager
    def frozen(self, at: datetime) -> Iterator[None]:
        self.clock.freeze(at)
        try:
            yield
        finally:
            self.clock.freeze(None)


@pytest.fixture
async def wo(api: httpx.AsyncClient, services: ServiceSet) -> AsyncIterator[WorkOrders]:
    helper = WorkOrders(api, services)
    yield helper
    helper.clock.freeze(None)
