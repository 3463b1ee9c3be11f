"""``nameplate.scanned`` -> create-or-match -> ``equipment.scan_resolved``.

A scan whose manufacturer, model or serial were read without enough confidence is left alone
until a person confirms it (the OCR service publishes the confirmed record again): no asset is
ever created from an unsure reading.
"""

from typing import Any

from pydantic import ValidationError

from rivet_contracts import Events, ServiceError
from rivet_contracts.assets import CreateEquipment, CreateOrMatchResult, Source
from rivet_contracts.envelope import EventEnvelope
from rivet_contracts.identity import Role
from rivet_contracts.ocr import EquipmentScanResolved, NameplateScanned, ScanCandidate
from rivet_runtime import EventContext, EventRouter

from ..equipment import service as equipment
from ..state import AssetsState

router: EventRouter[AssetsState] = EventRouter()


def request_from(scan: NameplateScanned) -> CreateEquipment:
    fields: dict[str, Any] = {}
    if scan.corrections is not None:
        fields.update(scan.corrections.model_dump(exclude_unset=True, exclude_none=True))
    fields.update(
        manufacturer=fields.get("manufacturer") or scan.manufacturer,
        model=fields.get("model") or scan.model,
        serial=fields.get("serial") or scan.serial,
        location=fields.get("location") or scan.location,
        ratings=fields.get("ratings") or scan.ratings,
        merge_into=scan.merge_into,
        create_anyway=scan.create_anyway,
    )
    if scan.criticality is not None:
        fields["criticality"] = scan.criticality
    return CreateEquipment.model_validate({k: v for k, v in fields.items() if v is not None})


@router.on(Events.NAMEPLATE_SCANNED, consumer="assets-nameplates")
async def on_scanned(
    event: EventEnvelope[NameplateScanned], ctx: EventContext[AssetsState]
) -> None:
    scan = event.data
    if scan.needs_review and not scan.confirmed:
        return
    if event.org_id is None:
        return
    user_id = event.actor.user_id if event.actor else None
    # Uploading and confirming a scan are technicians' requests.
    who = equipment.Who(event.org_id, user_id, Source.NAMEPLATE, Role.TECHNICIAN)
    link = equipment.ScanLink(scan.scan_id, scan.photo_ref)
    try:
        request = request_from(scan)
        async with ctx.conn.begin_nested():
            result = await equipment.create_or_match(ctx, who, request, scan=link)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        await _answer(ctx, event, scan, error=f"{'.'.join(map(str, first['loc']))}: {first['msg']}")
        return
    except ServiceError as exc:
        await _answer(ctx, event, scan, error=exc.info.message)
        return
    await _answer(ctx, event, scan, result=result)


async def _answer(
    ctx: EventContext[AssetsState],
    event: EventEnvelope[NameplateScanned],
    scan: NameplateScanned,
    *,
    result: CreateOrMatchResult | None = None,
    error: str | None = None,
) -> None:
    if result is None:
        answer = EquipmentScanResolved(scan_id=scan.scan_id, error=error, photo_ref=scan.photo_ref)
    else:
        answer = EquipmentScanResolved(
            scan_id=scan.scan_id,
            outcome=result.outcome,
            equipment_id=result.equipment.id if result.equipment else None,
            equipment_number=result.equipment.number if result.equipment else None,
            score=result.score,
            candidates=[
                ScanCandidate(
                    equipment_id=c.equipment.id,
                    number=c.equipment.number,
                    manufacturer=c.equipment.manufacturer,
                    model=c.equipment.model,
                    serial=c.equipment.serial,
                    location=c.equipment.location,
                    score=c.score,
                )
                for c in result.candidates
            ],
            photo_ref=scan.photo_ref,
        )
    await ctx.emit(Events.EQUIPMENT_SCAN_RESOLVED, answer, org_id=event.org_id)
