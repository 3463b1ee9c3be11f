"""The whole system under least privilege, as deployed: every service connects to NATS as its
own user (the generated permissions, namespaced) and to PostgreSQL as its own role (roles.sql,
migrations included), and the main flows through the gateway work without a single permission
violation. A permission missing from the generated config fails here, not in production."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from deploy_support import AuthNats, Scratch, apply_roles, drop_roles, start_auth_nats
from prometheus_client import REGISTRY

from rivet_devstack.keys import generate
from rivet_devstack.servers import drop_database, ensure_database, with_database
from rivet_devstack.services import installed
from rivet_devstack.testing.env import TestEnv
from rivet_devstack.testing.helpers import register
from rivet_devstack.testing.services import ServiceSet

ROOT = Path(__file__).resolve().parents[2]
PHOTO = ROOT / "services" / "ocr" / "tests" / "fixtures" / "np_011_clean.jpg"
START_TIMEOUT = 40.0


class LeastPrivilegeSystem:
    def __init__(self, env: TestEnv, scratch: Scratch, server: AuthNats, namespace: str) -> None:
        self.server = server
        self.namespace = namespace
        self.scratch = scratch
        self.set = ServiceSet(env, generate())

    def user(self, service: str) -> str:
        return f"{self.namespace}_{service}"

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
    server = start_auth_nats(tmp_path, nats_permissions, namespace)
    system = LeastPrivilegeSystem(env, scratch, server, namespace)
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
