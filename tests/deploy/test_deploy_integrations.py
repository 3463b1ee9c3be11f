"""Outside subscribers on a real nats-server configured by the generated files: an
organization's integration credential (``permissions.py --integration``) replays and
acknowledges its organization's events, copied by the integrations service running as its own
user, and reaches nothing else: not another organization's stream or consumers, no Rivet
subject to publish, no request, no subscription beyond its own inbox."""

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import nats
import pytest
from deploy_support import AuthNats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from rivet_contracts.streams import EXPORTED_STREAMS, org_stream, stream_for
from rivet_devstack.testing.env import TestEnv
from rivet_runtime.settings import ServiceSettings
from rivet_runtime.streams import ensure_streams

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "services" / "integrations" / "tests"))

from integrations_support import (  # noqa: E402
    EXPORTED_KINDS,
    INTERNAL_KINDS,
    Published,
    envelope,
    publish,
)

pytestmark = pytest.mark.integration

ORG_A = uuid.UUID("5d0c8f5a-1b7e-4c2a-9f3e-6a4b2c1d0e9f")
ORG_B = uuid.UUID("9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b")
OWNERS = {
    "USERS": "auth",
    "EQUIPMENT": "assets",
    "WORKORDERS": "workorders",
    "NAMEPLATES": "ocr",
    "MAINTENANCE": "maintenance",
}
"""Who publishes each exported stream's events (the test publishes as them)."""
STREAM_A = org_stream(ORG_A).name
STREAM_B = org_stream(ORG_B).name


class Deployment:
    def __init__(self, server: AuthNats, events: dict[uuid.UUID, list[Published]]) -> None:
        self.server = server
        self.events = events

    async def connect(self, user: str) -> Any:
        return await nats.connect(
            self.server.url(user),
            inbox_prefix=f"_INBOX_{user}",
            max_reconnect_attempts=0,
            connect_timeout=3,
        )


@pytest.fixture(scope="module")
async def deployment(
    tmp_path_factory: pytest.TempPathFactory, nats_permissions: ModuleType, test_env: TestEnv
) -> AsyncIterator[Deployment]:
    from rivet_devstack.servers import drop_database, ensure_database, with_database
    from rivet_integrations.main import build
    from rivet_integrations.settings import IntegrationsSettings

    integrations = [
        nats_permissions.Integration("erp_a", ORG_A),
        nats_permissions.Integration("erp_b", ORG_B),
    ]
    folder = tmp_path_factory.mktemp("nats")
    users = [p.user for p in nats_permissions.all_permissions("", (), integrations)] + ["admin"]
    server = AuthNats(
        folder, nats_permissions.render_conf(integrations=integrations), users
    ).start()
    database = f"rivet_integrations_deploy_{uuid.uuid4().hex[:8]}"
    await ensure_database(test_env.admin_url, database)
    settings = IntegrationsSettings.model_validate(
        test_env.common()
        | {
            "nats_url": server.url("integrations"),
            "nats_namespace": "",
            "database_url": with_database(test_env.admin_url, database),
        }
    )
    admin = await nats.connect(server.url("admin"))
    runtime = build(settings)
    try:
        # the streams' publishers are not running: declare them as they would
        await ensure_streams(admin.jetstream(), EXPORTED_STREAMS, ServiceSettings())
        await runtime.start()
        events: dict[uuid.UUID, list[Published]] = {ORG_A: [], ORG_B: []}
        for org in (ORG_A, ORG_B):
            for subject in (*EXPORTED_KINDS, *INTERNAL_KINDS):
                event = envelope(subject, org)
                owner = await nats.connect(
                    server.url(OWNERS[stream_for(subject).name]),
                    inbox_prefix=f"_INBOX_{OWNERS[stream_for(subject).name]}",
                )
                try:
                    await publish(owner.jetstream(), "", event)
                finally:
                    await owner.close()
                if subject in EXPORTED_KINDS:
                    events[org].append(event)
        js = admin.jetstream()
        for _ in range(150):  # the exporter copies them
            try:
                a = (await js.stream_info(STREAM_A)).state.messages
                b = (await js.stream_info(STREAM_B)).state.messages
            except Exception:
                a = b = 0
            if a == b == len(EXPORTED_KINDS):
                break
            await asyncio.sleep(0.2)
        yield Deployment(server, events)
    finally:
        await runtime.stop()
        await admin.close()
        server.stop()
        await drop_database(test_env.admin_url, database)


async def test_an_integration_replays_and_acknowledges_its_organization_s_events(
    deployment: Deployment,
) -> None:
    nc = await deployment.connect("integration_erp_a")
    try:
        js = nc.jetstream()
        info = await js.stream_info(STREAM_A)
        assert info.state.messages == len(EXPORTED_KINDS)
        await js.add_consumer(
            STREAM_A,
            config=ConsumerConfig(
                durable_name="erp",
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
            ),
        )
        sub = await js.pull_subscribe_bind("erp", stream=STREAM_A)
        msgs = await sub.fetch(len(EXPORTED_KINDS) + 5, timeout=3)
        expected = {str(e.event_id): e for e in deployment.events[ORG_A]}
        assert sorted(m.headers["Nats-Msg-Id"] for m in msgs) == sorted(expected)
        for msg in msgs:
            event = expected[msg.headers["Nats-Msg-Id"]]
            assert msg.subject == f"org.{ORG_A}.{event.subject}"
            assert msg.data == event.body
            await msg.ack_sync()
        assert (await js.consumer_info(STREAM_A, "erp")).num_ack_pending == 0
        # a second durable consumer replays from the start too, and goes away again
        await js.add_consumer(STREAM_A, config=ConsumerConfig(name="audit", durable_name="audit"))
        assert (await js.consumer_info(STREAM_A, "audit")).num_pending == len(EXPORTED_KINDS)
        assert await js.delete_consumer(STREAM_A, "audit")
    finally:
        await nc.close()


async def test_an_integration_cannot_reach_another_organization(deployment: Deployment) -> None:
    b = await deployment.connect("integration_erp_b")
    try:  # B's own consumer, which A must not pull from
        await b.jetstream().add_consumer(STREAM_B, config=ConsumerConfig(durable_name="erp"))
    finally:
        await b.close()
    a = await deployment.connect("integration_erp_a")
    try:
        js = a.jetstream(timeout=1.5)
        with pytest.raises(Exception):  # noqa: B017,PT011 - refused: no answer comes
            await js.add_consumer(STREAM_B, config=ConsumerConfig(durable_name="steal"))
        with pytest.raises(Exception):  # noqa: B017,PT011
            await js.stream_info(STREAM_B)
        with pytest.raises(Exception):  # noqa: B017,PT011
            await js.add_consumer("WORKORDERS", config=ConsumerConfig(durable_name="steal"))
        sub = await js.pull_subscribe_bind("erp", stream=STREAM_B)
        with pytest.raises(Exception):  # noqa: B017,PT011
            await sub.fetch(1, timeout=1.5)
    finally:
        await a.close()
    violations = "\n".join(deployment.server.violations())
    assert f"$JS.API.CONSUMER.DURABLE.CREATE.{STREAM_B}.steal" in violations
    assert f"$JS.API.CONSUMER.MSG.NEXT.{STREAM_B}.erp" in violations


async def _errors_of(deployment: Deployment, user: str, action: str, subject: str) -> list[str]:
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await nats.connect(
        deployment.server.url(user),
        inbox_prefix=f"_INBOX_{user}",
        error_cb=on_error,
        max_reconnect_attempts=0,
        connect_timeout=3,
    )
    try:
        if action == "pub":
            await nc.publish(subject, b"{}")
        else:
            await nc.subscribe(subject)
        await nc.flush(timeout=3)
        for _ in range(10):
            if errors:
                break
            await asyncio.sleep(0.02)
    finally:
        await nc.close()
    return errors


@pytest.mark.parametrize(
    ("action", "subject"),
    [
        ("pub", "wo.created"),  # never publish into Rivet's streams or any event subject
        ("pub", "user.registered"),
        ("pub", f"org.{ORG_A}.wo.created"),  # not even into its own organization's stream
        ("pub", f"org.{ORG_B}.wo.created"),
        ("pub", f"reading.submitted.{ORG_A}"),
        ("pub", "rpc.auth.me"),  # never a service request
        ("pub", "rpc.workorders.list"),
        ("pub", f"$JS.API.STREAM.DELETE.{STREAM_A}"),
        ("pub", f"$JS.API.STREAM.PURGE.{STREAM_A}"),
        ("pub", "$JS.API.STREAM.NAMES"),  # nor learn which organizations exist
        ("pub", f"$JS.ACK.{STREAM_B}.erp.1.1.1.1.0"),
        ("sub", ">"),  # never subscribe beyond its own inbox
        ("sub", "wo.>"),
        ("sub", f"org.{ORG_A}.>"),
        ("sub", "_INBOX.>"),
        ("sub", "_INBOX_integration_erp_b.>"),
        ("sub", "_INBOX_integrations.>"),
    ],
)
async def test_an_integration_reaches_nothing_else(
    deployment: Deployment, action: str, subject: str
) -> None:
    errors = await _errors_of(deployment, "integration_erp_a", action, subject)
    assert any("permissions violation" in e.lower() for e in errors), errors
