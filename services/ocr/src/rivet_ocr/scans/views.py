"""Rows to contract models."""

from sqlalchemy.engine import RowMapping

from rivet_contracts.ocr import ScanView


def to_view(row: RowMapping) -> ScanView:
    return ScanView.model_validate(dict(row))
