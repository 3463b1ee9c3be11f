"""Typo-tolerant search over number, manufacturer, model, serial and location."""
