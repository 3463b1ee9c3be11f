"""Rivet assets service: the equipment registry (schema ``assets``)."""
