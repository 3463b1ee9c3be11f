"""Rivet's web app: pages for planners and managers, a client of the public API."""
