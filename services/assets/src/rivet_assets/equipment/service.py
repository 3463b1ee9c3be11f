"""Rules of the registry. Never commits: the runtime does, once per request or message.

Every entry path - API, Telegram, nameplate scans, CSV import - calls ``create_or_match``, so
one rule set decides whether a record is new or an asset already registered.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from rivet_contracts import ErrorCode, Events, ServiceError
from rivet_contracts.assets import (
    Candidate,
    CreateEquipment,
    CreateOrMatchResult,
    EquipmentCreated,
    EquipmentFields,
    EquipmentMatched,
    EquipmentStatus,
    EquipmentUpdated,
    EquipmentView,
    MatchOutcome,
    Ratings,
    Source,
)
from rivet_contracts.identity import Role
from rivet_contracts.refs import EQUIPMENT_PREFIX, format_number, parse_ref
from rivet_runtime import UnitOfWork

from ..matching import normalize
from ..matching.rules import Record, compare
from ..search import index as search_index
from ..state import AssetsState
from . import lifecycle
from . import repository as repo
from .views import snapshot_fields, to_view

Uow = UnitOfWork[AssetsState]
ENRICHABLE = (
    "model",
    "serial",
    "name",
    "equipment_type",
    "location",
    "department",
    "installed_on",
    "photo_ref",
    "parent_id",
)


@dataclass(frozen=True)
class Who:
    """On whose behalf: the organization every read and write is scoped to, the actor and
    their role."""

    org_id: UUID
    user_id: UUID | None
    source: Source
    role: Role


@dataclass(frozen=True)
class ScanLink:
    """The nameplate scan behind a create-or-match, as the OCR service announced it. Only the
    scan consumer sets it: clients cannot name a scan or a photo."""

    scan_id: UUID
    photo_ref: str | None


def normalized(fields: EquipmentFields, scan: ScanLink | None = None) -> dict[str, Any]:
    """Column values for ``fields``: canonical manufacturer and the normalized codes."""
    manufacturer, manufacturer_key = normalize.manufacturer(fields.manufacturer)
    values = fields.model_dump(exclude={"create_anyway", "merge_into", "number", "created_at"})
    values.update(
        manufacturer=manufacturer,
        manufacturer_key=manufacturer_key,
        model_norm=normalize.code(fields.model),
        serial_norm=normalize.code(fields.serial),
        criticality=fields.criticality.value,
        status=fields.status.value,
        ratings=fields.ratings.model_dump(exclude_none=True, exclude_defaults=True),
        photo_ref=scan.photo_ref if scan else None,
    )
    return values


async def create_or_match(
    uow: Uow,
    who: Who,
    req: CreateEquipment,
    *,
    scan: ScanLink | None = None,
    retired_reason: str | None = None,
) -> CreateOrMatchResult:
    """``retired_reason``: why a new asset may start retired (an imported register said so);
    see ``lifecycle.check_new``."""
    values = normalized(req, scan)
    scan_id = scan.scan_id if scan else None
    if req.number is not None:
        await _check_kept_number(uow, who, req)
    if req.created_at is not None:
        _check_kept_time(who, req.created_at)

    settings = uow.state.settings
    if req.parent_id is not None:
        await _require(uow, who.org_id, req.parent_id, what="parent asset")
    if req.merge_into is not None:
        chosen = await _require(uow, who.org_id, req.merge_into, what="asset to merge into")
        return await _matched(uow, who, chosen, values, 100.0, ["chosen by caller"], scan_id)

    serial = values["serial_norm"]
    await repo.lock_key(
        uow.conn, who.org_id, serial or f"{values['manufacturer_key']}|{values['model_norm']}"
    )
    if serial:
        same_serial = await repo.by_serial(uow.conn, who.org_id, serial)
        if same_serial is not None:
            return await _matched(uow, who, same_serial, values, 100.0, ["serial"], scan_id)

    candidates: list[Candidate] = []
    if values["model_norm"] and not req.create_anyway:
        new = Record(
            values["manufacturer_key"], values["model_norm"], serial, req.location, req.name
        )
        found = await repo.same_brand(
            uow.conn, who.org_id, values["manufacturer_key"], values["model_norm"]
        )
        verdicts = [
            (row, compare(new, _record(row), auto=settings.match_auto_threshold,
                          review=settings.match_review_threshold))
            for row in found
        ]  # fmt: skip
        verdicts = sorted(
            (v for v in verdicts if v[1].candidate), key=lambda v: (-v[1].same, -v[1].score)
        )
        auto = [v for v in verdicts if v[1].same]
        if len(auto) == 1:
            row, verdict = auto[0]
            return await _matched(uow, who, row, values, verdict.score, verdict.reasons, scan_id)
        candidates = [
            Candidate(equipment=to_view(row), score=v.score, reasons=v.reasons)
            for row, v in verdicts[:10]
        ]
    if candidates:
        return CreateOrMatchResult(
            outcome=MatchOutcome.POSSIBLE_DUPLICATES,
            score=candidates[0].score,
            candidates=candidates,
        )
    # A match keeps its status; only a new asset is checked.
    lifecycle.check_new(req.status, who.role, retired_reason)
    reason = retired_reason if req.status == EquipmentStatus.RETIRED else None
    created = await _create(
        uow,
        who,
        values | {"retired_reason": reason},
        reason=reason,
        number=req.number,
        created_at=req.created_at,
    )
    await uow.emit(
        Events.EQUIPMENT_CREATED,
        EquipmentCreated(**snapshot_fields(created), source=who.source, scan_id=scan_id),
        org_id=who.org_id,
    )
    return CreateOrMatchResult(outcome=MatchOutcome.CREATED, equipment=to_view(created))


async def _check_kept_number(uow: Uow, who: Who, req: CreateEquipment) -> None:
    """A create that keeps a number from another system (``number``): admins importing only,
    and only a number no asset of the organization has."""
    if who.source is not Source.IMPORT or who.role is not Role.ADMIN:
        raise ServiceError(
            ErrorCode.FORBIDDEN, "`number` is for imports by an admin (the `import` channel)"
        )
    if req.merge_into is not None:
        raise ServiceError(ErrorCode.VALIDATION, "`number` cannot go with `merge_into`")
    assert req.number is not None
    taken = await repo.by_number(uow.conn, who.org_id, req.number)
    if taken is not None:
        raise ServiceError(
            ErrorCode.CONFLICT,
            f"equipment number {req.number} is taken",
            details={"id": str(taken["id"]), "number": req.number},
        )


CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a kept time may be: the importing machine's clock may drift."""


def _check_kept_time(who: Who, created_at: datetime) -> None:
    """A create that keeps when another system registered the asset (``created_at``): admins
    importing only, and not a time in the future."""
    if who.source is not Source.IMPORT or who.role is not Role.ADMIN:
        raise ServiceError(
            ErrorCode.FORBIDDEN, "`created_at` is for imports by an admin (the `import` channel)"
        )
    if created_at > datetime.now(UTC) + CLOCK_SKEW:
        raise ServiceError(
            ErrorCode.VALIDATION,
            "`created_at` is in the future",
            details=[{"loc": ["created_at"], "msg": "in the future", "type": "value_error"}],
        )


async def _create(
    uow: Uow,
    who: Who,
    values: dict[str, Any],
    *,
    reason: str | None = None,
    number: str | None = None,
    created_at: datetime | None = None,
) -> RowMapping:
    if number is None:
        year = datetime.now(UTC).year
        number = format_number(
            EQUIPMENT_PREFIX, year, await repo.next_number(uow.conn, who.org_id, year)
        )
    else:  # a kept number: the year's counter moves past it, so later numbers never meet it
        year, sequence = (int(part) for part in number.removeprefix(EQUIPMENT_PREFIX).split("-"))
        await repo.number_at_least(uow.conn, who.org_id, year, sequence)
    row_values = values | {
        "id": uuid4(),
        "org_id": who.org_id,
        "number": number,
        "source": who.source.value,
        "created_by": who.user_id,
    }
    if created_at is not None:  # kept by an import; updated_at stays the time of the insert
        row_values["created_at"] = created_at
    try:
        async with uow.conn.begin_nested():
            row = await _insert(uow, row_values)
    except IntegrityError as exc:
        if "equipment_org_serial_key" in str(exc.orig):
            # Only reachable if a serial was added concurrently by an update.
            raise ServiceError(
                ErrorCode.CONFLICT, "an asset with this serial number already exists"
            ) from None
        if "equipment_org_number_key" in str(exc.orig):  # a kept number, taken meanwhile
            raise ServiceError(ErrorCode.CONFLICT, f"equipment number {number} is taken") from None
        raise
    changes = {k: [None, _plain(v)] for k, v in values.items() if v not in (None, {}, "")}
    await _history(uow, who, row["id"], "created", changes, reason=reason)
    return row


async def _matched(
    uow: Uow,
    who: Who,
    row: RowMapping,
    values: dict[str, Any],
    score: float,
    reasons: list[str],
    scan_id: UUID | None,
) -> CreateOrMatchResult:
    """Answer with an existing asset, filling in what it lacked from the new record."""
    return (await match_existing(uow, who, row, values, score, scan_id))[0]


async def match_existing(
    uow: Uow,
    who: Who,
    row: RowMapping,
    values: dict[str, Any],
    score: float,
    scan_id: UUID | None = None,
) -> tuple[CreateOrMatchResult, RowMapping]:
    """A match with ``row`` (``values``: ``normalized`` of the new record): the asset enriched
    with what it lacked, its history and ``equipment.matched``; the result and the asset's
    row as it is now."""
    fill = {k: values[k] for k in ENRICHABLE if row[k] in (None, "") and values.get(k)}
    for code in ("serial", "model"):
        if fill.get(code):
            fill[f"{code}_norm"] = values[f"{code}_norm"]
    ratings = {**values.get("ratings", {}), **(row["ratings"] or {})}
    if ratings != (row["ratings"] or {}):
        fill["ratings"] = ratings
    if fill:
        updated = await _update(uow, who.org_id, row, fill)
        if updated is None:
            raise ServiceError(ErrorCode.CONFLICT, "the asset changed meanwhile; try again")
        changes = {
            k: [_plain(row[k]), _plain(v)] for k, v in fill.items() if not k.endswith("_norm")
        }
        await _history(uow, who, row["id"], "enriched", changes)
        row = updated
    enriched = sorted(k for k in fill if not k.endswith("_norm"))
    await uow.emit(
        Events.EQUIPMENT_MATCHED,
        EquipmentMatched(**snapshot_fields(row), score=score, enriched=enriched, scan_id=scan_id),
        org_id=who.org_id,
    )
    result = CreateOrMatchResult(
        outcome=MatchOutcome.MATCHED, equipment=to_view(row), score=score, enriched=enriched
    )
    return result, row


async def get(uow: Uow, org_id: UUID, ref: str) -> EquipmentView:
    return to_view(await find(uow, org_id, ref))


async def find(uow: Uow, org_id: UUID, ref: str) -> RowMapping:
    """An asset by id or equipment number; 404 for other organizations' assets too."""
    try:
        key = parse_ref(ref, EQUIPMENT_PREFIX)
    except ValueError:
        raise ServiceError(
            ErrorCode.VALIDATION, "give an asset id or an equipment number (EQ-2026-000123)"
        ) from None
    row: RowMapping | None
    if isinstance(key, UUID):
        row = await repo.by_id(uow.conn, org_id, key)
    else:
        row = await repo.by_number(uow.conn, org_id, key)
    if row is None:
        raise ServiceError(ErrorCode.NOT_FOUND, f"asset {ref} not found")
    return row


async def update(
    uow: Uow,
    who: Who,
    ref: str,
    changes: dict[str, Any],
    *,
    expected_version: int | None = None,
    action: str = "updated",
) -> EquipmentView:
    """Apply ``changes`` (fields of ``EquipmentFields``, already validated): an edit, which
    never retires an asset or brings one back (``lifecycle.check_edit``)."""
    row = await find(uow, who.org_id, ref)
    if expected_version is not None and expected_version != row["version"]:
        raise ServiceError(
            ErrorCode.CONFLICT,
            f"the asset is at version {row['version']}, not {expected_version}",
            details={"version": row["version"]},
        )
    if changes.get("status") is not None:
        lifecycle.check_edit(
            EquipmentStatus(row["status"]), EquipmentStatus(changes["status"]), who.role
        )
    return await _change(uow, who, row, changes, action="updated")


async def _change(
    uow: Uow,
    who: Who,
    row: RowMapping,
    changes: dict[str, Any],
    *,
    action: str,
    reason: str | None = None,
) -> EquipmentView:
    values = _column_values(changes)
    if "parent_id" in values and values["parent_id"] is not None:
        await _check_parent(uow, who.org_id, row["id"], values["parent_id"])
    if values.get("serial_norm") and values["serial_norm"] != row["serial_norm"]:
        other = await repo.by_serial(uow.conn, who.org_id, values["serial_norm"])
        if other is not None:
            raise ServiceError(
                ErrorCode.CONFLICT,
                f"{other['number']} already has this serial number",
                details={"equipment_id": str(other["id"]), "number": other["number"]},
            )
    diff = {k: v for k, v in values.items() if _plain(row[k]) != _plain(v)}
    if not diff:
        return to_view(row)
    updated = await _update(uow, who.org_id, row, diff)
    if updated is None:
        raise ServiceError(ErrorCode.CONFLICT, "the asset changed meanwhile; reload and retry")
    visible = {k: [_plain(row[k]), _plain(v)] for k, v in diff.items() if not k.endswith("_norm")
               and k != "manufacturer_key"}  # fmt: skip
    await _history(uow, who, row["id"], action, visible, reason=reason)
    await uow.emit(
        Events.EQUIPMENT_UPDATED,
        EquipmentUpdated(**snapshot_fields(updated), changed=sorted(visible)),
        org_id=who.org_id,
    )
    return to_view(updated)


REQUIRED = ("manufacturer", "criticality", "status")


def _column_values(changes: dict[str, Any]) -> dict[str, Any]:
    values = dict(changes)
    for name in REQUIRED:
        if name in values and values[name] in (None, ""):
            raise ServiceError(
                ErrorCode.VALIDATION, f"{name} cannot be cleared", details=[{"loc": [name]}]
            )
    if "manufacturer" in values:
        values["manufacturer"], values["manufacturer_key"] = normalize.manufacturer(
            values["manufacturer"]
        )
    if "model" in values:
        values["model_norm"] = normalize.code(values["model"])
    if "serial" in values:
        values["serial_norm"] = normalize.code(values["serial"])
    if "ratings" in values:
        ratings = values["ratings"]
        if isinstance(ratings, Ratings):
            ratings = ratings.model_dump(exclude_none=True, exclude_defaults=True)
        values["ratings"] = ratings or {}
    for key in ("criticality", "status"):
        if key in values and values[key] is not None:
            values[key] = getattr(values[key], "value", values[key])
    return values


async def _check_parent(uow: Uow, org_id: UUID, equipment_id: UUID, parent_id: UUID) -> None:
    if parent_id == equipment_id:
        raise ServiceError(ErrorCode.VALIDATION, "an asset cannot be its own parent")
    await _require(uow, org_id, parent_id, what="parent asset")
    if equipment_id in await repo.ancestor_ids(uow.conn, parent_id):
        raise ServiceError(
            ErrorCode.VALIDATION, "that parent is below this asset in the hierarchy (a cycle)"
        )


async def retire(uow: Uow, who: Who, ref: str, reason: str) -> EquipmentView:
    """Take an asset out of service for good (the catalogue lets only admins ask)."""
    row = await find(uow, who.org_id, ref)
    lifecycle.check_retire(EquipmentStatus(row["status"]), row["number"])
    changes = {"status": EquipmentStatus.RETIRED, "retired_reason": reason}
    return await _change(uow, who, row, changes, action="retired", reason=reason)


async def reinstate(uow: Uow, who: Who, ref: str, reason: str) -> EquipmentView:
    """Return a retired asset to service (admins), with the reason in its history."""
    row = await find(uow, who.org_id, ref)
    lifecycle.check_reinstate(EquipmentStatus(row["status"]), row["number"])
    changes = {"status": EquipmentStatus.IN_SERVICE, "retired_reason": None}
    return await _change(uow, who, row, changes, action="reinstated", reason=reason)


async def _require(uow: Uow, org_id: UUID, equipment_id: UUID, *, what: str) -> RowMapping:
    row = await repo.by_id(uow.conn, org_id, equipment_id)
    if row is None:
        raise ServiceError(ErrorCode.NOT_FOUND, f"{what} {equipment_id} not found")
    return row


async def _history(
    uow: Uow,
    who: Who,
    equipment_id: UUID,
    action: str,
    changes: dict[str, Any],
    *,
    reason: str | None = None,
) -> None:
    await repo.add_history(
        uow.conn,
        equipment_id=equipment_id,
        org_id=who.org_id,
        actor_id=who.user_id,
        channel=uow.channel,
        action=action,
        changes=changes,
        reason=reason,
    )


def _record(row: RowMapping) -> Record:
    return Record(
        row["manufacturer_key"], row["model_norm"], row["serial_norm"], row["location"], row["name"]
    )


def _plain(value: Any) -> Any:
    """JSON-friendly value for history entries and comparisons."""
    if isinstance(value, UUID | date):
        return str(value) if isinstance(value, UUID) else value.isoformat()
    return getattr(value, "value", value)


async def _insert(uow: Uow, values: dict[str, Any]) -> RowMapping:
    """Store a new asset and add it to the search index, in the unit of work."""
    row = await repo.insert_equipment(uow.conn, values)
    await search_index.add(uow.conn, row)
    return row


async def _update(
    uow: Uow, org_id: UUID, row: RowMapping, values: dict[str, Any]
) -> RowMapping | None:
    """Change an asset if it is still at ``row``'s version (None if someone changed it
    meanwhile), and keep the search index in step."""
    old_serial = await search_index.serial_before(uow.conn, org_id, row["id"], values)
    updated = await repo.update_equipment(uow.conn, org_id, row["id"], row["version"], values)
    if updated is not None:
        await search_index.update(uow.conn, updated, values, old_serial)
    return updated
