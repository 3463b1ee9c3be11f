"""Rivet integrations service: events for systems outside Rivet, one organization at a time."""
