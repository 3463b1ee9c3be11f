"""The whole system under least privilege, as deployed: every service connects to NATS as its
own user (the generated permissions, namespaced) and to PostgreSQL as its own role (roles.sql,
migrations included), and the main flows through the gateway work without a single permission
violation. A permission missing from the generated config fails here, not in production."""

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import nats
import pytest
from deploy_support import AuthNats, Scratch, apply_roles, drop_roles, start_auth_nats
from prometheus_client import REGISTRY

from rivet_devstack.keys import generate
from rivet_devstack.servers import drop_database, ensure_database, with_database
from rivet_devstack.services import installed
from rivet_devstack.testing.env import TestEnv
from rivet_devstack.testing.helpers import Session, register
from rivet_devstack.testing.services import ServiceSet
from rivet_runtime.broker import inbox_prefix

ROOT = Path(__file__).resolve().parents[2]
PHOTO = ROOT / "services" / "ocr" / "tests" / "fixtures" / "np_011_clean.jpg"
START_TIMEOUT = 40.0
MACHINE = "plc1"
"""A machine that sends readings; its user is added once its organization exists."""


class LeastPrivilegeSystem:
    def __init__(
        self,
        env: TestEnv,
        scratch: Scratch,
        server: AuthNats,
        namespace: str,
        permissions: ModuleType,
    ) -> None:
        self.server = server
        self.namespace = namespace
        self.scratch = scratch
        self.permissions = permissions
        self.set = ServiceSet(env, generate())

    def user(self, service: str) -> str:
        return f"{self.namespace}_{service}"

    def add_machine(self, org_id: str) -> str:
        """Give the organization's machine its user, as an operator does: regenerate the users
        with ``--machine`` and reload the server. The machine's user name."""
        machine = self.permissions.Machine(MACHINE, uuid.UUID(org_id))
        self.server.reload(self.permissions.render_conf(self.namespace, machines=[machine]))
        return self.user(machine.user)

    async def start(self) -> None:
        s = self.set
        for entry in installed():
            if entry.build is None or entry.needs:  # the bot needs a Telegram token
                continue
            s.runtimes[entry.name] = s.build(
                entry.name,
                nats_url=self.server.url(self.user(entry.name)),
                nats_namespace=self.namespace,
                database_url=self.scratch.url_as(entry.name),
            )
        gateway, s.app = s.gateway(
            nats_url=self.server.url(self.user("gateway")), nats_namespace=self.namespace
        )
        s.runtimes["gateway"] = gateway
        # Together, as in production: readers wait for their streams' publishers.
        starts = {
            name: asyncio.wait_for(r.start(), START_TIMEOUT) for name, r in s.runtimes.items()
        }
        results = await asyncio.gather(*starts.values(), return_exceptions=True)
        for name, result in zip(starts, results, strict=True):
            if isinstance(result, TimeoutError):
                pytest.fail(f"{name} did not start; NATS said: {self.server.violations()[-5:]}")
            if isinstance(result, BaseException):
                raise result

    async def stop(self) -> None:
        await self.set.stop()


@pytest.fixture
async def system(
    test_env: TestEnv, tmp_path: Path, nats_permissions: ModuleType
) -> AsyncIterator[LeastPrivilegeSystem]:
    run = uuid.uuid4().hex[:8]
    namespace = f"lp{run}"
    env = TestEnv(test_env.nats_url, test_env.admin_url, run)
    suffix = f"_lp{run}"
    database = f"rivet_lp{run}"
    await ensure_database(test_env.admin_url, database)
    scratch = Scratch(with_database(test_env.admin_url, database), database, suffix)
    machine = nats_permissions.user_name(nats_permissions.MACHINE_PREFIX + MACHINE, namespace)
    server = start_auth_nats(tmp_path, nats_permissions, namespace, extra_users=[machine])
    system = LeastPrivilegeSystem(env, scratch, server, namespace, nats_permissions)
    try:
        await apply_roles(scratch.admin_url, suffix)
        await system.start()
        yield system
    finally:
        with contextlib.suppress(Exception):
            await system.stop()
        server.stop()
        await drop_database(test_env.admin_url, database)
        await drop_roles(test_env.admin_url, suffix)


def _consumed(consumer: str) -> float:
    """Events a consumer handled (any outcome), over every process-wide sample."""
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "rivet_events_consumed"
        for sample in metric.samples
        if sample.labels.get("consumer") == consumer and sample.name.endswith("_total")
    )


def _dead_letters(consumer: str) -> float:
    value = REGISTRY.get_sample_value(
        "rivet_dead_letters_total", {"service": consumer.split("-")[0], "consumer": consumer}
    )
    return value or 0.0


async def _until(check: Any, what: str, timeout: float = 20.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def _maintenance_flows(
    system: LeastPrivilegeSystem, api: Any, admin: Session, asset: str, *, orders: bool
) -> None:
    """gateway -> maintenance (-> assets); a reading through the API; then a machine on a user
    of its own publishes the next one on its organization's subject (JetStream acknowledges it
    to the machine's own inbox), maintenance-readings records it, and the meter plan it made
    due opens its work order (maintenance -> rpc.workorders.create, as the plan's author); the
    same user sends two more in a batch message (maintenance-reading-batches)."""
    h = admin.headers
    meter = await api.post(
        "/api/meters",
        json={"equipment_id": asset, "name": "Hours", "kind": "counter", "unit": "h"},
        headers=h,
    )
    assert meter.status_code == 201, meter.text
    meter_id = meter.json()["id"]
    plan = await api.post(
        "/api/maintenance/plans",
        json={
            "equipment_id": asset,
            "title": "Grease the bearings",
            "trigger": {"kind": "meter", "meter_id": meter_id, "every": 100},
        },
        headers=h,
    )
    assert plan.status_code == 201, plan.text
    reading = await api.post(f"/api/meters/{meter_id}/readings", json={"value": 40}, headers=h)
    assert reading.status_code == 201, reading.text

    org = str(admin.user["org_id"])
    user = system.add_machine(org)
    machine = await _connect_after_reload(
        system.server.url(user), inbox_prefix(f"machine_{MACHINE}", system.namespace)
    )
    try:
        event_id = str(uuid.uuid4())
        envelope = {
            "event_id": event_id,
            "type": "reading.submitted",
            "org_id": org,
            "data": {
                "meter_id": meter_id,
                "value": 150,
                "read_at": datetime.now(UTC).isoformat(),
                "device": MACHINE,
            },
        }
        ack = await machine.jetstream().publish(
            f"{system.namespace}.reading.submitted.{org}",
            json.dumps(envelope).encode(),
            headers={"Nats-Msg-Id": event_id},
        )
        assert ack.seq >= 1
        later = datetime.now(UTC) + timedelta(seconds=1)
        batch_id = str(uuid.uuid4())
        batch = {
            "event_id": batch_id,
            "type": "reading.batch_submitted",
            "org_id": org,
            "data": {
                "device": MACHINE,
                "readings": [
                    {"meter_id": meter_id, "value": 150 + 10 * n,
                     "read_at": (later + timedelta(seconds=n)).isoformat()}
                    for n in (1, 2)
                ],
            },
        }  # fmt: skip
        ack = await machine.jetstream().publish(
            f"{system.namespace}.reading.batch_submitted.{org}",
            json.dumps(batch).encode(),
            headers={"Nats-Msg-Id": batch_id},
        )
        assert ack.seq >= 1
    finally:
        await machine.close()

    async def recorded() -> list[Any]:
        page = await api.get(f"/api/meters/{meter_id}/readings", headers=h)
        items: list[Any] = page.json()["items"]
        return items if len(items) == 4 else []

    newest, *_ = await _until(recorded, "the machine's readings")
    assert (newest["value"], newest["source"]) == (170, "device")
    if orders:

        async def opened() -> bool:
            view = (await api.get(f"/api/maintenance/plans/{plan.json()['id']}", headers=h)).json()
            return any(o["work_order_number"] for o in view["occurrences"])

        await _until(opened, "the meter plan's work order")
    for path in ("/api/maintenance/forecast", "/api/maintenance/overdue", "/api/maintenance/kpis"):
        answer = await api.get(path, headers=h)
        assert answer.status_code == 200, answer.text


async def _connect_after_reload(url: str, inbox: str) -> Any:
    """The machine's connection, once the reloaded server knows its user."""
    for _ in range(50):
        with contextlib.suppress(Exception):
            return await nats.connect(
                url, inbox_prefix=inbox, allow_reconnect=False, connect_timeout=2
            )
        await asyncio.sleep(0.1)
    pytest.fail("the server did not take the machine's user after the reload")


@pytest.mark.slow
async def test_main_flows_under_least_privilege(system: LeastPrivilegeSystem) -> None:
    names = set(system.set.runtimes)
    before = {
        c: _consumed(c)
        for c in (
            "workorders-users-registered",
            "workorders-equipment-created",
            "workorders-rollups-created",
        )
    }
    async with system.set.client() as api:
        admin = await register(api)  # gateway -> auth; user.registered -> workorders
        h = admin.headers

        created = await api.post(
            "/api/equipment",
            json={"manufacturer": "Baldor", "model": "EM3615T", "serial": "LP-1", "name": "Fan"},
            headers=h,
        )
        assert created.status_code in (200, 201), created.text
        number = created.json()["equipment"]["number"]

        if "workorders" in names:
            # equipment.created -> the workorders replica; the order by equipment description
            # makes workorders call rpc.assets.create on the caller's behalf
            order = await api.post(
                "/api/work-orders",
                json={
                    "title": "Bearing noise",
                    "equipment": {"manufacturer": "WEG", "model": "W22", "serial": "LP-2"},
                },
                headers=h,
            )
            assert order.status_code == 201, order.text
            order = await api.post(
                "/api/work-orders", json={"equipment_id": number, "title": "Check"}, headers=h
            )
            assert order.status_code == 201, order.text

            async def consumed() -> bool:  # every workorders consumer took its events
                return all(
                    _consumed(c) > before[c]
                    for c in (
                        "workorders-users-registered",
                        "workorders-equipment-created",
                        "workorders-rollups-created",
                    )
                )

            await _until(consumed, "the workorders consumers")
            overview = await api.get("/api/stats/overview", headers=h)
            assert overview.status_code == 200, overview.text

        if "maintenance" in names:
            await _maintenance_flows(system, api, admin, number, orders="workorders" in names)

        # a CSV file: gateway -> UPLOADS object store -> assets reads and deletes it
        imported = await api.post(
            "/api/equipment/import",
            params={"wait": 10},
            files={"file": ("a.csv", b"make,model,serial\nGrundfos,CR 10-4,LP-3\n", "text/csv")},
            headers=h,
        )
        assert imported.status_code == 200, imported.text
        assert imported.json()["created"] == 1

        if "ocr" in names:
            # a photo: gateway -> UPLOADS; ocr -> PHOTOS, nameplate.uploaded -> ocr-worker ->
            # nameplate.scanned -> assets -> equipment.scan_resolved -> ocr
            dead_before = _dead_letters("ocr-worker")
            scanned = await api.post(
                "/api/upload/nameplate",
                params={"wait": 25},
                files={"photo": ("np.jpg", PHOTO.read_bytes(), "image/jpeg")},
                headers=h,
            )
            assert scanned.status_code in (200, 202), scanned.text
            scan_id = scanned.json()["id"]

            async def finished() -> bool:
                # done, or given up on by the worker (an OCR bug is not a permission problem:
                # fetching, the photo stores and the dead letter all went through NATS)
                answer = await api.get(f"/api/scans/{scan_id}", headers=h)
                return answer.status_code == 200 or _dead_letters("ocr-worker") > dead_before

            await _until(finished, "the nameplate scan", timeout=40)

        if "attachments" in names and "workorders" in names:
            # a photo on the order: gateway -> UPLOADS; attachments asks workorders for the
            # order, reads and deletes the upload, puts its objects in ATTACHMENTS; the gateway
            # serves the thumbnail from ATTACHMENTS
            attached = await api.post(
                f"/api/work-orders/{order.json()['id']}/attachments",
                files={"file": ("np.jpg", PHOTO.read_bytes(), "image/jpeg")},
                headers=h,
            )
            assert attached.status_code == 201, attached.text
            thumbnail = await api.get(
                f"/api/attachments/{attached.json()['id']}/content",
                params={"rendition": "thumbnail"},
                headers=h,
            )
            assert thumbnail.status_code == 200, thumbnail.text
            removed = await api.delete(f"/api/attachments/{attached.json()['id']}", headers=h)
            assert removed.status_code == 200, removed.text

    assert system.server.violations() == []


async def test_wrong_role_cannot_start_a_service(system: LeastPrivilegeSystem) -> None:
    """The auth service pointed at the assets role cannot touch auth's schema: its migrations
    fail (permission denied) instead of silently reading another service's data."""
    import asyncpg

    conn = await asyncpg.connect(system.scratch.url_as("assets"))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT * FROM auth.users LIMIT 1")
    finally:
        await conn.close()
    # and a service's NATS user cannot answer another service's requests
    nc_errors: list[str] = []
    import nats

    async def on_error(exc: Exception) -> None:
        nc_errors.append(str(exc))

    nc = await nats.connect(system.server.url(system.user("ocr")), error_cb=on_error)
    try:
        await nc.subscribe(f"{system.namespace}.rpc.auth.login", queue="auth")
        await nc.flush()
        await asyncio.sleep(0.3)
    finally:
        await nc.close()
    assert any("violation" in e.lower() for e in nc_errors)
