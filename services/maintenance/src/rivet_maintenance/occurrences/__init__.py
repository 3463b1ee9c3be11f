"""Occurrences of plans: one row per occurrence, unique by its key, and the order opened."""
