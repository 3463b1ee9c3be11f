"""Rivet OCR service: nameplate photos become structured fields."""
