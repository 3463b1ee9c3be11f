"""Test support shared by every package's tests (a pytest plugin, loaded by the root
``conftest.py``). Tests run against real NATS and PostgreSQL, isolated per run: a fresh
database and a fresh NATS namespace (subjects and streams), removed at the end."""
