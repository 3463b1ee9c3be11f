"""A PostgreSQL outage longer than the consumers' redeliveries must not lose events.

Found by reading the runtime while building the chaos suite; runs with `make chaos` (it waits
out JetStream's redelivery timer, about five minutes). Before the fix (bug 5 in
docs/reliability.md) the event below was applied by nobody and recorded nowhere: a lost event.
"""

import asyncio
import os
import time
import uuid

import asyncpg
import httpx
import nats
import pytest
from chaos_cluster import Cluster
from chaos_scenario import _equipment_event

pytestmark = [pytest.mark.chaos, pytest.mark.slow]
FULL = os.environ.get("RIVET_CHAOS") == "full"
CONSUMER = "workorders-equipment-created"
OUTAGE = 200.0
"""Seconds: longer than the redeliveries that used to exhaust JetStream's max_deliver (which lost
the event before the fix: consumers now retry outages without limit and without counting them
against the poison budget)."""


@pytest.mark.skipif(not FULL, reason="about five minutes; runs with `make chaos`")
@pytest.mark.timeout(900)
def test_an_event_survives_a_long_database_outage() -> None:
    env = {"CONSUMER_MAX_DELIVERIES": "1", "CONSUMER_RETRY_DELAY": "0.1"}
    with Cluster.running(admin_url=None, env=env) as cluster:
        org = asyncio.run(_organization(cluster))
        assert cluster.postgres is not None
        cluster.postgres.stop()
        asset = uuid.uuid4()
        try:
            asyncio.run(_publish(cluster, org, asset))
            time.sleep(OUTAGE)
        finally:
            cluster.postgres.start()
        cluster.wait_all_ready(120)
        applied, dead = asyncio.run(_outcome(cluster, asset, wait=90))
        print(f"\noutage {OUTAGE:.0f} s: applied {applied}, dead-lettered {dead}")
        assert applied or dead, "the event was neither applied nor dead-lettered: lost"


async def _organization(cluster: Cluster) -> str:
    async with httpx.AsyncClient(base_url=cluster.gateway_url, timeout=15) as client:
        body = {
            "email": f"outage-{uuid.uuid4().hex[:6]}@example.com",
            "password": "outage battery staple",
            "full_name": "Outage",
        }
        answer = await client.post("/api/auth/register", json=body)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["org_id"])


async def _publish(cluster: Cluster, org: str, asset: uuid.UUID) -> None:
    """What a relay would have published just before the database went away."""
    event = _equipment_event(org, asset, "EQ-2026-777777", 1)
    nc = await nats.connect(cluster.nats_servers)
    try:
        await nc.jetstream().publish(
            event.type,
            event.model_dump_json().encode(),
            headers={"Nats-Msg-Id": str(event.event_id)},
        )
    finally:
        await nc.close()


async def _outcome(cluster: Cluster, asset: uuid.UUID, wait: float) -> tuple[bool, bool]:
    db = await asyncpg.connect(cluster.database_url)
    try:
        deadline = time.monotonic() + wait
        while True:
            applied = bool(
                await db.fetchval("SELECT count(*) FROM workorders.equipment WHERE id = $1", asset)
            )
            dead = bool(
                await db.fetchval(
                    "SELECT count(*) FROM workorders.dead_letters WHERE consumer = $1", CONSUMER
                )
            )
            if applied or dead or time.monotonic() > deadline:
                return applied, dead
            await asyncio.sleep(1)
    finally:
        await db.close()
