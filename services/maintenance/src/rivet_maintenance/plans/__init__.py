"""Maintenance plans: what to do on an asset, the trigger that says when, the schedule state."""
