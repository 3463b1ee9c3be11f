"""Loads Rivet's shared test fixtures for every test under the repository."""

pytest_plugins = ["rivet_devstack.testing.plugin"]
