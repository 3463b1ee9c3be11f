"""Meters of an asset (counters and gauges) and their readings."""
