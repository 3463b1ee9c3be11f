"""Rows to contract models (views and event snapshots)."""

from typing import Any

from sqlalchemy.engine import RowMapping

from rivet_contracts.assets import EquipmentSnapshot, EquipmentView, Ratings


def to_view(row: RowMapping) -> EquipmentView:
    values = dict(row)
    values["ratings"] = Ratings.model_validate(values.get("ratings") or {})
    return EquipmentView.model_validate(values)


def snapshot_fields(row: RowMapping) -> dict[str, Any]:
    """The fields of ``EquipmentSnapshot`` taken from a row."""
    names = EquipmentSnapshot.model_fields.keys() - {"equipment_id"}
    return {"equipment_id": row["id"], **{name: row[name] for name in names}}
