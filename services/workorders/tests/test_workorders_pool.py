"""Slow I/O holds no connection: with a pool of exactly one connection, the work-order service
keeps answering while a create (with or without an idempotency key) waits on a slow assets
service."""

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import nats
import pytest
from nats.aio.msg import Msg

from rivet_contracts import Identity, Role, Rpc
from rivet_contracts.assets import EquipmentView, Source
from rivet_contracts.workorders import CreateWorkOrder, ListWorkOrders
from rivet_devstack.testing.services import ServiceSet
from rivet_runtime.identity import identity_headers


@pytest.mark.parametrize("key", [None, "pool-key"])
async def test_a_create_waiting_on_assets_holds_no_connection(
    services: ServiceSet, isolated_database: str, key: str | None
) -> None:
    caller = Identity(user_id=uuid.uuid4(), org_id=uuid.uuid4(), role=Role.ADMIN)
    headers = identity_headers(caller)
    asked, release = asyncio.Event(), asyncio.Event()

    async with services.alone(
        "workorders", isolated_database, db_pool_size=1, db_pool_overflow=0, rpc_timeout=30.0
    ) as runtime:
        settings = runtime.settings
        nc = await nats.connect(settings.nats_url)

        async def slow_assets(msg: Msg) -> None:
            """The assets service, answering rpc.assets.get only when the test says so."""
            asked.set()
            await release.wait()
            ref = json.loads(msg.data)["ref"]
            now = datetime.now(UTC)
            view = EquipmentView(
                id=uuid.UUID(ref), org_id=caller.org_id, number="EQ-2026-000001",
                manufacturer="Baldor", model=None, serial=None, name=None,
                equipment_type=None, location=None, department=None, criticality="medium",
                status="in_service", parent_id=None, installed_on=None, ratings={},
                photo_ref=None, source=Source.API, created_by=None, created_at=now,
                updated_at=now, version=1,
            )  # fmt: skip
            await msg.respond(view.model_dump_json().encode())

        await nc.subscribe(settings.subject(Rpc.ASSETS_GET), cb=slow_assets)
        try:
            create = CreateWorkOrder(
                equipment_id=str(uuid.uuid4()),
                title="Bearing noise",
                checklist=[{"text": "Listen", "required": True}],
                idempotency_key=key,
            )
            creating = asyncio.create_task(
                nc.request(
                    settings.subject(Rpc.WORKORDERS_CREATE),
                    create.model_dump_json(exclude_unset=True).encode(),
                    timeout=30,
                    headers=headers,
                )
            )
            await asyncio.wait_for(asked.wait(), 10)
            # The create now waits on assets. Its service's only connection is free:
            times: list[float] = []
            for _ in range(3):
                started = time.perf_counter()
                page = await nc.request(
                    settings.subject(Rpc.WORKORDERS_LIST),
                    ListWorkOrders().model_dump_json().encode(),
                    timeout=5,
                    headers=headers,
                )
                times.append(time.perf_counter() - started)
                assert json.loads(page.data)["items"] == [], page.data
            assert not creating.done()
            assert max(times) < 2.0, times
            release.set()
            reply = await creating
            order: dict[str, Any] = json.loads(reply.data)
            assert order["number"].startswith("WO-"), order
            assert order["equipment"]["manufacturer"] == "Baldor"
            assert [i["text"] for i in order["checklist"]] == ["Listen"]
        finally:
            release.set()
            await nc.close()
