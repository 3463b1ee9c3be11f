"""Notifications: who should hear about a work order change, and getting it to them."""
