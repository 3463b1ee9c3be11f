"""The one-shot import of a Rivet Pro database into one Rivet organization: users, then
equipment, then work orders, each row through the owning service's request.

Every row ends in one outcome, written to the report (JSON lines) as it is decided:
``created``, ``matched`` (already in Rivet: nothing sent, or the service matched it),
``merged`` (a second asset with a serial seen before: its orders go to that asset),
``skipped`` (breaks a rule of Rivet's; ``reason`` says which), ``failed`` (the service
refused or did not answer; ``reason`` has its message), or with ``--dry-run``
``would_create``. A second run finds everything by its kept number (or e-mail address,
Telegram account, serial) and sends nothing.
"""

import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, TypeVar
from uuid import UUID

from pydantic import ValidationError

from rivet_contracts import ErrorCode, Identity, ServiceError
from rivet_contracts import assets as assets_contract
from rivet_contracts import auth as auth_contract
from rivet_contracts import workorders as wo_contract
from rivet_contracts.assets import MatchOutcome
from rivet_contracts.workorders import WorkOrderChanges, WorkOrderStatus

from . import mapping
from .bus import Bus
from .source import ProEquipment, ProUser, ProWorkOrder, Snapshot

T = TypeVar("T")


@dataclass
class Outcome:
    kind: str
    source_id: str
    outcome: str
    source_number: str | None = None
    rivet_number: str | None = None
    rivet_id: str | None = None
    reason: str | None = None
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        data = {k: v for k, v in self.__dict__.items() if v not in (None, [])}
        return json.dumps(data, ensure_ascii=False)


class Report:
    """The per-row report (JSON lines) and the counts of the summary."""

    def __init__(self, out: IO[str] | None) -> None:
        self.out = out
        self.counts: Counter[tuple[str, str]] = Counter()
        self.rows: list[Outcome] = []

    def add(self, row: Outcome) -> None:
        self.counts[(row.kind, row.outcome)] += 1
        self.rows.append(row)
        if self.out is not None:
            self.out.write(row.line() + "\n")

    def summary(self) -> dict[str, dict[str, int]]:
        table: dict[str, dict[str, int]] = {}
        for (kind, outcome), n in sorted(self.counts.items()):
            table.setdefault(kind, {})[outcome] = n
        return table


class Progress:
    """A line on stderr about once a second: what is done of each part, and the rate."""

    def __init__(self, stream: IO[str] | None = sys.stderr, every: float = 1.0) -> None:
        self.stream = stream
        self.every = every
        self.last = 0.0

    def show(self, what: str, done: int, total: int, started: float, force: bool = False) -> None:
        now = time.monotonic()
        if self.stream is None or (not force and now - self.last < self.every):
            return
        self.last = now
        rate = done / max(now - started, 1e-6)
        self.stream.write(f"rivet-import: {what} {done}/{total} ({rate:.0f}/s)\n")
        self.stream.flush()


@dataclass
class Result:
    report: Report
    seconds: dict[str, float]
    """Wall time of each part (users, equipment, work_orders)."""

    @property
    def failed(self) -> int:
        return sum(n for (_, outcome), n in self.report.counts.items() if outcome == "failed")


class Importer:
    def __init__(
        self,
        bus: Bus,
        report: Report,
        *,
        dry_run: bool = False,
        concurrency: int = 8,
        progress: Progress | None = None,
    ) -> None:
        self.bus = bus
        self.report = report
        self.dry_run = dry_run
        self.limit = asyncio.Semaphore(concurrency)
        self.progress = progress or Progress(None)
        self.asset_of: dict[UUID, str] = {}
        """Source asset id -> the Rivet number its orders go to."""
        self.asset_skipped: dict[UUID, str] = {}
        """Source asset id -> why it is not in Rivet."""
        self.started = datetime.now(UTC)

    async def run(self, snapshot: Snapshot) -> Result:
        seconds = {}
        started = time.monotonic()
        await self._users(snapshot.users)
        seconds["users"] = time.monotonic() - started
        started = time.monotonic()
        await self._equipment(snapshot.equipment)
        seconds["equipment"] = time.monotonic() - started
        started = time.monotonic()
        await self._work_orders(snapshot.work_orders)
        seconds["work_orders"] = time.monotonic() - started
        return Result(self.report, seconds)

    async def _each(
        self,
        what: str,
        rows: list[T],
        work: Callable[[T], Awaitable[Outcome]],
        failed: Callable[[T, str], Outcome],
    ) -> None:
        started, done = time.monotonic(), 0

        async def one(row: T) -> None:
            nonlocal done
            async with self.limit:
                try:
                    outcome = await work(row)
                except ServiceError as exc:
                    outcome = failed(row, f"{exc.code.value}: {exc}")
                except ValidationError as exc:  # a value no rule of mapping foresaw
                    error = exc.errors()[0]
                    where = ".".join(str(part) for part in error["loc"])
                    outcome = failed(row, f"not valid for Rivet: {where}: {error['msg']}")
            self.report.add(outcome)
            done += 1
            self.progress.show(what, done, len(rows), started)

        await asyncio.gather(*(one(row) for row in rows))
        self.progress.show(what, done, len(rows), started, force=True)

    # --- users ---------------------------------------------------------------------------

    async def _users(self, rows: list[ProUser]) -> None:
        members = await self.bus.call(
            auth_contract.LIST_USERS, auth_contract.ListUsers(include_inactive=True)
        )
        by_email = {u.email.lower(): u for u in members.items}
        pending = await self.bus.call(
            auth_contract.LIST_INVITATIONS, auth_contract.ListInvitations()
        )
        invited = {i.email.lower() for i in pending.items if i.email}

        def failed(row: ProUser, reason: str) -> Outcome:
            return Outcome("user", str(row.id), "failed", reason=reason)

        async def work(row: ProUser) -> Outcome:
            plan = mapping.plan_user(row)
            out = Outcome("user", str(row.id), "skipped", reason=plan.skip, notes=plan.notes)
            if plan.skip is not None:
                return out
            member = by_email.get(plan.email) if plan.email else None
            if plan.telegram_id is not None and member is not None:
                return await self._link_telegram(member, plan.telegram_id, out)
            if plan.telegram_id is not None:
                return await self._telegram_user(row, plan, out)
            if member is not None:
                out.outcome, out.rivet_id = "matched", str(member.id)
                return out
            if plan.email in invited:
                out.outcome, out.reason = "matched", "invited before; not joined yet"
                return out
            if self.dry_run:
                out.outcome = "would_create"
                return out
            made = await self.bus.call(
                auth_contract.INVITE,
                auth_contract.InviteUser(email=plan.email, role=plan.role),
                key=f"rivet-pro:user:{row.id}",
            )
            out.outcome, out.rivet_id = "created", str(made.id)
            out.reason = "invited: a mail with a link to choose a password went to the address"
            return out

        await self._each("users", rows, work, failed)

    async def _link_telegram(
        self, member: auth_contract.UserView, telegram_id: int, out: Outcome
    ) -> Outcome:
        """A member with the address already (the importing admin, say): the Telegram account
        is linked to them, as ``/start <code>`` in the bot does."""
        out.outcome, out.rivet_id = "matched", str(member.id)
        if member.telegram_linked or self.dry_run:
            return out
        try:
            known = await self.bus.call(
                auth_contract.TELEGRAM_IDENTITY,
                auth_contract.GetTelegramIdentity(telegram_user_id=telegram_id),
                anonymous=True,
            )
        except ServiceError as exc:
            if exc.code is not ErrorCode.NOT_FOUND:
                raise
        else:
            out.notes.append(f"Telegram account already linked to {known.user.email}")
            return out
        assert self.bus.identity is not None
        as_member = Identity(user_id=member.id, org_id=member.org_id, role=member.role)
        code = await self.bus.call(
            auth_contract.CREATE_TELEGRAM_LINK, auth_contract.CreateTelegramLink(),
            identity=as_member,
        )  # fmt: skip
        await self.bus.call(
            auth_contract.REDEEM_TELEGRAM_LINK,
            auth_contract.RedeemTelegramLink(code=code.code, telegram_user_id=telegram_id),
            anonymous=True,
        )
        out.reason = "Telegram account linked"
        return out

    async def _telegram_user(self, row: ProUser, plan: mapping.UserPlan, out: Outcome) -> Outcome:
        assert plan.telegram_id is not None
        try:
            known = await self.bus.call(
                auth_contract.TELEGRAM_IDENTITY,
                auth_contract.GetTelegramIdentity(telegram_user_id=plan.telegram_id),
                anonymous=True,
            )
        except ServiceError as exc:
            if exc.code is not ErrorCode.NOT_FOUND:
                raise
        else:
            assert self.bus.identity is not None
            if known.identity.org_id != self.bus.identity.org_id:
                out.reason = "the Telegram account belongs to another Rivet organization"
                return out
            out.outcome, out.rivet_id = "matched", str(known.user.id)
            return out
        if self.dry_run:
            out.outcome = "would_create"
            return out
        # An invitation without an address (no mail goes out), joined at once with the
        # Telegram account, as the bot does when someone opens an invitation's link.
        invitation = await self.bus.call(
            auth_contract.INVITE,
            auth_contract.InviteUser(role=plan.role),
            key=f"rivet-pro:telegram-user:{row.id}",
        )
        assert invitation.token is not None
        try:
            joined = await self.bus.call(
                auth_contract.JOIN_WITH_TELEGRAM,
                auth_contract.JoinWithTelegram(
                    token=invitation.token, telegram_user_id=plan.telegram_id, full_name=plan.name
                ),
                anonymous=True,
            )
        except ServiceError:
            await self.bus.call(
                auth_contract.REVOKE_INVITATION,
                auth_contract.RevokeInvitation(invitation_id=invitation.id),
            )
            raise
        out.outcome, out.rivet_id = "created", str(joined.user.id)
        if plan.email:
            out.notes.append(
                "Rivet Pro's e-mail address is not carried over: the person adds it in the bot "
                "(/email), which proves it"
            )
        return out

    # --- equipment -----------------------------------------------------------------------

    async def _equipment(self, rows: list[ProEquipment]) -> None:
        by_number: dict[str, assets_contract.EquipmentView] = {}
        by_serial: dict[str, str] = {}
        async for asset in self._pages_of_assets():
            by_number[asset.number] = asset
            key = mapping.serial_key(asset.serial)
            if key:
                by_serial.setdefault(key, asset.number)
        first_of_serial: dict[str, ProEquipment] = {}
        primaries: list[tuple[ProEquipment, mapping.EquipmentPlan]] = []
        duplicates: list[tuple[ProEquipment, ProEquipment]] = []
        for row in rows:
            plan = mapping.plan_equipment(row)
            key = mapping.serial_key(row.serial)
            if key is not None and key in first_of_serial:
                duplicates.append((row, first_of_serial[key]))
                continue
            if key is not None:
                first_of_serial[key] = row
            primaries.append((row, plan))

        def failed(item: tuple[ProEquipment, mapping.EquipmentPlan], reason: str) -> Outcome:
            self.asset_skipped[item[0].id] = f"its asset {item[0].number} failed: {reason}"
            return Outcome("equipment", str(item[0].id), "failed", item[0].number, reason=reason)

        async def work(item: tuple[ProEquipment, mapping.EquipmentPlan]) -> Outcome:
            row, plan = item
            assert plan.request is not None
            out = Outcome("equipment", str(row.id), "matched", row.number, notes=plan.notes)
            number = plan.request.number
            existing = by_number.get(number) if number else None
            if existing is None:
                key = mapping.serial_key(plan.request.serial)
                same = by_serial.get(key) if key else None
                existing = by_number.get(same) if same else None
                if existing is not None:
                    out.reason = f"an asset with this serial is registered as {existing.number}"
            if existing is not None:
                out.rivet_number, out.rivet_id = existing.number, str(existing.id)
                self.asset_of[row.id] = existing.number
                return out
            if self.dry_run:
                out.outcome = "would_create"
                out.rivet_number = number
                self.asset_of[row.id] = number or row.number
                return out
            made = await self.bus.call(
                assets_contract.CREATE, plan.request, key=f"rivet-pro:equipment:{row.id}"
            )
            assert made.equipment is not None
            if made.outcome is MatchOutcome.CREATED and made.equipment.created_at < self.started:
                out.reason = "created by an earlier run (the same request's key)"
            elif made.outcome is MatchOutcome.CREATED:
                out.outcome = "created"
            else:
                out.reason = f"the registry matched it to {made.equipment.number}"
            out.rivet_number, out.rivet_id = made.equipment.number, str(made.equipment.id)
            self.asset_of[row.id] = made.equipment.number
            return out

        await self._each("equipment", primaries, work, failed)
        for row, first in duplicates:
            out = Outcome("equipment", str(row.id), "merged", row.number)
            target = self.asset_of.get(first.id)
            if target is None:
                out.outcome = "skipped"
                out.reason = f"duplicate serial of {first.number}, which was not imported"
                self.asset_skipped[row.id] = out.reason
            else:
                out.rivet_number = target
                out.reason = (
                    f"duplicate serial of {first.number}: one asset in Rivet ({target}); this "
                    "row's work orders go to it"
                )
                self.asset_of[row.id] = target
            self.report.add(out)

    async def _pages_of_assets(self) -> Any:
        offset = 0
        while True:
            page = await self.bus.call(
                assets_contract.LIST,
                assets_contract.ListEquipment(limit=200, offset=offset),
            )
            for asset in page.items:
                yield asset
            offset += len(page.items)
            if not page.items or offset >= page.total:
                return

    # --- work orders ---------------------------------------------------------------------

    async def _work_orders(self, rows: list[ProWorkOrder]) -> None:
        existing: dict[str, wo_contract.WorkOrderView] = {}
        offset: int | None = 0
        while offset is not None:
            page = await self.bus.call(
                wo_contract.LIST,
                wo_contract.ListWorkOrders(
                    limit=200, offset=offset, sort=wo_contract.WorkOrderSort.OLDEST
                ),
            )
            existing.update((order.number, order) for order in page.items)
            offset = page.next_offset

        def failed(row: ProWorkOrder, reason: str) -> Outcome:
            return Outcome("work_order", str(row.id), "failed", row.number, reason=reason)

        async def work(row: ProWorkOrder) -> Outcome:
            out = Outcome("work_order", str(row.id), "skipped", row.number)
            if row.equipment_id is None:
                out.reason = "no equipment: every Rivet work order belongs to an asset"
                return out
            asset = self.asset_of.get(row.equipment_id)
            if asset is None:
                out.reason = self.asset_skipped.get(
                    row.equipment_id, "its asset is not in the Rivet Pro database"
                )
                return out
            plan = mapping.plan_work_order(row, asset)
            out.notes = plan.notes
            if plan.skip is not None:
                out.reason = plan.skip
                return out
            assert plan.request is not None
            found = existing.get(plan.request.number) if plan.request.number else None
            if found is not None:
                out.outcome, out.rivet_number, out.rivet_id = "matched", found.number, str(found.id)
                if found.status is WorkOrderStatus.OPEN and plan.status is not WorkOrderStatus.OPEN:
                    # an earlier run that stopped between the create and the status change
                    await self._bring_to(found.id, plan.status)
                    out.reason = f"status brought to {plan.status.value}"
                return out
            if self.dry_run:
                out.outcome, out.rivet_number = "would_create", plan.request.number
                return out
            made = await self.bus.call(wo_contract.CREATE, plan.request)
            await self._bring_to(made.id, plan.status, made.status)
            # an order without a kept number is found again by its key (the same order)
            earlier = made.created_at < self.started
            out.outcome = "matched" if earlier else "created"
            out.rivet_number, out.rivet_id = made.number, str(made.id)
            return out

        await self._each("work_orders", rows, work, failed)

    async def _bring_to(
        self,
        order_id: UUID,
        target: WorkOrderStatus,
        current: WorkOrderStatus = WorkOrderStatus.OPEN,
    ) -> None:
        path = mapping.PATHS[target]
        if current in path:
            path = path[path.index(current) + 1 :]
        elif current is target:
            path = ()
        for status in path:
            changes = WorkOrderChanges(status=status)
            if status is WorkOrderStatus.CANCELLED:
                changes = WorkOrderChanges(status=status, reason=mapping.CANCEL_REASON)
            try:
                await self.bus.call(
                    wo_contract.UPDATE,
                    wo_contract.UpdateWorkOrder(ref=str(order_id), changes=changes),
                )
            except ServiceError as exc:
                if exc.code is not ErrorCode.INVALID_TRANSITION:
                    raise
                # a repeat of a change that was made (its answer was lost): check
                now = await self.bus.call(
                    wo_contract.GET, wo_contract.GetWorkOrder(ref=str(order_id))
                )
                if now.status is not status:
                    raise


def summary_lines(result: Result, total_seconds: float) -> Iterable[str]:
    table = result.report.summary()
    for kind, label in (
        ("user", "users"),
        ("equipment", "equipment"),
        ("work_order", "work orders"),
    ):
        counts = table.get(kind, {})
        cells = ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"
        yield f"{label:12} {sum(counts.values()):6}  {cells}"
    eq, wo = result.seconds.get("equipment", 0.0), result.seconds.get("work_orders", 0.0)
    n_eq = sum(table.get("equipment", {}).values())
    n_wo = sum(table.get("work_order", {}).values())
    yield (
        f"time         {total_seconds:.1f}s: equipment {n_eq / max(eq, 1e-6):.0f} rows/s, "
        f"work orders {n_wo / max(wo, 1e-6):.0f} rows/s"
    )
