"""Replicas of equipment (assets service) and users (auth), fed by their events."""
