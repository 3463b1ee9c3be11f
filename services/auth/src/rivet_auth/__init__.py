"""Rivet auth service: organizations, users, sessions and Telegram linking (schema ``auth``)."""
