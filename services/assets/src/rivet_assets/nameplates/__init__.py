"""Answering scanned nameplates with create-or-match."""
