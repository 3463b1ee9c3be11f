"""Typo-tolerant search: pigeonhole keys of codes, a per-organization dictionary, coverage
ranking (docs/search.md)."""
