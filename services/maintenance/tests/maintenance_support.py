"""A running maintenance service for the tests, and the services around it played by the test.

``Stack`` is one maintenance runtime (its own database and NATS namespace, as started by its
entry point) with ``Peers`` answering the requests it sends: ``rpc.assets.get``,
``rpc.auth.list_users`` and ``rpc.workorders.create``/``get``. The fake work-order service
keeps orders by idempotency key like the real one (the same request again: the same order; a
different one: ``idempotency_key_reused``), refuses a due date in the past, counts every create
and can be told to fail, to stay silent or to answer late. ``Bus`` records the events the
service publishes. Tests play the other services' events (``wo.status_changed``, auth's) by
publishing them on the namespace.
"""

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from pydantic import BaseModel
from sqlalchemy import text

from rivet_contracts import (
    ErrorCode,
    ErrorInfo,
    EventData,
    EventEnvelope,
    Events,
    Headers,
    Identity,
    Role,
    Rpc,
)
from rivet_contracts.assets import Criticality, EquipmentStatus, EquipmentView, Source
from rivet_contracts.auth import UserList, UserView
from rivet_contracts.spec import RpcSpec
from rivet_contracts.workorders import (
    CreateWorkOrder,
    EquipmentBrief,
    Priority,
    WorkOrderStatus,
    WorkOrderStatusChanged,
    WorkOrderView,
    WorkType,
)
from rivet_maintenance.main import build
from rivet_maintenance.settings import MaintenanceSettings
from rivet_maintenance.state import MaintenanceState
from rivet_runtime.client import CallMeta
from rivet_runtime.identity import identity_from_headers
from rivet_runtime.service import ServiceRuntime
from rivet_runtime.streams import ensure_streams

WO_SKEW = timedelta(minutes=5)


async def until(
    check: Callable[[], Awaitable[bool] | bool], timeout: float = 15.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        done = check()
        if not isinstance(done, bool):
            done = await done
        if done:
            return
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


@dataclass
class Org:
    """An organization as the tests use it: its admin, a technician and a viewer."""

    id: UUID = field(default_factory=uuid.uuid4)
    admin_id: UUID = field(default_factory=uuid.uuid4)
    technician_id: UUID = field(default_factory=uuid.uuid4)
    viewer_id: UUID = field(default_factory=uuid.uuid4)

    def identity(self, role: Role = Role.ADMIN) -> Identity:
        user = {
            Role.ADMIN: self.admin_id,
            Role.TECHNICIAN: self.technician_id,
            Role.VIEWER: self.viewer_id,
        }[role]
        return Identity(user_id=user, org_id=self.id, role=role)


@dataclass
class Create:
    """One create the fake work-order service received."""

    identity: Identity
    request: CreateWorkOrder
    channel: str | None


class Peers:
    """The assets, auth and work-order services (see the module's docstring)."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self.now = now
        self.assets: dict[UUID, EquipmentView] = {}
        self.members: dict[UUID, list[UserView]] = {}
        self.orders: dict[tuple[UUID, str], WorkOrderView] = {}
        self.requests: dict[tuple[UUID, str], dict[str, Any]] = {}
        self.creates: list[Create] = []
        self.fail: ErrorCode | None = None
        """Answer every create with this error."""
        self.silent = False
        """Answer no create (the caller times out)."""
        self.late: float = 0.0
        """Seconds to wait before answering a create (after storing its order)."""
        self._numbers = 0

    # --- what the tests set up --------------------------------------------------------------

    def asset(self, org: Org, status: EquipmentStatus = EquipmentStatus.IN_SERVICE) -> UUID:
        now = datetime.now(UTC)
        view = EquipmentView(
            id=uuid.uuid4(), org_id=org.id, number=f"EQ-2026-{len(self.assets) + 1:06d}",
            manufacturer="Baldor", model="M3", serial=None, name="Pump", equipment_type=None,
            location=None, department=None, criticality=Criticality.MEDIUM, status=status,
            parent_id=None, installed_on=None, ratings={}, photo_ref=None, source=Source.API,
            created_by=None, created_at=now, updated_at=now, version=1,
        )  # fmt: skip
        self.assets[view.id] = view
        self.members.setdefault(org.id, self._team(org))
        return view.id

    def _team(self, org: Org) -> list[UserView]:
        now = datetime.now(UTC)
        return [
            UserView(
                id=user,
                org_id=org.id,
                organization_name="Plant",
                email=f"{user}@example.com",
                full_name=role.value,
                role=role,
                is_active=True,
                created_at=now,
            )
            for user, role in (
                (org.admin_id, Role.ADMIN),
                (org.technician_id, Role.TECHNICIAN),
                (org.viewer_id, Role.VIEWER),
            )
        ]

    def orders_of(self, plan_id: UUID) -> list[WorkOrderView]:
        return [o for o in self.orders.values() if o.plan_id == plan_id]

    def creates_of(self, plan_id: UUID) -> list[Create]:
        return [c for c in self.creates if c.request.plan_id == plan_id]

    # --- serving ----------------------------------------------------------------------------

    async def serve(self, nc: Client, subject: Callable[[str], str]) -> None:
        await nc.subscribe(subject(Rpc.ASSETS_GET), cb=self._guard(nc, self._asset))
        await nc.subscribe(subject(Rpc.AUTH_LIST_USERS), cb=self._guard(nc, self._users))
        await nc.subscribe(subject(Rpc.WORKORDERS_CREATE), cb=self._guard(nc, self._create))
        await nc.subscribe(subject(Rpc.WORKORDERS_GET), cb=self._guard(nc, self._get))

    def _guard(
        self, nc: Client, handler: Callable[[Identity, dict[str, Any], Msg], Awaitable[Any]]
    ) -> Callable[[Msg], Awaitable[None]]:
        async def on_message(msg: Msg) -> None:
            identity = identity_from_headers(msg.headers or {})
            assert identity is not None, "every request carries its caller"
            try:
                answer = await handler(identity, json.loads(msg.data or b"{}"), msg)
            except _Error as exc:
                body = exc.info.model_dump_json(exclude_none=True).encode()
                await nc.publish(msg.reply, body, headers={Headers.ERROR: exc.info.code.value})
                return
            if answer is not None:
                await nc.publish(msg.reply, answer.model_dump_json().encode())

        return on_message

    async def _asset(self, identity: Identity, body: dict[str, Any], _: Msg) -> EquipmentView:
        found = self.assets.get(_uuid(body["ref"]))
        if found is None or found.org_id != identity.org_id:
            raise _Error(ErrorCode.NOT_FOUND, "equipment not found")
        return found

    async def _users(self, identity: Identity, _: dict[str, Any], __: Msg) -> UserList:
        return UserList(items=self.members.get(identity.org_id, []))

    async def _create(
        self, identity: Identity, body: dict[str, Any], msg: Msg
    ) -> WorkOrderView | None:
        request = CreateWorkOrder.model_validate(body)
        channel = (msg.headers or {}).get(Headers.CHANNEL)
        self.creates.append(Create(identity, request, channel))
        if self.fail is not None:
            raise _Error(self.fail, "the work-order service failed on purpose")
        if self.silent:
            return None
        key = (identity.org_id, request.idempotency_key or str(uuid.uuid4()))
        same = request.model_dump(mode="json", exclude={"idempotency_key"})
        if key in self.orders:
            if self.requests[key] != same:
                order = self.orders[key]
                raise _Error(
                    ErrorCode.IDEMPOTENCY_KEY_REUSED,
                    "a different request",
                    {"work_order_id": str(order.id), "number": order.number},
                )
            return self.orders[key]
        if request.due_at is not None and request.due_at < self.now() - WO_SKEW:
            raise _Error(
                ErrorCode.VALIDATION,
                "the due date is in the past",
                [{"loc": ["due_at"], "msg": "in the past", "type": "value_error"}],
            )
        order = self._order(identity, request)
        self.orders[key], self.requests[key] = order, same
        if self.late:
            await asyncio.sleep(self.late)
        return order

    async def _get(self, identity: Identity, body: dict[str, Any], _: Msg) -> WorkOrderView:
        for (org, _key), order in self.orders.items():
            if org == identity.org_id and body["ref"] in (order.number, str(order.id)):
                return order
        raise _Error(ErrorCode.NOT_FOUND, "no such order")

    def _order(self, identity: Identity, request: CreateWorkOrder) -> WorkOrderView:
        self._numbers += 1
        now = self.now()
        asset = self.assets[_uuid(str(request.equipment_id))]
        return WorkOrderView(
            id=uuid.uuid4(), number=f"WO-2026-{self._numbers:06d}",
            equipment=EquipmentBrief(
                id=asset.id, number=asset.number, name=asset.name,
                manufacturer=asset.manufacturer, model=asset.model, serial=None, location=None,
                criticality=asset.criticality,
            ),
            title=request.title, description=request.description, fault_codes=[],
            symptoms=[], priority=request.priority, status=WorkOrderStatus.OPEN,
            work_type=request.work_type, source="maintenance",
            due_at=request.due_at or now + timedelta(days=7), overdue=False,
            assignee_id=request.assignee_id, assignee_name=None,
            requester_id=identity.user_id, requester_name=None,
            estimated_hours=request.estimated_hours, labour_hours=None, downtime_start=None,
            downtime_end=None, downtime_hours=None, created_at=now, updated_at=now,
            acknowledged_at=None, started_at=None, on_hold_at=None, completed_at=None,
            cancelled_at=None, reopened_at=None, status_changed_at=now,
            allowed_transitions=[], version=1, plan_id=request.plan_id,
        )  # fmt: skip


class _Error(Exception):
    def __init__(self, code: ErrorCode, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.info = ErrorInfo(code=code, message=message, details=details)


def _uuid(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        return uuid.uuid4()  # an EQ-number: unknown to the fake


class Bus:
    """The events the maintenance service published, by type."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def listen(self, nc: Client, subject: Callable[[str], str]) -> None:
        for pattern in ("plan.>", "pm.>", "meter.>", "deadletter.>"):
            await nc.subscribe(subject(pattern), cb=self._record)

    async def _record(self, msg: Msg) -> None:
        self.events.append(json.loads(msg.data))

    def of(self, kind: str, **data: Any) -> list[dict[str, Any]]:
        """Events of type ``kind`` (a dead letter: ``deadletter.<consumer>``) whose data has
        the given values (ids as strings)."""
        found = [e for e in self.events if e["type"] == kind]
        return [e for e in found if all(e["data"].get(k) == v for k, v in data.items())]


class Stack:
    """The maintenance runtime under test with its peers (see the module's docstring)."""

    def __init__(self, runtime: ServiceRuntime[MaintenanceState], nc: Client) -> None:
        self.runtime = runtime
        self.nc = nc
        self.peers = Peers(lambda: self.state.clock.now())
        self.bus = Bus()

    @property
    def state(self) -> MaintenanceState:
        return self.runtime.state

    @property
    def settings(self) -> MaintenanceSettings:
        settings: MaintenanceSettings = self.runtime.settings  # type: ignore[assignment]
        return settings

    def subject(self, name: str) -> str:
        return self.settings.subject(name)

    async def call(self, spec: RpcSpec[Any, Any], request: Any, who: Identity) -> Any:
        """A request through NATS, as the gateway sends it."""
        meta = CallMeta(who, f"test-{uuid.uuid4().hex[:8]}", "api")
        return await self.runtime.client.call(spec, request, meta, timeout=10)

    async def run(self, job: str) -> int:
        assert self.runtime.runner is not None
        return await self.runtime.runner.run_now(job)

    async def publish(
        self,
        subject: str,
        data: EventData | BaseModel,
        org_id: UUID | None,
        *,
        kind: str | None = None,
        at: datetime | None = None,
    ) -> EventEnvelope[Any]:
        """An event on JetStream, as its producer publishes it (``subject`` un-namespaced)."""
        envelope: EventEnvelope[Any] = EventEnvelope(
            type=kind or subject, org_id=org_id, data=data, occurred_at=at or datetime.now(UTC)
        )
        js = self.nc.jetstream()
        await js.publish(
            self.subject(subject),
            envelope.model_dump_json().encode(),
            headers={Headers.MSG_ID: str(envelope.event_id)},
        )
        return envelope

    async def order_status(
        self, order: WorkOrderView, status: WorkOrderStatus, at: datetime
    ) -> EventEnvelope[Any]:
        """The work-order service announcing that ``order`` moved to ``status`` at ``at``."""
        data = WorkOrderStatusChanged(
            work_order_id=order.id, number=order.number, title=order.title, status=status,
            priority=Priority(order.priority), work_type=WorkType(order.work_type),
            equipment_id=order.equipment.id, equipment_number=order.equipment.number,
            due_at=order.due_at, created_at=order.created_at,
            completed_at=at if status is WorkOrderStatus.COMPLETED else None,
            plan_id=order.plan_id, version=2, from_status=order.status, to_status=status,
            actor_id=None, changed_at=at,
        )  # fmt: skip
        return await self.publish(Events.WO_STATUS_CHANGED, data, None)

    async def applied(self, envelope: EventEnvelope[Any], consumer: str) -> None:
        """Wait until ``consumer`` has applied (or dead-lettered) the event."""
        db = self.runtime.db
        assert db is not None

        async def seen() -> bool:
            async with db.transaction() as conn:
                query = text(
                    "SELECT 1 FROM inbox WHERE consumer = :c AND event_id = :e "
                    "UNION ALL SELECT 1 FROM dead_letters WHERE consumer = :c "
                    "AND event_id = :s"
                )
                params = {"c": consumer, "e": envelope.event_id, "s": str(envelope.event_id)}
                return (await conn.execute(query, params)).first() is not None

        await until(seen, what=f"{consumer} to apply {envelope.type}")


def stack_settings(common: dict[str, Any], **overrides: Any) -> MaintenanceSettings:
    values = common | {
        "schedule_interval": 3600.0,  # passes are run by the tests (run_now)
        "open_retry": 0.3,
        "open_lease": 5.0,
        "rpc_timeout": 1.0,
        "consumer_max_deliveries": 3,
    }
    return MaintenanceSettings.model_validate(values | overrides)


async def start_stack(
    settings: MaintenanceSettings, replica_of: Stack | None = None, *, fake_peers: bool = True
) -> Stack:
    """A maintenance runtime; a replica of another shares its peers and its bus (on the same
    database and namespace). Without ``fake_peers`` the services it asks are the real ones
    running on the namespace."""
    runtime = build(settings)
    nc = await nats.connect(settings.nats_url)
    await ensure_streams(nc.jetstream(), runtime.consumed_streams(), settings)
    stack = Stack(runtime, nc)
    if replica_of is None:
        if fake_peers:
            await stack.peers.serve(nc, settings.subject)
        await stack.bus.listen(nc, settings.subject)
    else:
        stack.peers, stack.bus = replica_of.peers, replica_of.bus
    await runtime.start()
    return stack


async def stop_stack(stack: Stack) -> None:
    await stack.runtime.stop()
    await stack.nc.close()
