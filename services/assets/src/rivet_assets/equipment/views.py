"""Rows to contract models (views and event snapshots)."""

from typing import Any

from sqlalchemy.engine import RowMapping

from rivet_contracts.assets import EquipmentPicture, EquipmentSnapshot, EquipmentView, Ratings


def picture_of(stored: dict[str, Any] | None) -> EquipmentPicture | None:
    """The picture as shown, from what ``equipment.picture`` keeps (None: no picture)."""
    if not stored:
        return None
    return EquipmentPicture.of(
        stored["attachment_id"],
        stored["filename"],
        stored["content_type"],
        stored.get("width"),
        stored.get("height"),
    )


def to_view(row: RowMapping) -> EquipmentView:
    values = dict(row)
    values["ratings"] = Ratings.model_validate(values.get("ratings") or {})
    values["picture"] = picture_of(values.get("picture"))
    return EquipmentView.model_validate(values)


def snapshot_fields(row: RowMapping) -> dict[str, Any]:
    """The fields of ``EquipmentSnapshot`` taken from a row."""
    names = EquipmentSnapshot.model_fields.keys() - {"equipment_id"}
    return {"equipment_id": row["id"], **{name: row[name] for name in names}}
